// `npm run fuzz`: the long run, 10^6 inputs per door by default, each door against its own router.
// Prints one line per batch, then a report per door; exits 1 if any door failed.
//   FUZZ_RUNS=100000 FUZZ_SEED=7 FUZZ_DOORS=mqtt,wamp-cbor npm run fuzz

// autobahn binds console.warn when loaded and warns on every normal close of the health clients.
console.warn = () => {};
const { doors } = await import('./doors/index.ts');
const { formatReport, runDoor } = await import('./harness/engine.ts');
const { fuzzOptions, selectedDoors } = await import('./harness/options.ts');

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const opts = fuzzOptions({ runs: 1_000_000, seed, batchSize: 10_000, minimizeSeconds: 300 }, (l) => console.log(l));
console.log(`fuzz: ${opts.runs} inputs per door, seed ${opts.seed} (replay with FUZZ_SEED=${opts.seed})`);
const reports = [];
for (const name of selectedDoors(Object.keys(doors))) reports.push(await runDoor(doors[name]!, opts));
console.log('\n' + reports.map(formatReport).join('\n\n'));
process.exit(reports.some((r) => r.failure) ? 1 : 0);

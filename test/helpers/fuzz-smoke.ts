// The short seeded fuzz run of a door inside `npm test`: a fixed seed against a live router, then the
// door's report; the test asserts the router survived both batches. Each input is one connection and
// costs ~1-2 ms of router CPU plus ~1-1.5 ms of fuzzer CPU (measured on a loaded 2-core machine), so
// 5000 inputs per door (mqtt-sqlite: half) is what fits ~90 s for all doors of npm test on 2 cores;
// FUZZ_SMOKE_RUNS=10000 gives the ~10^4 the issue names. `npm run fuzz` is the long run.
import type { ExecutionContext } from 'ava';
import { doors } from '../fuzz/doors/index.ts';
import { formatReport, runDoor } from '../fuzz/harness/engine.ts';
import { fuzzOptions } from '../fuzz/harness/options.ts';

export const SMOKE_SEED = 20261207;

const SMOKE_RUNS = Number(process.env.FUZZ_SMOKE_RUNS ?? 5000);

/** `share` scales the door's share of SMOKE_RUNS (a slower door gets less). */
export async function fuzzSmoke(t: ExecutionContext, door: string, share = 1): Promise<void> {
  const runs = Math.max(1, Math.round(SMOKE_RUNS * share));
  // Wall time reached ~32 ms per input at a load average of 22 on 2 cores (http: 190 s for 5000); the
  // minimizer (40 s) comes on top after a failure.
  t.timeout(Math.max(300_000, runs * 80));
  const opts = fuzzOptions({ runs, seed: SMOKE_SEED, batchSize: Math.ceil(runs / 2), minimizeSeconds: 40 }, (l) => t.log(l));
  const report = await runDoor(doors[door]!, opts);
  t.log(formatReport(report));
  t.is(report.failure, undefined, formatReport(report));
  t.is(report.inputs, opts.runs, 'every input was sent');
}

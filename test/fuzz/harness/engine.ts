// Runs one door: batches of seeded inputs against one live router, then a verdict after each batch
// (alive, every protocol still served, memory bounded). On failure it finds the input to blame (by
// halving the batch against fresh routers) and shrinks it with fast-check's own replay (seed + path).
import fc from 'fast-check';
import type { Door } from './door.ts';
import { healthFailures } from './health.ts';
import { hostPort, startRouter, type RouterUnderFuzz } from './router.ts';
import { sendCases, type SendStats } from './send.ts';
import { routerState } from './state.ts';

export interface FuzzOptions {
  runs: number;
  seed: number;
  batchSize: number;
  /** Memory the router may use above its post-warm-up RSS (see README of test/fuzz for why). */
  rssHeadroomBytes: number;
  /** Time allowed for finding and shrinking the culprit after a failure. */
  minimizeSeconds: number;
  /** Only this batch (replaying a reported failure). */
  onlyBatch?: number;
  log?: (line: string) => void;
}

export type FailureKind = 'crash' | 'unhealthy' | 'memory';

export interface Failure {
  kind: FailureKind;
  batch: number;
  batchSeed: number;
  detail: string;
  /** The input to blame, when one alone reproduces the failure. */
  culprit?: { path: string; shrunk: string; bytes: string };
  /** No single input reproduced it in the time allowed: the failure needs the batch (or more time). */
  note?: string;
}

export interface DoorReport {
  door: string;
  inputs: number;
  seconds: number;
  rssBaseline: number;
  rssPeak: number;
  stats: SendStats;
  /** CPU seconds spent generating, sending and answering the inputs (checks excluded): less
   * sensitive to a loaded machine than wall time. */
  cpu: { router: number; fuzzer: number };
  failure?: Failure;
}

/** The fast-check seed of batch `b` of a door: reproducible from the run seed alone. */
export function batchSeed(seed: number, door: string, b: number): number {
  let h = seed | 0;
  for (const ch of door) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return (h + Math.imul(b, 0x9e3779b1)) | 0;
}

export async function runDoor<T>(door: Door<T>, opts: FuzzOptions): Promise<DoorReport> {
  const log = opts.log ?? (() => {});
  const t0 = Date.now();
  const stats: SendStats = { closedByRouter: 0, cut: 0, stalled: 0, failedToConnect: 0 };
  const cpu = { router: 0, fuzzer: 0 };
  const router = await startRouter(door.store);
  try {
    const warm = await healthFailures(router.urls);
    if (warm.length) throw new Error(`router unhealthy before any fuzz input: ${warm.join('; ')}`);
    const rssBaseline = router.rss();
    const bound = rssBaseline + opts.rssHeadroomBytes;
    let rssPeak = rssBaseline;
    let inputs = 0;
    const batches = Math.ceil(opts.runs / opts.batchSize);
    for (let b = opts.onlyBatch ?? 0; b < (opts.onlyBatch ?? batches - 1) + 1; b++) {
      const n = Math.min(opts.batchSize, opts.runs - b * opts.batchSize);
      const seed = batchSeed(opts.seed, door.name, b);
      const tGen = Date.now();
      const cpu0 = { router: router.cpuSeconds(), us: process.cpuUsage() };
      const values = fc.sample(door.arb, { seed, numRuns: n });
      const tSend = Date.now();
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, router.rss())), 100);
      const s = await sendCases(values.map((v) => door.encode(v)), sendOptions(door, router));
      clearInterval(sampler);
      const us = process.cpuUsage(cpu0.us);
      const batchCpu = { router: router.cpuSeconds() - cpu0.router, fuzzer: (us.user + us.system) / 1e6 };
      cpu.router += batchCpu.router;
      cpu.fuzzer += batchCpu.fuzzer;
      for (const k of Object.keys(s) as (keyof SendStats)[]) stats[k] += s[k];
      inputs += n;
      const tJudge = Date.now();
      const verdict = await judge(router, bound, rssPeak);
      const times = `generate ${(tSend - tGen) / 1000}s, send ${(tJudge - tSend) / 1000}s, check ${(Date.now() - tJudge) / 1000}s`;
      log(`${door.name} batch ${b} (seed ${seed}): ${n} inputs (${times}; ${cpuPerInput(batchCpu, n)}), ${JSON.stringify(s)}, rss ${mb(router.rss())} MiB, peak ${mb(rssPeak)} MiB, ${await routerState(router.urls.http as string)}${verdict ? `: ${verdict.kind}` : ''}`);
      if (verdict) {
        const failure: Failure = { ...verdict, batch: b, batchSeed: seed };
        await minimize(door, values, failure, opts, log);
        return { door: door.name, inputs, seconds: (Date.now() - t0) / 1000, rssBaseline, rssPeak, stats, cpu, failure };
      }
    }
    return { door: door.name, inputs, seconds: (Date.now() - t0) / 1000, rssBaseline, rssPeak, stats, cpu };
  } finally {
    await router.stop();
  }
}

const mb = (bytes: number): string => (bytes / 1048576).toFixed(0);
const cpuPerInput = (cpu: DoorReport['cpu'], n: number): string =>
  `cpu per input: router ${((cpu.router * 1000) / n).toFixed(2)} ms, fuzzer ${((cpu.fuzzer * 1000) / n).toFixed(2)} ms`;

function sendOptions(door: Door<never> | Door<unknown>, router: RouterUnderFuzz) {
  return { ...hostPort(router.urls[door.listener] as string), concurrency: door.concurrency ?? 96, lingerMs: door.lingerMs ?? 50 };
}

type Verdict = { kind: Failure['kind']; detail: string } | undefined;

/** Dead, unable to serve a healthy client, or over its memory bound; undefined when fine. */
async function judge(router: RouterUnderFuzz, bound: number, peak: number, withHealth = true): Promise<Verdict> {
  const dead = (): Verdict => {
    const status = router.exitStatus();
    return status === undefined ? undefined : { kind: 'crash', detail: `router exited (${status}); stderr tail:\n${router.stderrTail().slice(-4000)}` };
  };
  await new Promise((r) => setTimeout(r, 200)); // let a fatal error surface as the exit
  if (dead()) return dead();
  if (withHealth) {
    const failures = await healthFailures(router.urls);
    if (dead()) return dead();
    if (failures.length) return { kind: 'unhealthy', detail: failures.join('\n') };
  }
  const rss = router.rss();
  if (Math.max(rss, peak) > bound) return { kind: 'memory', detail: `RSS ${mb(rss)} MiB now, ${mb(peak)} MiB at peak, bound ${mb(bound)} MiB` };
  return undefined;
}

/** Does sending `values` to a fresh router reproduce a failure of this kind? */
async function reproduces<T>(door: Door<T>, values: readonly T[], kind: FailureKind, headroom: number): Promise<boolean> {
  const router = await startRouter(door.store);
  try {
    const bound = router.rss() + headroom;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, router.rss())), 100);
    await sendCases(values.map((v) => door.encode(v)), sendOptions(door, router));
    clearInterval(sampler);
    const verdict = await judge(router, bound, peak, kind === 'unhealthy');
    return verdict?.kind === kind;
  } finally {
    await router.stop();
  }
}

async function minimize<T>(door: Door<T>, values: readonly T[], failure: Failure, opts: FuzzOptions, log: (l: string) => void): Promise<void> {
  const deadline = Date.now() + opts.minimizeSeconds * 1000;
  const headroom = opts.rssHeadroomBytes;
  const fails = (from: number, to: number): Promise<boolean> => reproduces(door, values.slice(from, to), failure.kind, headroom);
  // The shortest prefix that still fails ends with the input to blame (or with the last of several
  // that need each other, e.g. two connections sharing an MQTT client id): binary search on its end.
  let lo = 1;
  let hi = values.length;
  while (lo < hi && Date.now() < deadline) {
    const mid = (lo + hi) >> 1;
    if (await fails(0, mid)) hi = mid;
    else lo = mid + 1;
  }
  const end = hi;
  // Then the latest start that still fails, with that end.
  let start = 0;
  let top = end - 1;
  while (start < top && Date.now() < deadline) {
    const mid = (start + top + 1) >> 1;
    if (await fails(mid, end)) start = mid;
    else top = mid - 1;
  }
  log(`${door.name}: failure narrowed to inputs [${start}, ${end})`);
  if (end - start > 1 || Date.now() >= deadline) {
    const shown = values.slice(start, Math.min(end, start + 8)).map((v) => fc.stringify(v).slice(0, 1500));
    failure.note = `no single input reproduced it (within ${opts.minimizeSeconds}s); it needs batch inputs [${start}, ${end}) (fc seed ${failure.batchSeed}); the first of them:\n${shown.join('\n')}`;
    return;
  }
  lo = start;
  const single = values[lo] as T;
  if (!(await reproduces(door, [single], failure.kind, headroom))) {
    failure.note = `input ${lo} of the batch was blamed but did not reproduce alone`;
    return;
  }
  const remaining = Math.max(1000, deadline - Date.now());
  const result = await fc.check(
    fc.asyncProperty(door.arb, async (v) => !(await reproduces(door, [v], failure.kind, headroom))),
    { seed: failure.batchSeed, path: String(lo), numRuns: values.length, interruptAfterTimeLimit: remaining, markInterruptAsFailure: false },
  );
  const shrunk = result.counterexample ? result.counterexample[0] : single;
  const bytes = Buffer.concat(door.encode(shrunk));
  failure.culprit = {
    path: String(lo),
    shrunk: fc.stringify(shrunk).slice(0, 4000),
    bytes: bytes.length > 2048 ? `${bytes.subarray(0, 2048).toString('hex')}… (${bytes.length} bytes)` : bytes.toString('hex'),
  };
  log(`${door.name}: culprit ${lo} shrunk in ${result.numShrinks} steps`);
}

export function formatReport(r: DoorReport): string {
  const head = `${r.door}: ${r.inputs} inputs in ${r.seconds.toFixed(1)} s (${cpuPerInput(r.cpu, r.inputs)}), RSS ${mb(r.rssBaseline)} → peak ${mb(r.rssPeak)} MiB, ${JSON.stringify(r.stats)}`;
  const f = r.failure;
  if (!f) return head;
  const lines = [head, `FAILURE (${f.kind}) in batch ${f.batch}, fast-check seed ${f.batchSeed}`, f.detail];
  if (f.culprit) lines.push(`culprit: path ${f.culprit.path} (replay: fc seed ${f.batchSeed}, path "${f.culprit.path}")`, `shrunk input: ${f.culprit.shrunk}`, `bytes (hex): ${f.culprit.bytes}`);
  if (f.note) lines.push(f.note);
  return lines.join('\n');
}

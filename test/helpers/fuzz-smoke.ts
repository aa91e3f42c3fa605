// The short seeded fuzz run of a door inside `npm test`: a fixed seed against a live router, then the
// door's report; the test asserts the router survived every batch. Each input is one connection and
// costs 7-40 ms of wall time on a loaded 2-core machine, so npm test sends 400 per door
// (FUZZ_SMOKE_RUNS=10000 for the ~10^4 the issue asks: ~80 s per door there); `npm run fuzz` is the long run.
import type { ExecutionContext } from 'ava';
import { doors } from '../fuzz/doors/index.ts';
import { formatReport, runDoor } from '../fuzz/harness/engine.ts';
import { fuzzOptions } from '../fuzz/harness/options.ts';

export const SMOKE_SEED = 20261207;

const SMOKE_RUNS = Number(process.env.FUZZ_SMOKE_RUNS ?? 400);

/** `share` scales the door's share of SMOKE_RUNS (a slower door gets less). */
export async function fuzzSmoke(t: ExecutionContext, door: string, share = 1): Promise<void> {
  const runs = Math.max(1, Math.round(SMOKE_RUNS * share));
  t.timeout(Math.max(180_000, runs * 30));
  const opts = fuzzOptions({ runs, seed: SMOKE_SEED, batchSize: Math.ceil(runs / 2), minimizeSeconds: 40 }, (l) => t.log(l));
  const report = await runDoor(doors[door]!, opts);
  t.log(formatReport(report));
  t.is(report.failure, undefined, formatReport(report));
  t.is(report.inputs, opts.runs, 'every input was sent');
}

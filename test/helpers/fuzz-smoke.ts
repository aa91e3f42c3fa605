// The short seeded fuzz run of a door inside `npm test`: a fixed seed against a live router, then the
// door's report; the test asserts the router survived both batches. Each input is one connection;
// on an idle 2-core machine a door took 7-15 s for 5000 inputs inside npm test, so 10^4 per door
// (mqtt-sqlite: half) adds about 2 minutes to the suite. FUZZ_SMOKE_RUNS sets it; `npm run fuzz` is
// the long run.
import type { ExecutionContext } from 'ava';
import { doors } from '../fuzz/doors/index.ts';
import { formatReport, runDoor } from '../fuzz/harness/engine.ts';
import { fuzzOptions } from '../fuzz/harness/options.ts';

export const SMOKE_SEED = 20261207;

const SMOKE_RUNS = Number(process.env.FUZZ_SMOKE_RUNS ?? 10_000);

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

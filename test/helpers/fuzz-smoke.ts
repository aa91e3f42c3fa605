// The short seeded fuzz run of a door inside `npm test`: 10^4 inputs with a fixed seed against a
// live router, then the door's report; the test asserts the router survived every batch.
import type { ExecutionContext } from 'ava';
import { doors } from '../fuzz/doors/index.ts';
import { formatReport, runDoor } from '../fuzz/harness/engine.ts';
import { fuzzOptions } from '../fuzz/harness/options.ts';

export const SMOKE_SEED = 20261207;

export async function fuzzSmoke(t: ExecutionContext, door: string, runs = 10_000): Promise<void> {
  t.timeout(180_000);
  const opts = fuzzOptions({ runs, seed: SMOKE_SEED, batchSize: Math.ceil(runs / 2), minimizeSeconds: 40 }, (l) => t.log(l));
  const report = await runDoor(doors[door]!, opts);
  t.log(formatReport(report));
  t.is(report.inputs, opts.runs, 'every input was sent');
  t.is(report.failure, undefined, formatReport(report));
}

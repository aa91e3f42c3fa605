// Fuzz settings from the environment, over per-run defaults: FUZZ_RUNS (inputs per door), FUZZ_SEED,
// FUZZ_DOORS (comma-separated names), FUZZ_BATCH (replay one batch), FUZZ_BATCH_SIZE,
// FUZZ_RSS_MB (memory headroom over the warmed-up router) and FUZZ_MINIMIZE_S.
import type { FuzzOptions } from './engine.ts';

/** Memory a router may add during fuzzing. Inputs are capped near 200 kB each and at most 128
 * connections are open at once (≈25 MB of input in flight); the rest is V8 heap slack before a
 * major GC. 256 MiB is far above that and far below what a per-input leak grows to over a batch. */
const RSS_HEADROOM_MB = 256;

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got '${v}'`);
  return n;
}

export function fuzzOptions(defaults: { runs: number; seed: number; batchSize: number; minimizeSeconds: number }, log?: (l: string) => void): FuzzOptions {
  return {
    runs: envInt('FUZZ_RUNS') ?? defaults.runs,
    seed: envInt('FUZZ_SEED') ?? defaults.seed,
    batchSize: envInt('FUZZ_BATCH_SIZE') ?? defaults.batchSize,
    onlyBatch: envInt('FUZZ_BATCH'),
    rssHeadroomBytes: (envInt('FUZZ_RSS_MB') ?? RSS_HEADROOM_MB) * 1048576,
    minimizeSeconds: envInt('FUZZ_MINIMIZE_S') ?? defaults.minimizeSeconds,
    log,
  };
}

/** The doors FUZZ_DOORS names, or all of them. */
export function selectedDoors(all: readonly string[]): string[] {
  const wanted = process.env.FUZZ_DOORS?.split(',').map((s) => s.trim()).filter(Boolean);
  if (!wanted?.length) return [...all];
  const unknown = wanted.filter((w) => !all.includes(w));
  if (unknown.length) throw new Error(`unknown fuzz doors: ${unknown.join(', ')} (known: ${all.join(', ')})`);
  return wanted;
}

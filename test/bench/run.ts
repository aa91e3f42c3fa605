// `npm run bench`: runs every bench module listed below that is present (wamp, mqtt, store...) and
// prints one combined table.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTable, type BenchRow } from './row.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Module {
  file: string;
  exportName: string;
}

const modules: Module[] = [
  { file: 'wamp.ts', exportName: 'benchWamp' },
  { file: 'mqtt.ts', exportName: 'benchMqtt' },
  { file: 'store.ts', exportName: 'benchStore' },
  { file: 'durable.ts', exportName: 'benchDurable' },
  { file: 'mqtt-durable.ts', exportName: 'benchMqttDurable' },
  { file: 'hustmq.ts', exportName: 'benchHustmq' },
  { file: 'hustdb.ts', exportName: 'benchHustdb' },
  { file: 'esub.ts', exportName: 'benchEsub' },
  { file: 'tls.ts', exportName: 'benchTls' },
  { file: 'idle-memory.ts', exportName: 'benchIdleMemory' },
];

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

/** Accepts a BenchRow or something close to it (other field names for the same facts). */
export function toBenchRow(group: string, raw: unknown): BenchRow {
  const r = (raw ?? {}) as Record<string, unknown>;
  const rate = num(r.rate) ?? num(r.msgsPerSec) ?? num(r.msgs_per_s) ?? num(r.opsPerSec) ?? num(r.throughput) ?? num(r.value) ?? NaN;
  return {
    group: str(r.group) ?? group,
    scenario: str(r.scenario) ?? str(r.name) ?? str(r.case) ?? '?',
    target: str(r.target) ?? str(r.server) ?? str(r.impl) ?? str(r.engine) ?? '',
    rate,
    unit: str(r.unit) ?? (num(r.msgsPerSec) !== undefined ? 'msgs/s' : 'ops/s'),
    p50: num(r.p50) ?? num(r.p50Ms) ?? num(r.p50ms),
    p99: num(r.p99) ?? num(r.p99Ms) ?? num(r.p99ms),
    ratio: num(r.ratio),
    cpuUs: num(r.cpuUs),
    note: str(r.note),
  };
}

async function main(): Promise<void> {
  const rows: BenchRow[] = [];
  const summaries: string[] = [];
  let failed = 0;
  for (const m of modules) {
    const file = path.join(here, m.file);
    if (!existsSync(file)) continue;
    const group = m.file.replace(/\.ts$/, '');
    console.log(`\n== ${group} ==`);
    try {
      const mod = (await import(file)) as Record<string, unknown>;
      const fn = mod[m.exportName];
      if (typeof fn !== 'function') throw new Error(`${m.file} does not export ${m.exportName}()`);
      const out = (await (fn as () => Promise<unknown>)()) as unknown;
      const got = Array.isArray(out) ? out.map((r) => toBenchRow(group, r)) : [];
      rows.push(...got);
      const summarize = mod.wampTargetSummary ?? mod.targetSummary;
      if (typeof summarize === 'function') summaries.push(...(summarize as (r: BenchRow[]) => string[])(got));
    } catch (err) {
      failed++;
      console.error(`bench ${m.file} failed:`, err);
    }
  }
  console.log('\n== results ==');
  console.log(formatTable(rows));
  if (summaries.length > 0) {
    console.log('');
    for (const l of summaries) console.log(l);
  }
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

// Micro-benchmark of the Store engines: retained writes per second, memory vs SQLite (durable,
// group commit), plus a few other paths for context.
//
//   node --import tsx test/bench/store.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Store } from '../../lib/core/store.ts';
import { openStore } from '../../lib/store/open.ts';

export interface Row {
  engine: string;
  scenario: string;
  ops: number;
  ms: number;
  opsPerSec: number;
}

const R = 'realm1';
const value = Buffer.from(JSON.stringify({ temperature: 21.5, unit: 'C', sensor: 'kitchen' }));

interface Scenario {
  name: string;
  ops: number;
  run(store: Store, ops: number): Promise<void>;
}

/** `ops` calls of `op`, `inFlight` at a time (as many independent clients would issue them). */
async function windowed(ops: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<void> {
  for (let base = 0; base < ops; base += inFlight) {
    const batch: Promise<unknown>[] = [];
    for (let i = base; i < Math.min(ops, base + inFlight); i++) batch.push(op(i));
    await Promise.all(batch);
  }
}

const scenarios: Scenario[] = [
  {
    name: 'retained put, 1000 in flight (10k keys)',
    ops: 200_000,
    run: (s, ops) => windowed(ops, 1000, (i) => s.putRetained(R, { key: `sensor/${i % 10_000}`, value })),
  },
  {
    name: 'retained put, 100 in flight (10k keys)',
    ops: 100_000,
    run: (s, ops) => windowed(ops, 100, (i) => s.putRetained(R, { key: `sensor/${i % 10_000}`, value })),
  },
  {
    name: 'retained put, one at a time',
    ops: 10_000,
    run: (s, ops) => windowed(ops, 1, (i) => s.putRetained(R, { key: `sensor/${i % 10_000}`, value })),
  },
  {
    name: 'retained compare-and-set, 1000 in flight',
    ops: 100_000,
    run: (s, ops) => windowed(ops, 1000, (i) => s.putRetained(R, { key: `cas/${i}`, value }, 0)),
  },
  {
    name: 'history append, 1000 in flight',
    ops: 100_000,
    run: (s, ops) => windowed(ops, 1000, (i) => s.appendHistory(R, `topic/${i % 100}`, value)),
  },
  {
    name: 'queue put then get, 1000 in flight',
    ops: 100_000,
    run: async (s, ops) => {
      await windowed(ops / 2, 1000, (i) => s.queuePut(R, 'bench', value, (i % 3) as 0 | 1 | 2));
      await windowed(ops / 2, 1000, () => s.queueGet(R, 'bench'));
    },
  },
];

async function measure(engine: string, store: Store, sc: Scenario): Promise<Row> {
  // warm up (JIT, statement caches) on a smaller run
  await sc.run(store, Math.min(2000, sc.ops));
  const t0 = process.hrtime.bigint();
  await sc.run(store, sc.ops);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { engine, scenario: sc.name, ops: sc.ops, ms: Math.round(ms), opsPerSec: Math.round((sc.ops / ms) * 1000) };
}

export async function benchStore(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const sc of scenarios) {
    const memory = await openStore({ memory: true });
    rows.push(await measure('memory', memory, sc));
    await memory.close();
    const dir = mkdtempSync(join(tmpdir(), 'kitsune-bench-'));
    try {
      const sqlite = await openStore({ dataDir: dir });
      rows.push(await measure('sqlite', sqlite, sc));
      await sqlite.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchStore();
  console.table(rows);
  for (const sc of scenarios) {
    const m = rows.find((r) => r.engine === 'memory' && r.scenario === sc.name)!;
    const s = rows.find((r) => r.engine === 'sqlite' && r.scenario === sc.name)!;
    console.log(`${sc.name}: sqlite/memory = ${(s.opsPerSec / m.opsPerSec).toFixed(2)}`);
  }
}

// Router-level durable paths, SQLite against the memory engine in the same run: retained publishes,
// lock acquire/release cycles, history appends (each acknowledged only once committed).
//   node --import tsx test/bench/durable.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRouter, openRealm, type Store } from '../../lib/index.ts';
import { openStore } from '../../lib/store/open.ts';
import { type BenchRow, formatTable, percentile } from './row.ts';

const DURATION_MS = 2000;
const IN_FLIGHT = 512;

type Engine = 'memory' | 'sqlite';

async function withRouter<T>(engine: Engine, fn: (router: ReturnType<typeof createRouter>) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-bench-'));
  const store: Store = engine === 'memory' ? await openStore({ memory: true }) : await openStore({ dataDir: dir });
  const router = createRouter({ realms: [{ ...openRealm('realm1'), history: [{ uri: 'hist', match: 'prefix', maxCount: 1_000_000 }] }] }, { store });
  await router.open();
  try {
    return await fn(router);
  } finally {
    router.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `op` with `parallel` loops for DURATION_MS; returns ops/s and latency percentiles. */
async function drive(parallel: number, op: (i: number) => Promise<unknown>): Promise<{ rate: number; p50?: number; p99?: number }> {
  const lat: number[] = [];
  let n = 0;
  const end = performance.now() + DURATION_MS;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await op(n++);
        lat.push(performance.now() - t0);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return { rate: lat.length / secs, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

async function scenario(name: string, unit: string, run: (engine: Engine) => Promise<{ rate: number; p50?: number; p99?: number }>): Promise<BenchRow[]> {
  const mem = await run('memory');
  const sql = await run('sqlite');
  return [
    { group: 'durable', scenario: name, target: 'kitsune/memory', unit, ...mem },
    { group: 'durable', scenario: name, target: 'kitsune/sqlite', unit, ...sql, ratio: sql.rate / mem.rate, note: 'ratio = sqlite / memory' },
  ];
}

export async function benchDurable(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  rows.push(
    ...(await scenario('retained publish (acknowledged), 512 in flight', 'writes/s', (engine) =>
      withRouter(engine, async (router) => {
        const c = router.connect('realm1');
        return drive(IN_FLIGHT, (i) => c.publish(`ret.k${i % 10_000}`, [i], undefined, { acknowledge: true, retain: true }));
      }),
    )),
  );
  rows.push(
    ...(await scenario('lock acquire+release cycles, 64 locks', 'cycles/s', (engine) =>
      withRouter(engine, async (router) => {
        const clients = Array.from({ length: 64 }, () => router.connect('realm1'));
        let k = 0;
        return drive(64, async () => {
          const c = clients[k++ % 64]!;
          const release = await c.lock(`lock.l${k % 64}`);
          await release();
        });
      }),
    )),
  );
  rows.push(
    ...(await scenario('history append (acknowledged publish), 512 in flight', 'events/s', (engine) =>
      withRouter(engine, async (router) => {
        const c = router.connect('realm1');
        return drive(IN_FLIGHT, (i) => c.publish(`hist.t${i % 100}`, [i], undefined, { acknowledge: true }));
      }),
    )),
  );
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchDurable();
  console.log(formatTable(rows));
  const retained = rows.find((r) => r.target === 'kitsune/sqlite' && r.scenario.startsWith('retained'))!;
  console.log(`target ≥20,000 durable retained writes/s: ${retained.rate >= 20_000 ? 'met' : 'NOT met'} (${Math.round(retained.rate)})`);
  console.log(`target ≥ half the memory engine: ${(retained.ratio ?? 0) >= 0.5 ? 'met' : 'NOT met'} (${(retained.ratio ?? 0).toFixed(2)})`);
}

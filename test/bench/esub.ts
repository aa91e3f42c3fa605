// esub benchmark: sub/rep round trips with many subs waiting, psub deliveries, p50/p99 latency —
// kitsune's esub bridge against a bare Koa app doing the least a sub/rep server can do, both in
// one child process (test/bench/esub-server.ts), in the same run.
//
//   node --import tsx test/bench/esub.ts        (or `npm run bench` once run.ts lists it)
//
// Knobs: BENCH_ESUB_IDLE (subs left waiting the whole time, default 1000), BENCH_ESUB_ROUNDS
// (sequential round trips, default 2000), BENCH_ESUB_BATCH (reps in the concurrent pass, default
// 5000), BENCH_ESUB_INFLIGHT (default 64).
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startHttpBenchChild } from './http-child.ts';
import { formatTable, percentile, type BenchRow } from './row.ts';

const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

interface Answer {
  status: number;
  body: Buffer;
}

function request(method: string, url: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body === undefined ? {} : { 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (method !== 'GET' || !url.includes('/sub/')) req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.end(body);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Opens subs on `keys` and resolves once the server lists them all in /keys. */
async function openSubs(base: string, keys: string[]): Promise<Map<string, Promise<Answer>>> {
  const waiting = new Map<string, Promise<Answer>>();
  for (const k of keys) {
    const p = request('GET', `${base}/sub/${k}`);
    p.catch(() => {});
    waiting.set(k, p);
  }
  const want = new Set(keys);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await request('GET', `${base}/keys`);
    const listed = r.status === 200 ? (JSON.parse(r.body.toString()) as string[]) : [];
    let n = 0;
    for (const k of listed) if (want.has(k)) n++;
    if (n === want.size) break;
    if (Date.now() > deadline) throw new Error(`only ${n} of ${want.size} subs got listed`);
    await sleep(5);
  }
  return waiting;
}

function stats(samples: number[]): { p50?: number; p99?: number; mean: number } {
  const sorted = Float64Array.from(samples).sort();
  const mean = samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean };
}

async function pingRow(base: string): Promise<{ rate: number; p50?: number; p99?: number }> {
  const lat: number[] = [];
  for (let i = 0; i < 300; i++) await request('GET', `${base}/ping`);
  const start = performance.now();
  for (let i = 0; i < 3000; i++) {
    const t0 = performance.now();
    await request('GET', `${base}/ping`);
    lat.push(performance.now() - t0);
  }
  const s = stats(lat);
  return { rate: 3000 / ((performance.now() - start) / 1000), p50: s.p50, p99: s.p99 };
}

/** Sequential: rep sent → sub answered, one at a time, subs opened in batches beforehand. */
async function roundTrips(base: string, rounds: number, tag: string): Promise<{ rate: number; p50?: number; p99?: number }> {
  const lat: number[] = [];
  const batch = 200;
  for (let done = -200; done < rounds; done += batch) {
    const keys = Array.from({ length: batch }, (_, i) => `${tag}-${done + 1000}-${i}`);
    const subs = await openSubs(base, keys);
    for (const k of keys) {
      const t0 = performance.now();
      const [r, s] = await Promise.all([request('POST', `${base}/rep/${k}`, 'payload'), subs.get(k) as Promise<Answer>]);
      if (r.status !== 200 || s.status !== 200) throw new Error(`round trip failed: rep ${r.status}, sub ${s.status}`);
      if (done >= 0) lat.push(performance.now() - t0);
    }
  }
  const s = stats(lat);
  return { rate: 1000 / s.mean, p50: s.p50, p99: s.p99 };
}

/** Concurrent: `count` subs waiting, reps fired with `inflight` at a time. */
async function concurrentTrips(base: string, count: number, inflight: number, tag: string): Promise<{ rate: number; p50?: number; p99?: number; openRate: number }> {
  const keys = Array.from({ length: count }, (_, i) => `${tag}-${i}`);
  const t0 = performance.now();
  const subs = await openSubs(base, keys);
  const openRate = count / ((performance.now() - t0) / 1000);
  const lat: number[] = [];
  let next = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const k = keys[next++] as string;
      const t = performance.now();
      const [r, s] = await Promise.all([request('POST', `${base}/rep/${k}`, 'payload'), subs.get(k) as Promise<Answer>]);
      if (r.status !== 200 || s.status !== 200) throw new Error(`round trip failed: rep ${r.status}, sub ${s.status}`);
      lat.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const s = stats(lat);
  return { rate: count / ((performance.now() - start) / 1000), p50: s.p50, p99: s.p99, openRate };
}

/** psub: one member; reps with `inflight` at a time; latency rep sent → message at the member. */
async function psubDeliveries(base: string, count: number, inflight: number, key: string): Promise<{ rate: number; p50?: number; p99?: number }> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/psub/${key}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await sleep(50);
  const sentAt = new Map<string, number>();
  const lat: number[] = [];
  let received = 0;
  let allIn!: () => void;
  const done = new Promise<void>((r) => (allIn = r));
  ws.on('message', (data: Buffer) => {
    const id = data.toString();
    const t = sentAt.get(id);
    if (t !== undefined) lat.push(performance.now() - t);
    if (++received === count) allIn();
  });
  let next = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const id = `m${next++}`;
      sentAt.set(id, performance.now());
      const r = await request('POST', `${base}/rep/${key}`, id);
      if (r.status !== 200) throw new Error(`psub rep failed: ${r.status} ${r.body.toString()}`);
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  await done;
  const rate = count / ((performance.now() - start) / 1000);
  ws.close();
  const s = stats(lat);
  return { rate, p50: s.p50, p99: s.p99 };
}

export async function benchEsub(log: (line: string) => void = console.log): Promise<BenchRow[]> {
  const idle = num('BENCH_ESUB_IDLE', 1000);
  const rounds = num('BENCH_ESUB_ROUNDS', 2000);
  const batch = num('BENCH_ESUB_BATCH', 5000);
  const inflight = num('BENCH_ESUB_INFLIGHT', 64);
  const child = await startHttpBenchChild('esub-server.ts');
  const rows: BenchRow[] = [];
  try {
    const targets = [
      { name: 'kitsune', base: child.kitsune, isKitsune: true },
      { name: 'bare-koa', base: child.bare, isKitsune: false },
    ];
    // Warm both targets up (JIT, sockets) before measuring either, so order does not favour one.
    for (const target of targets) {
      log(`esub: ${target.name}: warm-up`);
      await pingRow(target.base);
      await roundTrips(target.base, 200, 'warm');
      await concurrentTrips(target.base, 500, inflight, 'warmc');
      await psubDeliveries(target.base, 1000, inflight, 'warmp');
    }
    const results = new Map<string, Map<string, { rate: number; p50?: number; p99?: number }>>();
    for (const target of targets) {
      const r = new Map<string, { rate: number; p50?: number; p99?: number }>();
      results.set(target.name, r);
      log(`esub: ${target.name}: ${idle} idle subs`);
      await openSubs(target.base, Array.from({ length: idle }, (_, i) => `idle-${i}`));
      r.set('GET /ping (HTTP floor)', await pingRow(target.base));
      log(`esub: ${target.name}: sequential round trips`);
      r.set(`sub/rep round trip, sequential (${idle} subs waiting)`, await roundTrips(target.base, rounds, 'seq'));
      log(`esub: ${target.name}: concurrent round trips`);
      const c = await concurrentTrips(target.base, batch, inflight, 'conc');
      r.set(`sub/rep round trips, ${inflight} in flight (${idle}+${batch} subs waiting)`, c);
      if (target.isKitsune) r.set(`sub opens until listed (${batch} at once)`, { rate: c.openRate });
      log(`esub: ${target.name}: psub deliveries`);
      r.set(`psub deliveries, 1 member, ${inflight} reps in flight`, await psubDeliveries(target.base, batch * 2, inflight, 'stream'));
    }
    const kit = results.get('kitsune') as Map<string, { rate: number; p50?: number; p99?: number }>;
    const bare = results.get('bare-koa') as Map<string, { rate: number; p50?: number; p99?: number }>;
    for (const [scenario, k] of kit) {
      const unit = scenario.startsWith('psub') ? 'deliveries/s' : scenario.startsWith('GET') ? 'req/s' : scenario.startsWith('sub opens') ? 'subs/s' : 'round trips/s';
      const b = bare.get(scenario);
      rows.push({ group: 'esub', scenario, target: 'kitsune', rate: k.rate, unit, p50: k.p50, p99: k.p99, ratio: b ? k.rate / b.rate : undefined });
      if (b) rows.push({ group: 'esub', scenario, target: 'bare-koa', rate: b.rate, unit, p50: b.p50, p99: b.p99 });
    }
  } finally {
    child.stop();
    agent.destroy();
  }
  return rows;
}

/** One line per target: does the sub/rep round trip meet its p50 target? */
export function targetSummary(rows: BenchRow[]): string[] {
  const seq = rows.find((r) => r.target === 'kitsune' && r.scenario.startsWith('sub/rep round trip, sequential'));
  if (!seq || seq.p50 === undefined) return [];
  return [`esub: sub/rep round trip p50 ${seq.p50.toFixed(3)} ms (target < 1 ms): ${seq.p50 < 1 ? 'met' : 'NOT met'}`];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await benchEsub();
  console.log(formatTable(rows));
  for (const l of targetSummary(rows)) console.log(l);
  process.exit(0);
}

// hustdb benchmark: put, get, hset, zadd and zrangebyscore per second on the SQLite store, against a
// bare Koa route answering 200, both in one child process (test/bench/hustdb-server.ts), in the same
// run, driven by autocannon from this process. Scale rows on tables of 1,000 and of 1,000,000 items
// (the cost per operation should not grow > 2×): zadd and a 100-item zrangebyscore on a sorted set,
// a 100-item page of hkeys (whole range, and buckets 5-199: a walk of the bucket index the retained
// tree keeps at write time) and of smembers in buckets 5-199.
//
//   node --import tsx test/bench/hustdb.ts        (or `npm run bench`)
//
// Knobs: BENCH_HUSTDB_DURATION_S (per scenario and round, default 3), BENCH_HUSTDB_ROUNDS (default 2;
// each scenario's best round counts), BENCH_HUSTDB_CONNECTIONS (default 50), BENCH_HUSTDB_SMALL /
// BENCH_HUSTDB_LARGE (sorted-set sizes of the scale rows, default 1000 / 1000000). Each row's note gives
// the server's CPU time per request, which does not depend on how busy the machine is.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { best, cannon, type CannonOptions, type Measured } from './http-cannon.ts';
import { startHttpBenchChild } from './http-child.ts';
import { formatTable, type BenchRow } from './row.ts';

const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};


export async function benchHustdb(log: (line: string) => void = console.log): Promise<BenchRow[]> {
  const duration = num('BENCH_HUSTDB_DURATION_S', 3);
  const connections = num('BENCH_HUSTDB_CONNECTIONS', 50);
  const rounds = num('BENCH_HUSTDB_ROUNDS', 2);
  log('hustdb: starting the server and filling the scale sorted sets');
  const child = await startHttpBenchChild('hustdb-server.ts');
  const pid = child.pid;
  const k = child.kitsune;
  const scenarios: [string, string, CannonOptions][] = [
    ['bare Koa route (200)', 'bare-koa', { url: `${child.bare}/ok` }],
    ['put (durable, SQLite)', 'kitsune', { url: `${k}/put?key=bench`, method: 'POST', body: 'value_0123456789abcdef' }],
    ['get (SQLite)', 'kitsune', { url: `${k}/get?key=bench` }],
    ['hset (durable, SQLite)', 'kitsune', { url: `${k}/hset?tb=bench&key=f`, method: 'POST', body: 'value_0123456789abcdef' }],
    ['zadd (durable, SQLite)', 'kitsune', { url: `${k}/zadd?tb=benchz&score=1&opt=1&key=m` }],
    ['zrangebyscore, 100 items', 'kitsune', { url: `${k}/zrangebyscore?tb=scale_small&min=0&max=100000000&offset=0&size=100` }],
    ['scale: zadd, 1,000 members', 'kitsune', { url: `${k}/zadd?tb=scale_small&score=1&opt=1&key=m500` }],
    ['scale: zadd, 1,000,000 members', 'kitsune', { url: `${k}/zadd?tb=scale_large&score=1&opt=1&key=m500000` }],
    ['scale: zrangebyscore 100, 1,000 members', 'kitsune', { url: `${k}/zrangebyscore?tb=scale_small&min=400&max=100000000&offset=0&size=100` }],
    ['scale: zrangebyscore 100, 1,000,000 members', 'kitsune', { url: `${k}/zrangebyscore?tb=scale_large&min=400000&max=100000000&offset=0&size=100` }],
    ['scale: hkeys 100, 1,000 members', 'kitsune', { url: `${k}/hkeys?peer=0&tb=scale_small_hash&offset=0&size=100` }],
    ['scale: hkeys 100, 1,000,000 members', 'kitsune', { url: `${k}/hkeys?peer=0&tb=scale_large_hash&offset=0&size=100` }],
    ['scale: hkeys 100 in buckets 5-199, 1,000 members', 'kitsune', { url: `${k}/hkeys?peer=0&tb=scale_small_hash&offset=0&size=100&start=5&end=200` }],
    ['scale: hkeys 100 in buckets 5-199, 1,000,000 members', 'kitsune', { url: `${k}/hkeys?peer=0&tb=scale_large_hash&offset=0&size=100&start=5&end=200` }],
    ['scale: smembers 100 in buckets 5-199, 1,000 members', 'kitsune', { url: `${k}/smembers?peer=0&tb=scale_small_set&offset=0&size=100&start=5&end=200` }],
    ['scale: smembers 100 in buckets 5-199, 1,000,000 members', 'kitsune', { url: `${k}/smembers?peer=0&tb=scale_large_set&offset=0&size=100&start=5&end=200` }],
  ];
  const runs = new Map<string, Measured[]>(scenarios.map(([s]) => [s, []]));
  const rows: BenchRow[] = [];
  try {
    await cannon({ url: `${child.bare}/ok`, connections, duration: 1 });
    await cannon({ url: `${k}/put?key=bench&val=warm`, connections, duration: 1 });
    for (let round = 1; round <= rounds; round++) {
      for (const [scenario, , o] of scenarios) {
        log(`hustdb: round ${round}/${rounds}: ${scenario}, ${connections} connections, ${duration} s`);
        runs.get(scenario)!.push(await cannon({ ...o, connections, duration }, pid));
      }
    }
    const bare = best(runs.get('bare Koa route (200)')!);
    for (const [scenario, target] of scenarios) {
      const m = best(runs.get(scenario)!);
      const notes = [`server ${m.cpuUs.toFixed(1)} µs CPU/req`];
      if (m.non2xx + m.errors > 0) notes.push(`${m.non2xx} non-2xx, ${m.errors} errors`);
      rows.push({ group: 'hustdb', scenario, target, rate: m.rate, unit: 'req/s', p50: m.p50, p99: m.p99, ratio: target === 'kitsune' ? m.rate / bare.rate : undefined, note: notes.join('; ') });
    }
  } finally {
    child.stop();
  }
  return rows;
}

/** put and get ≥ 0.7× the bare Koa route; scale rows: cost per op grows ≤ 2× from 1,000 to 1,000,000 members. */
export function targetSummary(rows: BenchRow[]): string[] {
  const out: string[] = [];
  const cpu = (r: BenchRow | undefined): number => Number(/server ([\d.]+) µs/.exec(r?.note ?? '')?.[1]);
  const find = (s: string): BenchRow | undefined => rows.find((x) => x.group === 'hustdb' && x.scenario === s);
  const bare = find('bare Koa route (200)');
  for (const name of ['put (durable, SQLite)', 'get (SQLite)']) {
    const r = find(name);
    if (r?.ratio === undefined) continue;
    out.push(`hustdb: ${name} at ${(r.ratio * 100).toFixed(0)}% of the bare Koa route (${((cpu(bare) / cpu(r)) * 100).toFixed(0)}% by server CPU per request; target ≥ 70%): ${r.ratio >= 0.7 ? 'met' : 'NOT met'}`);
  }
  for (const op of ['zadd', 'zrangebyscore 100', 'hkeys 100', 'hkeys 100 in buckets 5-199', 'smembers 100 in buckets 5-199']) {
    const small = find(`scale: ${op}, 1,000 members`);
    const large = find(`scale: ${op}, 1,000,000 members`);
    if (!small || !large) continue;
    const growth = cpu(large) / cpu(small);
    out.push(`hustdb: ${op} cost per op from 1,000 to 1,000,000 members: ×${growth.toFixed(2)} by server CPU (×${(small.rate / large.rate).toFixed(2)} by throughput; target ≤ 2×): ${growth <= 2 ? 'met' : 'NOT met'}`);
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await benchHustdb();
  console.log(formatTable(rows));
  for (const l of targetSummary(rows)) console.log(l);
  process.exit(0);
}

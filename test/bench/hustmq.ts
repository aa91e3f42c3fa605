// hustmq benchmark: put, get and do_get/do_post round trips per second on durable (SQLite) queues,
// against a bare Koa route answering 200, both in one child process (test/bench/hustmq-server.ts),
// in the same run, driven by autocannon from this process.
//
//   node --import tsx test/bench/hustmq.ts        (or `npm run bench` once run.ts lists it)
//
// Knobs: BENCH_HUSTMQ_DURATION_S (per scenario and round, default 4), BENCH_HUSTMQ_ROUNDS (default 2;
// each scenario's best round counts), BENCH_HUSTMQ_CONNECTIONS (default 50), BENCH_HUSTMQ_WORKERS
// (parked do_post workers, default 50), BENCH_HUSTMQ_SERVER_NODE_ARGS (extra node flags for the server
// child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"). Each row's note gives the server's CPU time per request,
// which does not depend on how busy the machine is.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { best, cannon, type Measured } from './http-cannon.ts';
import { startHttpBenchChild } from './http-child.ts';
import { formatTable, type BenchRow } from './row.ts';

const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function request(method: string, url: string, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: { 'content-length': body === undefined ? 0 : Buffer.byteLength(body) } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** do_post worker loops (parked HTTP workers) until stopped: claim a task, answer it. */
function startWorkers(base: string, n: number): { stop(): Promise<void> } {
  let running = true;
  const loops = Array.from({ length: n }, async () => {
    while (running) {
      const r = await request('POST', `${base}/do_post`).catch(() => undefined);
      if (!r || r.status !== 200) continue;
      await request('POST', `${base}/do_post?token=${r.headers.token as string}`, `r${r.body}`).catch(() => undefined);
    }
  });
  return {
    async stop() {
      running = false;
      // parked claims end with a task or a 408; tell the loops to end by handing them dummy tasks
      const end = Date.now() + 5000;
      while (Date.now() < end && (await Promise.race([Promise.all(loops).then(() => true), new Promise((r) => setTimeout(() => r(false), 50))])) === false) {
        await Promise.all(Array.from({ length: n }, () => request('POST', `${base}/do_get?queue=drain`, 'x').catch(() => undefined)));
      }
    },
  };
}


export async function benchHustmq(log: (line: string) => void = console.log): Promise<BenchRow[]> {
  const duration = num('BENCH_HUSTMQ_DURATION_S', 4);
  const connections = num('BENCH_HUSTMQ_CONNECTIONS', 50);
  const workers = num('BENCH_HUSTMQ_WORKERS', 50);
  const rounds = num('BENCH_HUSTMQ_ROUNDS', 2);
  const child = await startHttpBenchChild('hustmq-server.ts', (process.env.BENCH_HUSTMQ_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean));
  const pid = child.pid;
  const rows: BenchRow[] = [];
  const body = 'test_body_0123456789abcdef';
  try {
    const k = child.kitsune;
    // warm-up: JIT, connections, the SQLite page cache
    await cannon({ url: `${child.bare}/ok`, connections, duration: 1 });
    await cannon({ url: `${k}/put?queue=warmup`, method: 'PUT', body, connections, duration: 1 });
    await cannon({ url: `${k}/get?queue=warmup&worker=benchworker`, connections, duration: 1 });

    const runs = { bare: [] as Measured[], bareBody: [] as Measured[], put: [] as Measured[], get: [] as Measured[], rpc: [] as Measured[] };
    // Rounds interleave the scenarios, so a busy spell of the machine does not fall on one of them only.
    for (let round = 1; round <= rounds; round++) {
      log(`hustmq: round ${round}/${rounds}: bare Koa route, ${connections} connections, ${duration} s`);
      runs.bare.push(await cannon({ url: `${child.bare}/ok`, connections, duration }, pid));
      runs.bareBody.push(await cannon({ url: `${child.bare}/okbody`, method: 'PUT', body, connections, duration }, pid));
      log(`hustmq: round ${round}/${rounds}: put (SQLite), ${connections} connections, ${duration} s`);
      runs.put.push(await cannon({ url: `${k}/put?queue=bench${round}`, method: 'PUT', body, connections, duration }, pid));
      // more items than gets can take in `duration`, so get is measured like every other row (the
      // average rate over a fixed time; draining a fixed amount counted the slow tail too)
      await cannon({ url: `${k}/put?queue=bench${round}`, method: 'PUT', body, connections, duration });
      const stat = JSON.parse((await request('GET', `${k}/stat?queue=bench${round}`)).body) as { ready: number[] };
      const ready = stat.ready.reduce((a, b) => a + b, 0);
      log(`hustmq: round ${round}/${rounds}: get (SQLite), ${connections} connections, ${duration} s, from ${ready} items`);
      runs.get.push(await cannon({ url: `${k}/get?queue=bench${round}&worker=benchworker`, connections, duration }, pid));
      log(`hustmq: round ${round}/${rounds}: do_get/do_post round trips, ${connections} clients, ${workers} HTTP workers, ${duration} s`);
      const pool = startWorkers(k, workers);
      await new Promise((r) => setTimeout(r, 300));
      runs.rpc.push(await cannon({ url: `${k}/do_get?queue=bench`, method: 'POST', body: '10', connections, duration }, pid));
      await pool.stop();
    }
    const bare = best(runs.bare);
    const row = (scenario: string, target: string, m: Measured, unit: string, ratio?: number): BenchRow => {
      const notes = [`server ${m.cpuUs.toFixed(1)} µs CPU/req`];
      if (m.non2xx + m.errors > 0) notes.push(`${m.non2xx} non-2xx, ${m.errors} errors`);
      return { group: 'hustmq', scenario, target, rate: m.rate, unit, p50: m.p50, p99: m.p99, ratio, note: notes.join('; ') };
    };
    rows.push(row('bare Koa route (200)', 'bare-koa', bare, 'req/s'));
    const bareBody = best(runs.bareBody);
    rows.push(row('bare Koa route reading a PUT body (200)', 'bare-koa', bareBody, 'req/s', bareBody.rate / bare.rate));
    const put = best(runs.put);
    const get = best(runs.get);
    const rpc = best(runs.rpc);
    rows.push(row('put (durable, SQLite)', 'kitsune', put, 'puts/s', put.rate / bare.rate));
    rows.push({ ...row('put (durable, SQLite) vs the body-reading route', 'kitsune', put, 'puts/s', put.rate / bareBody.rate), note: 'ratio to the bare route reading a PUT body' });
    rows.push(row('get (durable, SQLite)', 'kitsune', get, 'gets/s', get.rate / bare.rate));
    rows.push(row('do_get/do_post round trip', 'kitsune', rpc, 'round trips/s', rpc.rate / bare.rate));
  } finally {
    child.stop();
    agent.destroy();
  }
  return rows;
}

/** put and get against the bare Koa route: target ≥ 70% (by throughput; CPU per request for reference). */
export function targetSummary(rows: BenchRow[]): string[] {
  const out: string[] = [];
  const cpu = (r: BenchRow | undefined): number => Number(/server ([\d.]+) µs/.exec(r?.note ?? '')?.[1]);
  const bare = rows.find((x) => x.group === 'hustmq' && x.target === 'bare-koa');
  for (const name of ['put', 'get']) {
    const r = rows.find((x) => x.group === 'hustmq' && x.scenario === `${name} (durable, SQLite)`);
    if (r?.ratio === undefined) continue;
    const byCpu = cpu(bare) / cpu(r);
    out.push(`hustmq: ${name} at ${(r.ratio * 100).toFixed(0)}% of the bare Koa route's throughput (${(byCpu * 100).toFixed(0)}% by server CPU per request; target ≥ 70%): ${r.ratio >= 0.7 ? 'met' : 'NOT met'}`);
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await benchHustmq();
  console.log(formatTable(rows));
  for (const l of targetSummary(rows)) console.log(l);
  process.exit(0);
}

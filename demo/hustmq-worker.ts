// hustmq HTTP worker: the do_post loop of hustmq's do_post.py against a running kitsune. It parks
// on POST /do_post, gets a task (headers Queue and Token, body n), computes fib(n) and posts the
// result to /do_post?token=T. Several of these (and WAMP callees, see hustmq-wamp-worker.ts) can
// serve one queue; clients call it with: curl -X POST -d 10 'http://127.0.0.1:8080/hustmq/do_get?queue=fibonacci'
//
//   node --import tsx demo/hustmq-worker.ts [URL] [--name w1] [--queue fibonacci] [--user u --password p]
//   URL defaults to $KITSUNE_HUSTMQ_URL or http://127.0.0.1:8080/hustmq (a dedicated --hustmq-port serves it at the root).
import { parseArgs } from 'node:util';
import { eventLog, fib, sleep } from './common.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string', default: `http-worker-${process.pid}` },
    queue: { type: 'string' },
    user: { type: 'string', default: process.env.KITSUNE_HUSTMQ_USER },
    password: { type: 'string', default: process.env.KITSUNE_HUSTMQ_PASSWORD },
  },
});
const base = (positionals[0] ?? process.env.KITSUNE_HUSTMQ_URL ?? 'http://127.0.0.1:8080/hustmq').replace(/\/+$/, '');
const headers: Record<string, string> = {};
if (values.user !== undefined) headers.Authorization = 'Basic ' + Buffer.from(`${values.user}:${values.password ?? ''}`).toString('base64');

const log = eventLog(values.name);



let stopping = false;
let current: AbortController | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopping = true;
    current?.abort();
  });
}

async function loop(): Promise<void> {
  const claim = `${base}/do_post${values.queue ? `?queue=${encodeURIComponent(values.queue)}` : ''}`;
  while (!stopping) {
    current = new AbortController();
    let res: Response;
    try {
      res = await fetch(claim, { method: 'POST', headers, signal: current.signal });
    } catch (err) {
      if (stopping) break;
      log('unreachable', { error: String((err as Error).message) });
      await sleep(1000);
      continue;
    }
    const body = await res.text();
    if (res.status === 408) continue; // no task within do_post_timeout: park again
    if (res.status !== 200) {
      log('refused', { status: res.status, body: body.trim() });
      await sleep(1000);
      continue;
    }
    const queue = res.headers.get('queue');
    const token = res.headers.get('token');
    const n = Number(body.trim());
    const result = Number.isInteger(n) && n >= 0 && n <= 10_000 ? fib(n).toString() : `bad input: ${body.slice(0, 40)}`;
    const done = await fetch(`${base}/do_post?token=${token}`, { method: 'POST', headers, body: result });
    await done.text();
    log('task', { queue, token, n: body.slice(0, 40), result: result.slice(0, 40), reported: done.status });
  }
}

log('started', { url: base });
loop().then(
  () => log('stopped'),
  (err: unknown) => {
    log('failed', { error: String(err) });
    process.exit(1);
  },
);

// The esub use case end to end (esub's README, "use case"): a caller puts a job on a hustmq queue
// with an esub reply URI in it and waits on GET /sub/<uuid>; a worker takes the job from the queue,
// does the work and POSTs the result to that reply URI; the caller's sub returns it.
//
//   node --import tsx demo/esub-worker.ts [worker] [--kitsune URL] [--queue esub_jobs] [--name W]
//       takes jobs {"reply_to": "<esub rep URL>", "n": N} from the hustmq queue (evget long poll,
//       ack after the reply) and answers each with fib(N).
//   node --import tsx demo/esub-worker.ts client [--kitsune URL] [--jobs 5] [--n 30]
//       the caller side: for each job a UUID key and token, GET /esub/sub/<key> waiting, the job
//       put on the queue, then prints what came back.
//
// URL defaults to $KITSUNE_URL or http://127.0.0.1:8080 (hustmq under /hustmq, esub under /esub).
// A job whose caller gave up gets 404 from esub: the worker logs it (esub keeps it for /rsub).
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { eventLog, fib, sleep } from './common.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    kitsune: { type: 'string', default: process.env.KITSUNE_URL ?? 'http://127.0.0.1:8080' },
    queue: { type: 'string', default: 'esub_jobs' },
    name: { type: 'string', default: `esub-worker-${process.pid}` },
    jobs: { type: 'string', default: '5' },
    n: { type: 'string', default: '30' },
  },
});
const base = values.kitsune.replace(/\/+$/, '');
const hustmq = `${base}/hustmq`;
const esub = `${base}/esub`;
const queue = values.queue;
if (!/^[0-9A-Za-z_:.]{1,64}$/.test(queue)) {
  process.stderr.write(`--queue must be 1-64 characters of [0-9A-Za-z_:.] (a hustmq queue name)\n`);
  process.exit(2);
}

const log = eventLog(values.name);



interface Job {
  reply_to: string;
  n: number;
}

function parseJob(body: string): Job | undefined {
  try {
    const j = JSON.parse(body) as Partial<Job>;
    if (typeof j.reply_to === 'string' && typeof j.n === 'number' && Number.isInteger(j.n) && j.n >= 0 && j.n <= 10_000) return j as Job;
  } catch {
    // not JSON
  }
  return undefined;
}

let stopping = false;
let current: AbortController | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopping = true;
    current?.abort();
  });
}

async function ack(token: string): Promise<void> {
  await fetch(`${hustmq}/ack?queue=${encodeURIComponent(queue)}&peer=0&token=${encodeURIComponent(token)}`);
}

async function worker(): Promise<void> {
  log('started', { queue, hustmq, esub });
  // evget parks until an item is ready and redirects to /get (fetch follows it); 404 = nothing yet.
  const take = `${hustmq}/evget?queue=${encodeURIComponent(queue)}&worker=${encodeURIComponent(values.name.slice(0, 32))}&ack=false`;
  while (!stopping) {
    current = new AbortController();
    let res: Response;
    const asked = Date.now();
    try {
      res = await fetch(take, { signal: current.signal });
    } catch (err) {
      if (stopping) break;
      log('unreachable', { error: String((err as Error).message) });
      await sleep(1000);
      continue;
    }
    const body = await res.text();
    if (res.status === 404) {
      // nothing arrived while parked (or another worker won it); never spin if it answers at once
      if (Date.now() - asked < 100) await sleep(100);
      continue;
    }
    if (res.status !== 200) {
      log('queue error', { status: res.status, body });
      await sleep(1000);
      continue;
    }
    const token = res.headers.get('ack-token');
    const job = parseJob(body);
    if (!job) {
      log('bad job dropped', { body: body.slice(0, 200) });
      if (token) await ack(token);
      continue;
    }
    const result = fib(job.n).toString();
    const answer = await fetch(job.reply_to, { method: 'POST', body: result }).catch((err: unknown) => err as Error);
    if (answer instanceof Error) {
      // esub unreachable: leave the job unacked, hustmq redelivers it after its timeout
      log('reply failed', { reply_to: job.reply_to, error: answer.message });
      continue;
    }
    const text = await answer.text();
    log(answer.status === 200 ? 'replied' : 'caller gone', { reply_to: job.reply_to, n: job.n, status: answer.status, esub: text, stored: answer.headers.get('x-esub-stored') === '1' });
    if (token) await ack(token);
  }
  log('stopped');
}

async function client(): Promise<void> {
  const jobs = Number(values.jobs);
  const n = Number(values.n);
  const results = await Promise.all(
    Array.from({ length: jobs }, async (_, i) => {
      const key = randomUUID();
      const token = randomUUID();
      const started = Date.now();
      // 1. wait on the reply key (the sub must exist before the worker can answer it)
      const waiting = fetch(`${esub}/sub/${key}?token=${token}`).then(async (r) => ({ status: r.status, body: await r.text() }));
      for (let tries = 0; ; tries++) {
        const keys = await fetch(`${esub}/keys`).then((r) => (r.status === 200 ? r.json() : []));
        if ((keys as string[]).includes(key)) break;
        if (tries > 200) throw new Error(`sub ${key} never showed up`);
        await sleep(10);
      }
      // 2. put the job with its reply URI on the queue
      const job: Job = { reply_to: `${esub}/rep/${key}?token=${token}`, n: n + i };
      const put = await fetch(`${hustmq}/put?queue=${encodeURIComponent(queue)}`, { method: 'POST', body: JSON.stringify(job) });
      if (put.status !== 200) throw new Error(`put failed: ${put.status} ${await put.text()}`);
      // 3. the worker's reply arrives on the sub
      const reply = await waiting;
      return { job: i, n: n + i, status: reply.status, result: reply.body, ms: Date.now() - started };
    }),
  );
  for (const r of results) process.stdout.write(JSON.stringify(r) + '\n');
}

const mode = positionals[0] ?? 'worker';
if (mode === 'client') await client();
else if (mode === 'worker') await worker();
else {
  process.stderr.write(`unknown mode '${mode}': worker or client\n`);
  process.exit(2);
}

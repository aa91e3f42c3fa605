// hustmq bridge: do_get / do_post — HTTP workers, WAMP callees serving HTTP clients, WAMP callers
// reaching HTTP workers, LIFO hand-out, 405/404/408, slots, hang-ups, and the status counters.
import test, { type ExecutionContext } from 'ava';
import autobahn from 'autobahn';
import { callError, openAutobahn } from '../../helpers/autobahn.ts';
import { type Answer, startHustmq, until } from '../../helpers/hustmq.ts';

const POST = { method: 'POST' } as const;

function fib(n: number): number {
  let [a, b] = [0, 1];
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

type H = Awaited<ReturnType<typeof startHustmq>>;

/** Waits until `n` workers are parked (HTTP and WAMP callees, as do_post_status counts them). */
async function parked(h: H, n: number): Promise<void> {
  await until(async () => JSON.parse((await h.req('/do_post_status')).text).cache_workers === n);
}

/** Waits until the do_get status has `n` tasks (unassigned + assigned). */
async function tasks(h: H, n: number): Promise<void> {
  await until(async () => {
    const s = JSON.parse((await h.req('/do_get_status')).text) as { unassigned_tasks: number; assigned_tasks: number };
    return s.unassigned_tasks + s.assigned_tasks === n;
  });
}

test('do_post.py / do_get.py: a parked HTTP worker computes fib(10) for a do_get client', async (t) => {
  const h = await startHustmq(t);
  const worker = h.req('/do_post', POST);
  await parked(h, 1);
  const client = h.req('/do_get?queue=fibonacci', { method: 'POST', body: '10' });
  const task = await worker;
  t.is(task.status, 200);
  t.is(task.headers.get('queue'), 'fibonacci');
  const token = task.headers.get('token') as string;
  t.regex(token, /^\d+$/);
  t.is(task.text, '10');
  const done = await h.req(`/do_post?token=${token}`, { method: 'POST', body: String(fib(Number(task.text))) });
  t.is(done.status, 200);
  t.is(done.text, '');
  const result = await client;
  t.is(result.status, 200);
  t.is(result.text, '55');
  t.is((await h.req(`/do_post?token=${token}`, { method: 'POST', body: '55' })).status, 404, 'a token answers once');
});

test('a task waits (unassigned) until a worker parks; the status routes count it', async (t) => {
  const h = await startHustmq(t);
  const client = h.req('/do_get?queue=later', { method: 'POST', body: 'job' });
  await tasks(h, 1);
  t.deepEqual(JSON.parse((await h.req('/do_get_status')).text), { unassigned_tasks: 1, assigned_tasks: 0, free_tasks: 1023, total: 1024 });
  const task = await h.req('/do_post', POST);
  t.is(task.text, 'job');
  t.deepEqual(JSON.parse((await h.req('/do_get_status')).text), { unassigned_tasks: 0, assigned_tasks: 1, free_tasks: 1023, total: 1024 });
  await h.req(`/do_post?token=${task.headers.get('token')}`, { method: 'POST', body: 'done' });
  t.is((await client).text, 'done');
  t.deepEqual(JSON.parse((await h.req('/do_get_status')).text), { unassigned_tasks: 0, assigned_tasks: 0, free_tasks: 1024, total: 1024 });
});

test('do_post_status counts parked workers; a worker that hangs up frees its slot at once', async (t) => {
  const h = await startHustmq(t, { doPostCacheSize: 2 });
  const a = new AbortController();
  const w1 = h.req('/do_post', { ...POST, signal: a.signal }).catch((e: Error) => e.name);
  const w2 = h.req('/do_post', { ...POST, signal: a.signal }).catch((e: Error) => e.name);
  await parked(h, 2);
  t.deepEqual(JSON.parse((await h.req('/do_post_status')).text), { cache_workers: 2, free_workers: 0, total: 2 });
  const full = await h.req('/do_post', POST);
  t.is(full.status, 404);
  t.regex(full.text, /worker slots/);
  a.abort();
  t.deepEqual(await Promise.all([w1, w2]), ['AbortError', 'AbortError']);
  await until(async () => JSON.parse((await h.req('/do_post_status')).text).cache_workers === 0);
  t.deepEqual(JSON.parse((await h.req('/do_post_status')).text), { cache_workers: 0, free_workers: 2, total: 2 });
  // no task goes to the gone workers: a new task waits for the next one
  const client = h.req('/do_get?queue=q', { method: 'POST', body: 'x' });
  await tasks(h, 1);
  const w3 = await h.req('/do_post', POST);
  t.is(w3.text, 'x');
  await h.req(`/do_post?token=${w3.headers.get('token')}`, { method: 'POST', body: 'y' });
  t.is((await client).text, 'y');
});

test('the most recently parked worker gets the task (LIFO), and the most recent waiting task goes first', async (t) => {
  const h = await startHustmq(t);
  const first = h.req('/do_post', POST);
  await parked(h, 1);
  const second = h.req('/do_post', POST);
  await parked(h, 2);
  const c1 = h.req('/do_get?queue=lifo', { method: 'POST', body: 't1' });
  const got = await Promise.race([first.then(() => 'first'), second.then(() => 'second')]);
  t.is(got, 'second');
  const s = await second;
  await h.req(`/do_post?token=${s.headers.get('token')}`, { method: 'POST', body: 'r1' });
  t.is((await c1).text, 'r1');
  const f = h.req('/do_get?queue=lifo', { method: 'POST', body: 't2' });
  const fw = await first;
  t.is(fw.text, 't2');
  await h.req(`/do_post?token=${fw.headers.get('token')}`, { method: 'POST', body: 'r2' });
  t.is((await f).text, 'r2');

  // two waiting tasks: a new worker takes the newest
  const old = h.req('/do_get?queue=lifo', { method: 'POST', body: 'older' });
  await tasks(h, 1);
  const recent = h.req('/do_get?queue=lifo', { method: 'POST', body: 'newer' });
  await tasks(h, 2);
  const w = await h.req('/do_post', POST);
  t.is(w.text, 'newer');
  const w2 = await h.req('/do_post', POST);
  t.is(w2.text, 'older');
  await h.req(`/do_post?token=${w.headers.get('token')}`, { method: 'POST', body: 'n' });
  await h.req(`/do_post?token=${w2.headers.get('token')}`, { method: 'POST', body: 'o' });
  t.deepEqual([(await old).text, (await recent).text], ['o', 'n']);
});

test('405 for methods other than POST; 404 for bad queue, empty or oversized bodies, unknown tokens', async (t) => {
  const h = await startHustmq(t, { maxDoTaskBodyBytes: 100 });
  const g = await h.req('/do_get?queue=q');
  t.is(g.status, 405);
  t.is(g.headers.get('allow'), 'POST');
  t.is((await h.req('/do_post')).status, 405);
  t.is((await h.req('/do_post?token=1', { method: 'PUT', body: 'x' })).status, 405);
  t.is((await h.req('/do_get', { method: 'POST', body: 'x' })).status, 404);
  t.is((await h.req('/do_get?queue=b$d', { method: 'POST', body: 'x' })).status, 404);
  const empty = await h.req('/do_get?queue=q', POST);
  t.is(empty.status, 404);
  t.regex(empty.text, /empty task/);
  t.is((await h.req('/do_get?queue=q', { method: 'POST', body: 'x'.repeat(101) })).status, 404);
  t.is((await h.req('/do_post?token=123', { method: 'POST', body: 'r' })).status, 404);
  t.is((await h.req('/do_post?token=123', POST)).status, 404);
  t.is((await h.req('/do_post?token=123', { method: 'POST', body: 'x'.repeat(101) })).status, 404);
});

test('408: do_get without a result, do_post without a task; an expired token answers 404', async (t) => {
  const h = await startHustmq(t, { doGetTimeoutMs: 300, doPostTimeoutMs: 150 });
  const idle = await h.req('/do_post', POST);
  t.is(idle.status, 408);
  t.true(idle.ms >= 130);
  const client = h.req('/do_get?queue=slow', { method: 'POST', body: 'x' });
  const w = await h.req('/do_post', POST);
  t.is(w.status, 200);
  const r = await client;
  t.is(r.status, 408);
  t.is((await h.req(`/do_post?token=${w.headers.get('token')}`, { method: 'POST', body: 'late' })).status, 404);
  t.deepEqual(JSON.parse((await h.req('/do_get_status')).text).free_tasks, 1024, 'the slot is free again');
  // nobody picks a task up at all: 408 after the timeout, too
  t.is((await h.req('/do_get?queue=nobody', { method: 'POST', body: 'x' })).status, 408);
});

test('task slots: do_get_cache_size tasks at most; a do_get client that hangs up frees its slot', async (t) => {
  const h = await startHustmq(t, { doGetCacheSize: 1 });
  const a = new AbortController();
  const gone = h.req('/do_get?queue=q', { method: 'POST', body: 'x', signal: a.signal }).catch((e: Error) => e.name);
  await tasks(h, 1);
  const full = await h.req('/do_get?queue=q', { method: 'POST', body: 'y' });
  t.is(full.status, 404);
  t.regex(full.text, /task slots/);
  a.abort();
  t.is(await gone, 'AbortError');
  await until(async () => JSON.parse((await h.req('/do_get_status')).text).free_tasks === 1);
  const c = h.req('/do_get?queue=q', { method: 'POST', body: 'z' });
  const w = await h.req('/do_post', POST);
  t.is(w.text, 'z', 'the gone task is not handed out');
  await h.req(`/do_post?token=${w.headers.get('token')}`, { method: 'POST', body: 'ok' });
  t.is((await c).text, 'ok');
});

test('do_post?queue=Q (extension) only takes tasks of Q', async (t) => {
  const h = await startHustmq(t);
  const other = h.req('/do_get?queue=other', { method: 'POST', body: 'o' });
  const mine = h.req('/do_get?queue=mine', { method: 'POST', body: 'm' });
  await tasks(h, 2);
  const w = await h.req('/do_post?queue=other', POST);
  t.is(w.text, 'o');
  t.is(w.headers.get('queue'), 'other');
  await h.req(`/do_post?token=${w.headers.get('token')}`, { method: 'POST', body: 'O' });
  t.is((await other).text, 'O');
  const any = await h.req('/do_post', POST);
  t.is(any.text, 'm');
  await h.req(`/do_post?token=${any.headers.get('token')}`, { method: 'POST', body: 'M' });
  t.is((await mine).text, 'M');
  t.is((await h.req('/do_post?queue=b$d', POST)).status, 404);
});

/** An autobahn session; `done()` closes it before the server stops. */
async function wamp(t: ExecutionContext, urls: Record<string, string>): Promise<autobahn.Session & { done(): Promise<void> }> {
  const { session, connection, closed } = await openAutobahn(t, urls);
  return Object.assign(session, {
    done: async () => {
      if (connection.isOpen) connection.close();
      await closed;
    },
  });
}

test('a WAMP callee on hustmq.do.Q serves HTTP do_get; do_post_status counts it', async (t) => {
  const h = await startHustmq(t);
  const session = await wamp(t, h.server.urls);
  await session.register('hustmq.do.fibonacci', (args) => fib(Number(args?.[0])));
  t.is((await h.req('/do_post_status')).text, '{"cache_workers":1,"free_workers":1024,"total":1025}');
  const results = await Promise.all([1, 2, 10, 20].map((n) => h.req('/do_get?queue=fibonacci', { method: 'POST', body: String(n) })));
  t.deepEqual(
    results.map((r: Answer) => [r.status, r.text]),
    [
      [200, '1'],
      [200, '1'],
      [200, '55'],
      [200, '6765'],
    ],
  );
  // a callee error becomes a 404 naming it
  await session.register('hustmq.do.broken', () => {
    throw new autobahn.Error('app.error.boom', ['boom']);
  });
  const broken = await h.req('/do_get?queue=broken', { method: 'POST', body: '1' });
  t.is(broken.status, 404);
  await session.done();
});

test('a WAMP callee that registers later picks up the waiting HTTP task', async (t) => {
  const h = await startHustmq(t);
  const client = h.req('/do_get?queue=late', { method: 'POST', body: '"hi"' });
  await tasks(h, 1);
  const session = await wamp(t, h.server.urls);
  await session.register('hustmq.do.late', (args) => `${String(args?.[0])} back`);
  const r = await client;
  t.is(r.status, 200);
  t.is(r.text, 'hi back');
  await session.done();
});

test('a WAMP caller reaches a parked HTTP worker; the status counts its call', async (t) => {
  const h = await startHustmq(t);
  const session = await wamp(t, h.server.urls);
  const worker = h.req('/do_post', POST);
  await parked(h, 1);
  const call = session.call<number>('hustmq.do.fibonacci', [10]);
  const task = await worker;
  t.is(task.headers.get('queue'), 'fibonacci');
  t.is(task.text, '10');
  t.is(JSON.parse((await h.req('/do_get_status')).text).assigned_tasks, 1);
  await h.req(`/do_post?token=${task.headers.get('token')}`, { method: 'POST', body: String(fib(10)) });
  t.is(await call, 55);
  // with no worker parked, a WAMP call finds no callee
  t.is((await callError(session.call('hustmq.do.fibonacci', [1]))).error, 'wamp.error.no_such_procedure');
  await session.done();
});

test('WAMP callees sharing the HTTP workers\' registration (prefix hustmq.do., invoke last) take turns with them', async (t) => {
  const h = await startHustmq(t);
  const session = await wamp(t, h.server.urls);
  await session.register('hustmq.do.', (_args, _kw, details) => `wamp:${(details as unknown as { procedure: string }).procedure}`, { match: 'prefix', invoke: 'last' } as never);
  // the WAMP callee is the only callee: it serves
  t.is((await h.req('/do_get?queue=shared', { method: 'POST', body: '1' })).text, 'wamp:hustmq.do.shared');
  // a parked HTTP worker registered after it is the most recent: it serves the next task
  const worker = h.req('/do_post', POST);
  await parked(h, 2);
  const c = h.req('/do_get?queue=shared', { method: 'POST', body: '2' });
  const task = await worker;
  t.is(task.text, '2');
  await h.req(`/do_post?token=${task.headers.get('token')}`, { method: 'POST', body: 'http' });
  t.is((await c).text, 'http');
  await session.done();
});

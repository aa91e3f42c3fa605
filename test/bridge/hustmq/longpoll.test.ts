// hustmq bridge: evget long polling — 307 to /get the moment an item is put, FIFO release, 404 on
// timeout, the parked-request cap, and a client that hangs up frees its slot at once.
import test from 'ava';
import { request, startHustmq, until } from '../../helpers/hustmq.ts';

test('evget on a queue with an item answers 307 at once, Location to /get with the original query', async (t) => {
  const h = await startHustmq(t);
  await h.req('/put?queue=hustmqhaqueue&item=hustmqteststr');
  const r = await h.req('/evget?queue=hustmqhaqueue&worker=testworker&ack=false');
  t.is(r.status, 307);
  t.is(r.text, '');
  const loc = r.headers.get('location') as string;
  t.is(loc, `${h.base}/get?queue=hustmqhaqueue&worker=testworker&ack=false`);
  const g = await request(loc);
  t.is(g.status, 200);
  t.is(g.text, 'hustmqteststr');
  t.truthy(g.headers.get('ack-token'));
});

test('the 307 Location keeps the /hustmq mount on the shared port; fetch follows it', async (t) => {
  const h = await startHustmq(t);
  await h.reqAt(h.shared, '/put?queue=mq&item=v');
  const r = await h.reqAt(h.shared, '/evget?queue=mq&worker=testworker');
  t.is(r.status, 307);
  t.is(r.headers.get('location'), `${h.shared}/get?queue=mq&worker=testworker`);
  const followed = await fetch(`${h.shared}/evget?queue=mq&worker=testworker`);
  t.is(followed.status, 200);
  t.is(await followed.text(), 'v');
});

test('a parked evget wakes as soon as an item is put (latency measured)', async (t) => {
  const h = await startHustmq(t, { autostIntervalMs: 60_000 });
  const samples: number[] = [];
  for (let i = 0; i < 20; i++) {
    const parked = h.req(`/evget?queue=lp&worker=testworker`);
    await h.parkedOn('lp', 1);
    const t0 = performance.now();
    await h.req(`/put?queue=lp&item=${i}`);
    const r = await parked;
    samples.push(performance.now() - t0);
    t.is(r.status, 307);
    t.is((await request(r.headers.get('location') as string)).text, String(i));
  }
  samples.sort((a, b) => a - b);
  const p50 = samples[Math.floor(samples.length / 2)] as number;
  t.log(`evget wake-up after put (put round trip + 307): p50 ${p50.toFixed(2)} ms, max ${(samples.at(-1) as number).toFixed(2)} ms`);
  // the recheck interval is 60 s here: an answer within a second can only come from the put's wake-up
  t.true((samples.at(-1) as number) < 1000);
});

test('parked evget requests are released FIFO, one per item', async (t) => {
  const h = await startHustmq(t, { autostIntervalMs: 60_000 });
  const order: number[] = [];
  const parked: Promise<unknown>[] = [];
  for (let i = 0; i < 3; i++) {
    parked.push(h.req(`/evget?queue=fifo&worker=worker${i}x`).then((r) => (order.push(i), r)));
    await h.parkedOn('fifo', i + 1);
  }
  await h.req('/put?queue=fifo&item=a');
  await until(() => order.length === 1);
  t.deepEqual(order, [0]);
  await h.req('/put?queue=fifo&item=b');
  await h.req('/put?queue=fifo&item=c');
  const answers = (await Promise.all(parked)) as { status: number }[];
  t.deepEqual(order, [0, 1, 2]);
  t.true(answers.every((a) => a.status === 307));
});

test('evget times out with 404 after long_polling_timeout', async (t) => {
  const h = await startHustmq(t, { longPollingTimeoutMs: 200 });
  const r = await h.req('/evget?queue=never&worker=testworker');
  t.is(r.status, 404);
  t.true(r.ms >= 180);
  t.regex(r.text, /within 200 ms/);
});

test('evget validates queue, worker and ack; the max_timer_count cap answers 404', async (t) => {
  const h = await startHustmq(t, { maxTimerCount: 2, longPollingTimeoutMs: 2000 });
  t.is((await h.req('/evget?worker=testworker')).status, 404);
  t.is((await h.req('/evget?queue=q&worker=abc')).status, 404);
  t.is((await h.req('/evget?queue=q&worker=testworker&ack=x')).status, 404);
  const a = new AbortController();
  const p1 = h.req('/evget?queue=cap&worker=testworker', { signal: a.signal }).catch(() => null);
  const p2 = h.req('/evget?queue=cap&worker=testworker', { signal: a.signal }).catch(() => null);
  await h.parkedOn('cap', 2);
  const third = await h.req('/evget?queue=cap&worker=testworker');
  t.is(third.status, 404);
  t.regex(third.text, /too many parked evget/);
  a.abort();
  await Promise.all([p1, p2]);
});

test('a parked evget client that hangs up frees its slot at once', async (t) => {
  const h = await startHustmq(t, { maxTimerCount: 1, longPollingTimeoutMs: 5000 });
  const a = new AbortController();
  const gone = h.req('/evget?queue=hang&worker=testworker', { signal: a.signal }).catch((e: Error) => e.name);
  await h.parkedOn('hang', 1);
  const refused = await h.req('/evget?queue=hang&worker=testworker');
  t.is(refused.status, 404, 'the one slot is taken');
  t.regex(refused.text, /too many parked evget/);
  a.abort();
  t.is(await gone, 'AbortError');
  await h.parkedOn('hang', 0);
  // the slot is free again: this evget parks, and the put goes to it (not to the gone client)
  const parked = h.req('/evget?queue=hang&worker=testworker');
  await h.parkedOn('hang', 1);
  await h.req('/put?queue=hang&item=x');
  t.is((await parked).status, 307);
});

test('autost runs the wake-up pass: a waiter whose item stays in the queue is released', async (t) => {
  const h = await startHustmq(t, { autostIntervalMs: 60_000 });
  const first = h.req('/evget?queue=redo&worker=testworker');
  await h.parkedOn('redo', 1);
  await h.req('/put?queue=redo&item=x');
  t.is((await first).status, 307);
  // nobody follows the redirect: the item is still there; a new waiter is released on park
  const second = await h.req('/evget?queue=redo&worker=testworker');
  t.is(second.status, 307);
  t.is((await h.req('/autost')).status, 200);
});

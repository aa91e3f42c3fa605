// hustmq bridge: push queues — pub (ttl, idx), sub within the window, evsub 307 / 403 + Index /
// 404, wake-up latency, and the events on `hustmq.push.Q` for WAMP subscribers (with `after`).
import test from 'ava';
import { Collector, openAutobahn } from '../../helpers/autobahn.ts';
import { request, sleep, startHustmq } from '../../helpers/hustmq.ts';

interface Stat {
  type: number;
  ready: number[];
  si: number;
  ci: number;
  tm: number;
}

test('pub appends at ci+1; sub reads any index in (si, ci]; sub does not consume', async (t) => {
  const h = await startHustmq(t);
  for (const v of ['a', 'b', 'c']) t.is((await h.req(`/pub?queue=hustpushqueue&item=${v}`)).status, 200);
  t.is((await h.req('/pub?queue=hustpushqueue', { method: 'POST', body: 'd' })).status, 200);
  const s = JSON.parse((await h.req('/stat?queue=hustpushqueue')).text) as Stat;
  t.like(s, { type: 1, ready: [4, 0, 0], si: 0, ci: 4 });
  t.true(Math.abs(s.tm - Date.now() / 1000) < 5);
  t.is((await h.req('/sub?queue=hustpushqueue&idx=1')).text, 'a');
  t.is((await h.req('/sub?queue=hustpushqueue&idx=4')).text, 'd');
  t.is((await h.req('/sub?queue=hustpushqueue&idx=1')).text, 'a', 'not consumed');
  t.is((await h.req('/sub?queue=hustpushqueue&idx=0')).status, 404);
  t.is((await h.req('/sub?queue=hustpushqueue&idx=5')).status, 404);
  t.is((await h.req('/sub?queue=hustpushqueue')).status, 404);
  t.is((await h.req('/sub?queue=hustpushqueue&idx=-1')).status, 404);
  t.is((await h.req('/sub?queue=nosuch&idx=1')).status, 404);
});

test('pub with idx ahead of ci restarts the window there (si = idx-1, ci = idx)', async (t) => {
  const h = await startHustmq(t);
  await h.req('/pub?queue=pw&item=1');
  await h.req('/pub?queue=pw&item=2');
  const before = JSON.parse((await h.req('/stat?queue=pw')).text) as Stat;
  t.is((await h.req(`/pub?queue=pw&item=jump&idx=${before.ci + 2}`)).status, 200);
  t.like(JSON.parse((await h.req('/stat?queue=pw')).text) as Stat, { si: 3, ci: 4, ready: [1, 0, 0] });
  t.is((await h.req('/sub?queue=pw&idx=4')).text, 'jump');
  t.is((await h.req('/sub?queue=pw&idx=2')).status, 404, 'left the window');
  // an idx that is not ahead is ignored: the next index is taken
  await h.req('/pub?queue=pw&item=next&idx=1');
  t.like(JSON.parse((await h.req('/stat?queue=pw')).text) as Stat, { si: 3, ci: 5 });
  t.is((await h.req('/sub?queue=pw&idx=5')).text, 'next');
});

test('pub ttl: default 900 s, 1-7200 accepted, others refused; expired events leave the window', async (t) => {
  const h = await startHustmq(t);
  t.is((await h.req('/pub?queue=pt&item=x&ttl=0')).status, 404);
  t.is((await h.req('/pub?queue=pt&item=x&ttl=7201')).status, 404);
  t.is((await h.req('/pub?queue=pt&item=x&ttl=abc')).status, 404);
  t.is((await h.req('/pub?queue=pt&item=x&idx=11000000')).status, 404);
  t.is((await h.req('/pub?queue=pt')).status, 404, 'no item');
  const t0 = Date.now();
  t.is((await h.req('/pub?queue=pt&item=short&ttl=2')).status, 200);
  t.is((await h.req('/pub?queue=pt&item=long&ttl=7200')).status, 200);
  const live = await h.req('/sub?queue=pt&idx=1');
  // the 2 s ttl starts after t0: an answer within it must still be the event (beyond only under heavy load)
  if (Date.now() - t0 < 2000) t.is(live.text, 'short');
  await sleep(2100);
  const expired = await h.req('/sub?queue=pt&idx=1');
  t.is(expired.status, 404);
  t.like(JSON.parse((await h.req('/stat?queue=pt')).text) as Stat, { si: 1, ci: 2, ready: [1, 0, 0] });
  t.is((await h.req('/sub?queue=pt&idx=2')).text, 'long');
});

test('evsub: 307 to /sub for an index in the window, 403 with Index si-ci outside it', async (t) => {
  const h = await startHustmq(t);
  for (let i = 1; i <= 3; i++) await h.req(`/pub?queue=es&item=m${i}`);
  const ok = await h.req('/evsub?queue=es&idx=2');
  t.is(ok.status, 307);
  t.is(ok.headers.get('location'), `${h.base}/sub?queue=es&idx=2`);
  t.is((await request(ok.headers.get('location') as string)).text, 'm2');
  const far = await h.req('/evsub?queue=es&idx=9');
  t.is(far.status, 403);
  t.is(far.headers.get('index'), '0-3');
  t.is(far.headers.get('location'), null);
  // after a jump, old indexes are outside: the client restarts at si+1
  await h.req('/pub?queue=es&item=j&idx=10');
  const old = await h.req('/evsub?queue=es&idx=2');
  t.is(old.status, 403);
  t.is(old.headers.get('index'), '9-10');
  t.is((await h.req('/evsub?queue=es')).status, 404);
  t.is((await h.req('/evsub?queue=es&idx=x')).status, 404);
  // a normal queue is not a push window
  await h.req('/put?queue=normalq&item=x');
  t.is((await h.req('/evsub?queue=normalq&idx=1')).status, 403);
});

test('evsub parks only while the window is empty, and wakes at once on pub (latency measured)', async (t) => {
  const h = await startHustmq(t);
  const samples: number[] = [];
  for (let i = 1; i <= 20; i++) {
    // a fresh push queue each time: its window is empty until the pub
    const parked = h.req(`/evsub?queue=ev${i}&idx=1`);
    await h.parkedOn(`ev${i}`, 1, true);
    const t0 = performance.now();
    await h.req(`/pub?queue=ev${i}&item=e${i}`);
    const r = await parked;
    samples.push(performance.now() - t0);
    t.is(r.status, 307, `queue ev${i}`);
    t.is((await request(r.headers.get('location') as string)).text, `e${i}`);
  }
  samples.sort((a, b) => a - b);
  t.log(`evsub wake-up after pub (pub round trip + 307): p50 ${(samples[10] as number).toFixed(2)} ms, max ${(samples.at(-1) as number).toFixed(2)} ms`);
  t.true((samples.at(-1) as number) < 1000);
});

test('evsub for ci+1 while the window holds events answers 403 with Index si-ci at once', async (t) => {
  // a long subscribe timeout: a parked request would make this test time out, not pass
  const h = await startHustmq(t, { subscribeTimeoutMs: 60_000 });
  await h.req('/pub?queue=nx&item=a');
  await h.req('/pub?queue=nx&item=b');
  const next = await h.req('/evsub?queue=nx&idx=3');
  t.is(next.status, 403);
  t.is(next.headers.get('index'), '0-2');
  t.is(next.headers.get('location'), null);
  t.is(h.local.streams.waiting('nx'), 0, 'nothing left parked');
});

test('the hustmq evsub client loop (autotest.py evsub) reads every message once, in order', async (t) => {
  const h = await startHustmq(t, { subscribeTimeoutMs: 60_000 });
  for (let i = 0; i < 10; i++) await h.req(`/pub?queue=loop&item=jobstest${i}`);
  const got: string[] = [];
  let idx = 1;
  let last: { status: number; index: string | null } | undefined;
  for (let rounds = 0; rounds < 30; rounds++) {
    const r = await h.req(`/evsub?queue=loop&idx=${idx}`);
    if (r.status === 403) {
      last = { status: r.status, index: r.headers.get('index') };
      // past the end of the window: everything is read (autotest.py would restart at si+1)
      if (idx > Number((last.index as string).split('-')[1])) break;
      idx = Number((last.index as string).split('-')[0]) + 1;
      continue;
    }
    t.is(r.status, 307);
    const s = await request(r.headers.get('location') as string);
    t.is(s.status, 200);
    got.push(s.text);
    idx++;
  }
  t.deepEqual(got, Array.from({ length: 10 }, (_, i) => `jobstest${i}`));
  t.deepEqual(last, { status: 403, index: '0-10' }, 'ci+1 is refused at once, not parked');
});

test('evsub: 404 after subscribe_timeout; the cap answers 404', async (t) => {
  // a timeout long enough that the capped request comes while the first is still parked, under load too
  const h = await startHustmq(t, { subscribeTimeoutMs: 1500, maxTimerCount: 1 });
  const parked = h.req('/evsub?queue=quiet&idx=1');
  await h.parkedOn('quiet', 1, true);
  const capped = await h.req('/evsub?queue=quiet&idx=1');
  t.is(capped.status, 404);
  t.regex(capped.text, /too many parked evsub/);
  const r = await parked;
  t.is(r.status, 404);
  t.true(r.ms >= 1300);
});

test('a pub reaches WAMP subscribers of hustmq.push.Q, and history replays it with `after`', async (t) => {
  const h = await startHustmq(t);
  const { session, connection } = await openAutobahn(t, h.server.urls);
  const live = new Collector<unknown[]>();
  await session.subscribe('hustmq.push.wq', (args) => live.push(args ?? []));
  await h.req('/pub?queue=wq&item=%7B%22n%22%3A1%7D');
  await h.req('/pub?queue=wq', { method: 'POST', body: 'plain text' });
  const items = await live.waitFor(2);
  t.deepEqual(items[0], [{ n: 1 }]);
  t.is(items[1]?.[0] instanceof Uint8Array || typeof items[1]?.[0] === 'string' ? 'ok' : 'no', 'ok');
  const replay = new Collector<unknown[]>();
  await session.subscribe('hustmq.push.wq', (args) => replay.push(args ?? []), { after: 0 } as never);
  t.deepEqual((await replay.waitFor(2))[0], [{ n: 1 }]);
  connection.close();
});

test('a WAMP publish on hustmq.push.Q takes the next index', async (t) => {
  const h = await startHustmq(t);
  await h.req('/pub?queue=wp&item=first');
  const { session, connection } = await openAutobahn(t, h.server.urls);
  await session.publish('hustmq.push.wp', ['from wamp'], {}, { acknowledge: true });
  t.like(JSON.parse((await h.req('/stat?queue=wp')).text) as Stat, { ci: 2 });
  t.is((await h.req('/sub?queue=wp&idx=2')).text, 'from wamp');
  connection.close();
});

// hustmq bridge across protocols: a publish on hustmq.Q (WAMP) / hustmq/Q (MQTT) enqueues into Q
// exactly once; an HTTP put is seen by subscribers exactly once; the in-process client API.
import test from 'ava';
import mqtt from 'mqtt';
import { Payload } from '../../../lib/index.ts';
import { Collector, openAutobahn } from '../../helpers/autobahn.ts';
import { request, sleep, startHustmq } from '../../helpers/hustmq.ts';

test('a WAMP publish on hustmq.Q enqueues once; subscribers of hustmq.Q see it once', async (t) => {
  const h = await startHustmq(t);
  const { session, connection, closed } = await openAutobahn(t, h.server.urls);
  const seen = new Collector<unknown[]>();
  await session.subscribe('hustmq.cross', (args) => seen.push(args ?? []));
  await session.publish('hustmq.cross', [{ job: 1 }], {}, { acknowledge: true, exclude_me: false } as never);
  await session.publish('hustmq.cross', ['text'], {}, { acknowledge: true, exclude_me: false } as never);
  t.regex((await h.req('/stat?queue=cross')).text, /"ready":\[2,0,0\]/);
  t.is((await h.req('/get?queue=cross&worker=worker1')).text, '{"job":1}');
  t.is((await h.req('/get?queue=cross&worker=worker1')).text, 'text', 'a WAMP string is its text');
  t.is((await h.req('/get?queue=cross&worker=worker1')).status, 404, 'enqueued exactly once each');
  await seen.waitFor(2);
  // an HTTP put is published on hustmq.Q once and enqueued once
  await h.req('/put?queue=cross&item=%5B1%2C2%5D');
  const items = await seen.waitFor(3);
  t.deepEqual(items[2], [[1, 2]]);
  await sleep(50);
  t.is(seen.items.length, 3);
  t.regex((await h.req('/stat?queue=cross')).text, /"ready":\[1,0,0\]/);
  // deeper topics and invalid names are plain publications, not queue items
  await session.publish('hustmq.cross.sub', ['x'], {}, { acknowledge: true });
  t.is((await h.req('/stat?queue=cross')).text.match(/"ready":\[(\d)/)?.[1], '1');
  // a locked queue refuses a WAMP publish (acknowledged: the publisher gets the error)
  await h.req('/lock?queue=cross&on=1');
  const err = await session.publish('hustmq.cross', ['refused'], {}, { acknowledge: true }).then(
    () => undefined,
    (e: { error: string }) => e.error,
  );
  t.is(err, 'kitsune.error.queue_refused');
  connection.close();
  await closed;
});

test('an evget parked on Q wakes when a WAMP client publishes on hustmq.Q', async (t) => {
  const h = await startHustmq(t, { autostIntervalMs: 60_000 });
  const { session, connection, closed } = await openAutobahn(t, h.server.urls);
  const parked = h.req('/evget?queue=wq&worker=testworker');
  await h.parkedOn('wq', 1);
  const t0 = performance.now();
  await session.publish('hustmq.wq', ['wake'], {}, { acknowledge: true });
  const r = await parked;
  t.log(`evget woken by a WAMP publish in ${(performance.now() - t0).toFixed(2)} ms`);
  t.is(r.status, 307);
  t.is((await request(r.headers.get('location') as string)).text, 'wake');
  connection.close();
  await closed;
});

test('the in-process client API: put/get/stat and a publish from another in-process client enqueues', async (t) => {
  const h = await startHustmq(t);
  const router = h.server.router as unknown as import('../../../lib/index.ts').KitsuneRouter;
  const a = router.connect('realm1');
  const b = router.connect('realm1');
  t.teardown(() => {
    a.close();
    b.close();
  });
  const seen: string[] = [];
  await b.subscribe('hustmq.local', (e) => seen.push(new TextDecoder().decode(e.payload.bytes)));
  t.is(await a.queues.put('local', Buffer.from('p1'), 1), 'ok');
  await a.publishBytes('hustmq.local', Buffer.from('p0'), { acknowledge: true });
  t.like(await a.queues.stat('local'), { ready: [1, 1, 0] });
  t.is(Buffer.from((await a.queues.get('local'))?.value ?? '').toString(), 'p1');
  t.is((await h.req('/get?queue=local&worker=worker1')).text, 'p0');
  t.deepEqual(seen, ['p1', 'p0']);
  // streams through the same API
  const r = await a.streams.publish('lp', Payload.fromBytes(Buffer.from('s1')));
  t.is(r.idx, 1);
  t.is((await h.req('/sub?queue=lp&idx=1')).text, 's1');
});

test('MQTT: a publish on hustmq/Q enqueues (user property priori sets the priority); MQTT subscribers see HTTP puts', async (t) => {
  const h = await startHustmq(t, {}, { mqttPort: 0 });
  const mqttUrl = h.server.urls.mqtt as string;
  const base = h.base;
  const client = await mqtt.connectAsync(mqttUrl, { protocolVersion: 5, clientId: 'hustmq-cross' });
  t.teardown(() => client.endAsync());
  const got: string[] = [];
  client.on('message', (_topic, payload) => got.push(payload.toString()));
  await client.subscribeAsync('hustmq/mq', { qos: 1 });
  await client.publishAsync('hustmq/mq', 'low', { qos: 1 });
  await client.publishAsync('hustmq/mq', 'high', { qos: 1, properties: { userProperties: { priori: '2' } } });
  t.regex((await request(`${base}/stat?queue=mq`)).text, /"ready":\[1,0,1\]/);
  t.is((await request(`${base}/get?queue=mq&worker=worker1`)).text, 'high');
  t.is((await request(`${base}/get?queue=mq&worker=worker1`)).text, 'low');
  await request(`${base}/put?queue=mq&item=from-http`);
  const end = Date.now() + 2000;
  while (got.length < 3 && Date.now() < end) await sleep(10);
  t.deepEqual(got, ['low', 'high', 'from-http']);
  t.is((await request(`${base}/get?queue=mq&worker=worker1`)).text, 'from-http');
  t.is((await request(`${base}/get?queue=mq&worker=worker1`)).status, 404, 'each item queued once');
});

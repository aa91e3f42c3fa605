// hustdb bridge: the same keys seen and written from WAMP (autobahn) and MQTT (mqtt.js), one
// version counter; set and sorted-set writes are events.
import test from 'ava';
import { startHustdb } from '../../helpers/hustdb.ts';
import { collect, connect } from '../../helpers/mqtt-harness.ts';
import { connectAutobahn } from '../../helpers/wamp.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await sleep(10);
}

test('WAMP: sees HTTP puts as retained events, writes values HTTP reads back with bumped versions', async (t) => {
  const db = await startHustdb(t);
  const wamp = await connectAutobahn(t, db.server.urls);
  const seen: unknown[] = [];
  await wamp.subscribe('hustdb.kv.', (args) => void seen.push(args?.[0]), { match: 'prefix' } as object);
  await db.req('/put?key=j', { method: 'POST', body: '{"a":1}' });
  await until(() => seen.length === 1);
  t.deepEqual(seen, [{ a: 1 }]);
  await wamp.publish('hustdb.kv.w', ['v'], {}, { acknowledge: true, retain: true } as object);
  let r = await db.req('/get?key=w');
  t.is(r.text, 'v', 'a WAMP string reads back as its text');
  t.is(r.headers.get('Version'), '1');
  await wamp.publish('hustdb.kv.w', ['v2'], {}, { acknowledge: true, retain: true } as object);
  r = await db.req('/put?key=w&val=http');
  t.is(r.headers.get('Version'), '3', 'one version counter across protocols');
  // a key with dots and spaces is one URI component
  await db.req('/hset?tb=a.b&key=x%20y&val=1');
  const got: unknown[] = [];
  await wamp.subscribe('hustdb.hash.a%2Eb.x%20y', (args) => void got.push(args?.[0]), { get_retained: true } as object);
  await until(() => got.length === 1);
  t.deepEqual(got, [1]);
  await wamp.publish('hustdb.kv.w', [null], {}, { acknowledge: true, retain: true } as object);
  t.is((await db.req('/get?key=w')).status, 404, 'a WAMP null clears the key');
});

test('MQTT: hset seen under hustdb/hash/#; retained MQTT publishes read and deleted over HTTP', async (t) => {
  const db = await startHustdb(t);
  const mq = await connect(db.server.urls.mqttWs as string, { protocolVersion: 5 });
  t.teardown(() => mq.end(true));
  const c = collect(mq);
  await mq.subscribeAsync('hustdb/hash/#', { qos: 1 });
  await db.req('/hset?tb=users&key=alice&val=admin');
  const [m] = await c.waitFor(1);
  t.is(m!.topic, 'hustdb/hash/users/alice');
  t.is(m!.payload.toString(), 'admin');
  await mq.publishAsync('hustdb/kv/fromMqtt', Buffer.from([0, 1, 255]), { qos: 1, retain: true });
  let r = await db.req('/get?key=fromMqtt');
  t.deepEqual(r.bytes, Buffer.from([0, 1, 255]));
  t.is(r.headers.get('Version'), '1');
  await mq.publishAsync('hustdb/kv/fromMqtt', Buffer.from('next'), { qos: 1, retain: true });
  t.is((await db.req('/get?key=fromMqtt')).headers.get('Version'), '2');
  // MQTT 5 message expiry is the item's ttl
  const t0 = Date.now();
  await mq.publishAsync('hustdb/kv/exp', Buffer.from('e'), { qos: 1, retain: true, properties: { messageExpiryInterval: 2 } });
  // the expiry instant is set when the router handles the PUBLISH: after t0, before its PUBACK
  const acked = Date.now();
  const live = await db.req('/get?key=exp');
  if (Date.now() - t0 < 1500) t.is(live.status, 200, 'still there before its expiry');
  await sleep(Math.max(0, acked + 2100 - Date.now()));
  t.is((await db.req('/get?key=exp')).status, 404);
  await mq.publishAsync('hustdb/kv/fromMqtt', Buffer.alloc(0), { qos: 1, retain: true });
  r = await db.req('/get?key=fromMqtt');
  t.is(r.status, 404, 'an empty retained MQTT message deletes the key');
});

test('set and sorted-set writes are events with {op, member, score, version}', async (t) => {
  const db = await startHustdb(t);
  const wamp = await connectAutobahn(t, db.server.urls);
  const events: Record<string, unknown>[] = [];
  await wamp.subscribe('hustdb.zset.z', (_args, kwargs) => void events.push(kwargs as Record<string, unknown>));
  await wamp.subscribe('hustdb.set.s', (_args, kwargs) => void events.push(kwargs as Record<string, unknown>));
  await db.req('/zadd?tb=z&score=5&key=m');
  await db.req('/zadd?tb=z&score=2&opt=1&key=m');
  await db.req('/sadd?tb=s', { method: 'POST', body: 'member' });
  await db.req('/srem?tb=s', { method: 'POST', body: 'member' });
  await db.req('/zrem?tb=z&key=m');
  await until(() => events.length === 5);
  t.deepEqual(events, [
    { op: 'zadd', member: 'm', score: 5, version: 1 },
    { op: 'zadd', member: 'm', score: 7, version: 2 },
    { op: 'sadd', member: 'member', version: 1 },
    { op: 'srem', member: 'member', version: 1 },
    { op: 'zrem', member: 'm', score: 7, version: 2 },
  ]);
});

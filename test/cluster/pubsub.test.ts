// Pub/sub across two kitsune nodes on one Redis (child processes, preview opt-in): WAMP and MQTT
// clients on different nodes see one router for publications — patterns, audience options,
// disclosure, payloads byte for byte, per-publisher order — and a malformed message on the Redis
// channel is counted and dropped while the nodes carry on.
import test, { type ExecutionContext } from 'ava';
import type { MqttClient } from 'mqtt';
import type { ChildServer } from '../helpers/child-server.ts';
import { collect as collectWamp, openAutobahn, opts, type OpenSession } from '../helpers/autobahn.ts';
import { collect as collectMqtt, connect } from '../helpers/mqtt-harness.ts';
import { type RedisServer, startNode, startRedis } from '../helpers/redis.ts';
import { Payload } from '../../lib/core/payload.ts';
import { encodeEvent } from '../../lib/store/cluster-event.ts';
import { sleep, until } from '../helpers/wait.ts';

let redis: RedisServer;
let a: ChildServer;
let b: ChildServer;
const cleanups: (() => unknown)[] = [];
const fixture = { teardown: (fn: () => unknown) => void cleanups.push(fn) };

test.before(async () => {
  redis = await startRedis(fixture);
  [a, b] = await Promise.all([startNode(fixture, redis), startNode(fixture, redis)]);
});

test.after.always(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function mqttOn(t: ExecutionContext, node: ChildServer, options = {}): Promise<MqttClient> {
  const client = await connect(node.urls.mqtt!, options);
  t.teardown(() => client.endAsync());
  return client;
}

async function authidOf(session: OpenSession['session']): Promise<string> {
  return ((await session.call('wamp.session.get', [session.id])) as { authid: string }).authid;
}

async function metric(node: ChildServer, name: string): Promise<number> {
  const text = await (await fetch(`${node.urls.http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

test('WAMP: exact, prefix and wildcard subscribers on node B get what a publisher on node A publishes', async (t) => {
  const pub = await openAutobahn(t, a.urls);
  const sub = await openAutobahn(t, b.urls);
  const exact = await collectWamp(sub.session, 'x1.room.temp');
  const prefix = await collectWamp(sub.session, 'x1.room', { match: 'prefix' });
  const wildcard = await collectWamp(sub.session, 'x1..temp', { match: 'wildcard' });
  await pub.session.publish('x1.room.temp', [21.5, 'C'], { sensor: 'a' }, { acknowledge: true });
  await pub.session.publish('x1.hall.temp', [19], {}, { acknowledge: true });
  const [e] = await exact.waitFor(1, 10_000);
  t.deepEqual(e!.args, [21.5, 'C']);
  t.deepEqual(e!.kwargs, { sensor: 'a' });
  t.deepEqual((await prefix.waitFor(1, 10_000)).map((x) => x.details.topic), ['x1.room.temp']);
  const wild = await wildcard.waitFor(2, 10_000);
  t.deepEqual(wild.map((x) => x.details.topic).sort(), ['x1.hall.temp', 'x1.room.temp']);
  t.is(exact.items.length, 1);
});

test('MQTT: + and # filters on node B match topics published on node A; MQTT to WAMP across nodes', async (t) => {
  const pub = await mqttOn(t, a);
  const plus = await mqttOn(t, b);
  const hash = await mqttOn(t, b);
  const wamp = await openAutobahn(t, b.urls);
  const byPlus = collectMqtt(plus);
  const byHash = collectMqtt(hash);
  await plus.subscribeAsync('x2/+/temp');
  await hash.subscribeAsync('x2/#');
  const wampEvents = await collectWamp(wamp.session, 'x2.kitchen.temp');
  await pub.publishAsync('x2/kitchen/temp', '{"c":22}');
  await pub.publishAsync('x2/kitchen/light/level', 'dim');
  const viaHash = await byHash.waitFor(2, 10_000);
  t.deepEqual(viaHash.map((m) => [m.topic, m.payload.toString()]), [
    ['x2/kitchen/temp', '{"c":22}'],
    ['x2/kitchen/light/level', 'dim'],
  ]);
  t.deepEqual((await byPlus.waitFor(1, 10_000)).map((m) => [m.topic, m.payload.toString()]), [['x2/kitchen/temp', '{"c":22}']]);
  const [w] = await wampEvents.waitFor(1, 10_000);
  t.deepEqual(w!.args, [{ c: 22 }], 'JSON bytes from MQTT become one positional arg on WAMP');
  t.is(byPlus.messages.length, 1);
});

test('binary payloads cross nodes byte for byte (MQTT to MQTT, MQTT to WAMP msgpack)', async (t) => {
  const pub = await mqttOn(t, a);
  const sub = await mqttOn(t, b);
  const wamp = await openAutobahn(t, b.urls, { serializer: 'msgpack' });
  const got = collectMqtt(sub);
  await sub.subscribeAsync('x3/bin');
  const events = await collectWamp(wamp.session, 'x3.bin');
  const bytes = Buffer.from([0, 255, 1, 254, 0x80, 0xc0, 0xff, 0xfe, 10, 0]);
  await pub.publishAsync('x3/bin', bytes, { qos: 1 });
  const [m] = await got.waitFor(1, 10_000);
  t.true(Buffer.compare(m!.payload, bytes) === 0);
  const [e] = await events.waitFor(1, 10_000);
  t.true(Buffer.compare(Buffer.from(e!.args[0] as Uint8Array), bytes) === 0);
});

test('MQTT retain flag: a live retained publication crosses with retain-as-published honoured', async (t) => {
  const pub = await mqttOn(t, a, { protocolVersion: 5 });
  const sub = await mqttOn(t, b, { protocolVersion: 5 });
  const got = collectMqtt(sub);
  await sub.subscribeAsync('x4/rap', { qos: 0, rap: true });
  await sub.subscribeAsync('x4/plain', { qos: 0 });
  await pub.publishAsync('x4/rap', 'on', { retain: true });
  await pub.publishAsync('x4/plain', 'on', { retain: true });
  const msgs = await got.waitFor(2, 10_000);
  t.deepEqual(msgs.map((m) => [m.topic, m.retain]).sort(), [
    ['x4/plain', false],
    ['x4/rap', true],
  ]);
});

test('exclude, eligible (session id, authid, authrole), exclude_me and publisher disclosure across nodes', async (t) => {
  const pub = await openAutobahn(t, a.urls);
  const mine = await collectWamp(pub.session, 'x5.t');
  const subs: OpenSession[] = [await openAutobahn(t, b.urls), await openAutobahn(t, b.urls), await openAutobahn(t, a.urls)];
  const seen = await Promise.all(subs.map((s) => collectWamp(s.session, 'x5.t')));
  const [s0, s1, s2] = subs.map((s) => s.session);
  const s0Authid = await authidOf(s0!);
  const send = (n: number, options: Record<string, unknown>): PromiseLike<unknown> => pub.session.publish('x5.t', [n], {}, opts({ acknowledge: true, ...options }));
  await send(1, { exclude: [s0!.id] });
  await send(2, { eligible: [s1!.id, s2!.id] });
  await send(3, { eligible_authid: [s0Authid] });
  await send(4, { exclude_authrole: ['anonymous'] });
  await send(5, { exclude_me: false, disclose_me: true });
  await seen[0]!.waitFor(2, 10_000);
  await seen[1]!.waitFor(3, 10_000);
  await seen[2]!.waitFor(3, 10_000);
  await mine.waitFor(1, 10_000);
  await sleep(300);
  const numbers = (c: (typeof seen)[number]): unknown[] => c.items.map((i) => i.args[0]);
  t.deepEqual(numbers(seen[0]!), [3, 5]);
  t.deepEqual(numbers(seen[1]!), [1, 2, 5]);
  t.deepEqual(numbers(seen[2]!), [1, 2, 5]);
  t.deepEqual(numbers(mine), [5], 'exclude_me: false brings the publisher its own event');
  const last = seen[1]!.items.at(-1)!.details;
  t.is(last.publisher, pub.session.id, 'disclosed across nodes');
  t.is(last.publisher_authid, await authidOf(pub.session));
  t.is(seen[1]!.items[0]!.details.publisher, undefined, 'not disclosed unless asked');
});

test('session ids are claimed cluster-wide: sessions on both nodes have distinct ids recorded in Redis', async (t) => {
  const sessions = await Promise.all([a, b, a, b].map((n) => openAutobahn(t, n.urls)));
  const ids = sessions.map((s) => s.session.id);
  t.is(new Set(ids).size, ids.length);
  const raw = redis.client();
  for (const id of ids) t.truthy(await raw.get(`kitsune:{cluster}:session:${id}`), `session ${id} is claimed`);
  sessions[0]!.connection.close();
  await sessions[0]!.closed;
  const gone = sessions[0]!.session.id;
  let released = false;
  for (let i = 0; i < 100 && !released; i++) {
    released = (await raw.get(`kitsune:{cluster}:session:${gone}`)) === null;
    if (!released) await sleep(50);
  }
  t.true(released, 'a session that ends gives its id back');
});

test('1000 publications from one publisher on node A arrive in order on node B (WAMP and MQTT subscribers)', async (t) => {
  const pub = await mqttOn(t, a);
  const sub = await mqttOn(t, b);
  const wamp = await openAutobahn(t, b.urls);
  const got = collectMqtt(sub);
  await sub.subscribeAsync('x6/seq');
  const events = await collectWamp(wamp.session, 'x6.seq');
  const lostBefore = await metric(b, 'kitsune_cluster_events_lost_total');
  for (let i = 0; i < 1000; i++) void pub.publish('x6/seq', String(i));
  const msgs = await got.waitFor(1000, 30_000);
  t.deepEqual(
    msgs.map((m) => Number(m.payload.toString())),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  const ev = await events.waitFor(1000, 30_000);
  t.deepEqual(
    ev.map((e) => e.args[0]),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  t.is(await metric(b, 'kitsune_cluster_events_lost_total'), lostBefore, 'nothing lost');
});

test('a malformed message on the realm channel is counted, logged and dropped; both nodes keep routing', async (t) => {
  const raw = redis.client();
  const channel = 'kitsune:{realm1}:events';
  const before = await metric(b, 'kitsune_cluster_messages_malformed_total');
  await raw.publish(channel, Buffer.from('not messagepack \u00c1\u00c1'));
  await raw.publish(channel, Buffer.from([0x81, 0xa1, 0x76, 0x63])); // {v: 99}: another version
  await raw.publish(channel, Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff])); // an array claiming 4G items
  await until(() => b.stderr().includes('cluster.message.malformed'), 10_000, 'the malformed-message log line');
  let after = before;
  for (let i = 0; i < 100 && after < before + 3; i++) {
    after = await metric(b, 'kitsune_cluster_messages_malformed_total');
    if (after < before + 3) await sleep(50);
  }
  t.is(after, before + 3);
  t.true((await metric(a, 'kitsune_cluster_messages_malformed_total')) >= 3, 'every node counts what it received');
  const pub = await openAutobahn(t, a.urls);
  const sub = await openAutobahn(t, b.urls);
  const events = await collectWamp(sub.session, 'x7.after');
  await pub.session.publish('x7.after', ['still here'], {}, { acknowledge: true });
  t.deepEqual((await events.waitFor(1, 10_000))[0]!.args, ['still here']);
  t.is((await fetch(`${b.urls.http}/healthz`)).status, 200);
});

// Serial, so it runs before the others: they check that nothing is lost while they run.
test.serial('a gap in a node sequence is counted as lost publications; a well-formed event of any node is delivered', async (t) => {
  const sub = await openAutobahn(t, b.urls);
  const events = await collectWamp(sub.session, 'x8.gap');
  const before = await metric(b, 'kitsune_cluster_events_lost_total');
  const raw = redis.client();
  const event = (seq: number): Buffer => {
    const publication = { id: seq, topic: ['x8', 'gap'], payload: Payload.fromArgs([seq]), qos: 0 as const, retain: false, frames: new Map() };
    return Buffer.from(encodeEvent('nfake', seq, publication, {}));
  };
  await raw.publish('kitsune:{realm1}:events', event(1));
  await raw.publish('kitsune:{realm1}:events', event(5));
  await raw.publish('kitsune:{realm1}:events', event(6));
  const got = await events.waitFor(3, 10_000);
  t.deepEqual(got.map((e) => e.args[0]), [1, 5, 6]);
  t.is((await metric(b, 'kitsune_cluster_events_lost_total')) - before, 3, 'sequence 2, 3 and 4 never arrived');
});

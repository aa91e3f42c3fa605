// What one client must not be able to do to others: kill the router's own sessions, break a fan-out
// with an undeliverable payload, force another's lock without the right, take over another
// identity's procedure, pose as a configured principal, or see meta events through a '#' wildcard.
import test from 'ava';
import mqtt from 'mqtt';
import { createRouter, openRealm, type RealmConfig } from '../lib/index.ts';
import { startTestServer } from './helpers/server.ts';
import { connectAutobahn } from './helpers/wamp.ts';

async function rejection(p: PromiseLike<unknown> | undefined): Promise<{ error?: string; uri?: string }> {
  return Promise.resolve(p).then(
    () => ({ error: 'resolved' }),
    (e: unknown) => e as { error?: string },
  );
}

test('a remote client cannot kill the router\'s in-process sessions (bridges)', async (t) => {
  // anonymous may call everything here, the kill procedures included (the default realm forbids them)
  const everything = { uri: '', match: 'prefix' as const, allow: { publish: true, subscribe: true, call: true, register: true } };
  const server = await startTestServer(t, { realms: [{ name: 'realm1', roles: [{ name: 'anonymous', permissions: [everything] }], auth: { anonymous: { role: 'anonymous' } } }] });
  const remote = await connectAutobahn(t, server.urls);
  const before = server.router.realm('realm1').sessions.size;
  const killed = (await remote.call('wamp.session.kill_all')) as number[];
  t.deepEqual(killed, [], 'nothing else remote to kill; in-process sessions are skipped');
  t.is(server.router.realm('realm1').sessions.size, before);
  const bridge = [...server.router.realm('realm1').sessions.values()].find((s) => s.protocol === 'http');
  t.truthy(bridge, 'the bridges have sessions');
  const err = await rejection(remote.call('wamp.session.kill', [bridge!.id]));
  t.is(err.error, 'wamp.error.not_authorized');
});

test('an event one subscriber cannot take does not stop the fan-out or fail the publisher', async (t) => {
  const server = await startTestServer(t, {}, { mqttPort: 0 });
  const a = await connectAutobahn(t, server.urls);
  const b = await connectAutobahn(t, server.urls, { serializer: 'msgpack' });
  const got: string[] = [];
  await a.subscribe('deep.t', () => void got.push('a'));
  await b.subscribe('deep.t', () => void got.push('b'));
  const pub = await mqtt.connectAsync(server.urls.mqtt!, { reconnectPeriod: 0 });
  t.teardown(() => pub.end(true));
  // Valid JSON nested deeper than the WAMP serializers accept.
  const deep = '['.repeat(200) + ']'.repeat(200);
  await pub.publishAsync('deep/t', deep, { qos: 1 });
  await pub.publishAsync('deep/t', '42', { qos: 1 });
  await new Promise((r) => setTimeout(r, 100));
  t.deepEqual(got.sort(), ['a', 'b'], 'both still get the next event');
  t.true(server.router.stats.droppedEvents >= 2, 'the undeliverable one was counted');
});

test('force needs the role permission', async (t) => {
  const realm: RealmConfig = {
    name: 'realm1',
    roles: [
      { name: 'user', permissions: [{ uri: '', match: 'prefix', allow: { publish: true, subscribe: true, call: true, register: true } }] },
    ],
    auth: { anonymous: { role: 'user' } },
  };
  const router = createRouter({ realms: [realm] });
  const holder = router.connect('realm1', { authrole: 'user' });
  const other = router.connect('realm1', { authrole: 'user' });
  await holder.lock('res.f');
  const err = await rejection(other.publish('res.f', [null], undefined, { acknowledge: true, retain: true, force: true }));
  t.is((err as { uri?: string }).uri, 'wamp.error.not_authorized');
  const admin = router.connect('realm1'); // trusted
  await admin.publish('res.f', [null], undefined, { acknowledge: true, retain: true, force: true });
  t.pass();
});

test('force_reregister takes over only a registration of the same identity', async (t) => {
  const router = createRouter({ realms: [openRealm('realm1')] });
  const owner = router.connect('realm1', { authid: 'svc' });
  const intruder = router.connect('realm1', { authid: 'someone-else' });
  const again = router.connect('realm1', { authid: 'svc' });
  await owner.register('svc.proc', () => 'owner');
  const err = await rejection(intruder.register('svc.proc', () => 'intruder', { force_reregister: true }));
  t.is((err as { uri?: string }).uri, 'wamp.error.procedure_already_exists');
  await again.register('svc.proc', () => 'again', { force_reregister: true });
  t.deepEqual((await intruder.call('svc.proc')).args, ['again']);
});

test('an anonymous client cannot take the authid of a configured principal', async (t) => {
  const realm: RealmConfig = { ...openRealm('realm1'), auth: { anonymous: { role: 'anonymous' }, ticket: { alice: { ticket: 's', role: 'anonymous' } } } };
  const server = await startTestServer(t, { realms: [realm] });
  const a = await connectAutobahn(t, server.urls, { authid: 'alice', authmethods: ['anonymous'] });
  const me = (await a.call('wamp.session.get', [a.id])) as { authid: string };
  t.not(me.authid, 'alice');
  const b = await connectAutobahn(t, server.urls, { authid: 'free-name', authmethods: ['anonymous'] });
  t.is(((await b.call('wamp.session.get', [b.id])) as { authid: string }).authid, 'free-name');
});

test("an MQTT '#' subscriber does not receive the router's wamp.* meta events", async (t) => {
  const server = await startTestServer(t, {}, { mqttPort: 0 });
  const sub = await mqtt.connectAsync(server.urls.mqtt!, { reconnectPeriod: 0 });
  t.teardown(() => sub.end(true));
  const topics: string[] = [];
  sub.on('message', (topic) => topics.push(topic));
  await sub.subscribeAsync('#');
  const w = await connectAutobahn(t, server.urls);
  await w.publish('plain.topic', [1], {}, { acknowledge: true });
  await new Promise((r) => setTimeout(r, 100));
  t.deepEqual(topics, ['plain/topic']);
});

test('a call timeout beyond what a timer can hold is refused, not fired at once', async (t) => {
  const router = createRouter({ realms: [openRealm('realm1')] });
  const c = router.connect('realm1');
  await c.register('slow.p', () => new Promise((r) => setTimeout(() => r('ok'), 20)));
  const err = await rejection(c.call('slow.p', [], undefined, { timeout: 2 ** 31 }));
  t.is((err as { uri?: string }).uri, 'wamp.error.invalid_argument');
  t.deepEqual((await c.call('slow.p', [], undefined, { timeout: 2 ** 31 - 1 })).args, ['ok']);
});

test('a WebSocket peer that stops answering pings is dropped, so its session ends and its lock is released', async (t) => {
  const { createServer } = await import('node:http');
  const { WebSocket } = await import('ws');
  const { createWampWebSocketServer } = await import('../lib/wamp/websocket.ts');
  const { createWampGate } = await import('../lib/wamp/gate.ts');
  const { silentLogger } = await import('../lib/core/log.ts');
  const router = createRouter({ realms: [openRealm('realm1')] });
  const wss = createWampWebSocketServer(createWampGate(router, silentLogger), { maxMessageBytes: 1 << 20, keepaliveMs: 100 });
  const http = createServer();
  http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    wss.close();
    http.close();
  });
  const port = (http.address() as import('node:net').AddressInfo).port;
  // autoPong off: the client is alive at the TCP level but never answers pings (half-open stand-in).
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ['wamp.2.json'], { autoPong: false } as object);
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify([1, 'realm1', { roles: { publisher: {} } }]));
  await new Promise((r) => ws.once('message', r));
  ws.send(JSON.stringify([16, 1, { acknowledge: true, retain: true, when: null, will: null }, 'res.k', [{ who: 'silent' }]]));
  await new Promise((r) => ws.once('message', r));
  const waiter = router.connect('realm1');
  const closed = new Promise((r) => ws.once('close', r));
  const release = await waiter.lock('res.k');
  await closed;
  t.is(router.realm('realm1').sessions.size, 1, 'only the waiter is left');
  await release();
});

test('an MQTT client id can be taken over only by the same identity', async (t) => {
  const realm: RealmConfig = { ...openRealm('realm1'), auth: { anonymous: { role: 'anonymous' }, ticket: { alice: { ticket: 'pw', role: 'anonymous' } } } };
  const server = await startTestServer(t, { realms: [realm] }, { mqttPort: 0 });
  const owner = await mqtt.connectAsync(server.urls.mqtt!, { clientId: 'dev-1', username: 'alice', password: 'pw', clean: false, reconnectPeriod: 0 });
  t.teardown(() => owner.end(true));
  await owner.subscribeAsync('a/b', { qos: 1 });
  const intruder = mqtt.connect(server.urls.mqtt!, { clientId: 'dev-1', clean: false, reconnectPeriod: 0 });
  t.teardown(() => intruder.end(true));
  const err = await new Promise<{ code?: number }>((resolve) => intruder.once('error', (e) => resolve(e as { code?: number })));
  t.is(err.code, 5, 'CONNACK not authorized');
  t.true(owner.connected, "the owner's connection is untouched");
  const got = new Promise<string>((r) => owner.once('message', (_topic, payload) => r(payload.toString())));
  const pub = await mqtt.connectAsync(server.urls.mqtt!, { reconnectPeriod: 0 });
  t.teardown(() => pub.end(true));
  await pub.publishAsync('a/b', 'still here', { qos: 1 });
  t.is(await got, 'still here');
  // The same identity may take it over.
  const again = await mqtt.connectAsync(server.urls.mqtt!, { clientId: 'dev-1', username: 'alice', password: 'pw', clean: false, reconnectPeriod: 0 });
  t.teardown(() => again.end(true));
  t.true(again.connected);
});

test('one session cannot park more conditional writes than its limit', async (t) => {
  const router = createRouter({ realms: [openRealm('realm1')], limits: { maxParkedWritesPerSession: 3 } });
  const holder = router.connect('realm1');
  const waiter = router.connect('realm1');
  await holder.lock('res.p');
  const parked = [0, 1, 2].map(() => waiter.lock('res.p').then((release) => release()));
  const err = await rejection(waiter.lock('res.p'));
  t.is((err as { uri?: string }).uri, 'kitsune.error.limit_exceeded');
  // The parked ones are still served, one after another, once the holder leaves.
  holder.close();
  await Promise.all(parked);
  const release = await waiter.lock('res.p', { wait: false });
  await release();
});

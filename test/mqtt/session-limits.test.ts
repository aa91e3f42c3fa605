// Resource limits on state a client leaves behind: persistent sessions per realm (v5 CONNACK 0x97,
// 3.1.1 CONNACK 0x03), a finite expiry for 3.1.1 persistent sessions whose expired records are
// deleted from the store (by their timers and by the sweep), queued bytes per session (oldest
// dropped, counted and logged), retained topics per realm (v5 PUBACK 0x97, 3.1.1 closed, WAMP
// wamp.error.limit_exceeded). Each limit is checked at and past its value.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { IConnackPacket, IPubackPacket } from 'mqtt-packet';
import type { Store } from '../../lib/core/store.ts';
import { createRouter, openRealm, type RouterConfig } from '../../lib/index.ts';
import { createMqttGate, type MqttGate, type MqttGateOptions } from '../../lib/mqtt/index.ts';
import { openStore } from '../../lib/store/open.ts';
import { assertHealthy, collect, connect, connectRaw, RawClient, sleep, startKitsune, uniqueId } from '../helpers/mqtt-harness.ts';

/** A router + gate on `store`; stop() closes them (not the store). */
async function gateOn(store: Store, limits: RouterConfig['limits'], options: MqttGateOptions) {
  const router = createRouter({ realms: [openRealm('realm1')], limits }, { store });
  await router.open();
  const gate = createMqttGate(router, options);
  await gate.ready;
  const server = net.createServer((s) => gate.handleSocket(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await gate.close();
    router.close();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { router, gate, port, url: `mqtt://127.0.0.1:${port}`, stop };
}

/** Opens a persistent session and drops the connection (an abandoned session); resolves to the CONNACK. */
async function abandon(port: number, version: 4 | 5, clientId = uniqueId('gone')): Promise<IConnackPacket> {
  const c = await RawClient.open(port, version);
  const props = version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {};
  c.send({ cmd: 'connect', protocolVersion: version, protocolId: 'MQTT', clientId, clean: false, keepalive: 0, ...props } as never, version);
  const connack = (await c.next('connack')) as IConnackPacket;
  c.close();
  await c.closed;
  return connack;
}

async function waitUntil(pred: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await pred()) return true;
    await sleep(50);
  }
  return pred();
}

test('persistent sessions per realm: at the limit accepted, past it v5 CONNACK 0x97 and 3.1.1 0x03; resuming and clean sessions still work', async (t) => {
  const k = await startKitsune({ limits: { maxPersistentSessionsPerRealm: 3 } });
  t.teardown(() => k.stop());
  const kept = uniqueId('kept');
  t.is((await abandon(k.port, 4, kept)).returnCode, 0);
  t.is((await abandon(k.port, 5)).reasonCode, 0);
  t.is((await abandon(k.port, 4)).returnCode, 0, 'the third is at the limit');
  const before = k.router.stats.limitRefusals;
  t.is((await abandon(k.port, 4)).returnCode, 0x03, '3.1.1: server unavailable');
  t.is((await abandon(k.port, 5)).reasonCode, 0x97, 'v5: quota exceeded');
  t.is(k.router.stats.limitRefusals, before + 2);
  t.is(k.gate.stats.refusedPersistentSessions, 2);
  const resumed = await abandon(k.port, 4, kept);
  t.is(resumed.returnCode, 0, 'an existing persistent session resumes');
  t.true(resumed.sessionPresent);
  await assertHealthy(k.url); // clean sessions are not limited by it
});

test('thousands of abandoned 3.1.1 persistent sessions (SQLite): refused past the limit; once expired, deleted from the store', async (t) => {
  t.timeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-limits-'));
  const store = await openStore({ dataDir: dir });
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const limit = 1_000;
  const a = await gateOn(store, { maxPersistentSessionsPerRealm: limit }, {});
  t.teardown(a.stop);
  const rssBefore = process.memoryUsage().rss;
  const codes: number[] = [];
  for (let i = 0; i < 1_200; i += 100) {
    const batch = await Promise.all(Array.from({ length: 100 }, () => abandon(a.port, 4)));
    for (const c of batch) codes.push(c.returnCode ?? -1);
  }
  t.is(codes.filter((c) => c === 0).length, limit);
  t.is(codes.filter((c) => c === 0x03).length, 200, 'past the limit: CONNACK 0x03');
  t.is(a.gate.sessions.size, limit);
  t.is(a.router.stats.limitRefusals, 200);
  t.log(`RSS +${((process.memoryUsage().rss - rssBefore) / 2 ** 20).toFixed(1)} MiB for ${limit} abandoned sessions (whole test process)`);
  await a.stop();
  t.is((await store.listMqttSessions('realm1')).length, limit, 'stored for the next start');

  // The next start with a 1 s expiry for 3.1.1 sessions: they are all past it and deleted.
  await sleep(1_100);
  const b = await gateOn(store, { maxPersistentSessionsPerRealm: limit }, { v3SessionExpiry: 1 });
  t.teardown(b.stop);
  t.is(b.gate.sessions.size, 0);
  t.true(await waitUntil(async () => (await store.listMqttSessions('realm1')).length === 0, 30_000), 'store rows deleted');
  t.is((await abandon(b.port, 4)).returnCode, 0, 'room again');
  await assertHealthy(b.url);
});

test('3.1.1 persistent sessions end on their expiry timer and leave the store (memory store)', async (t) => {
  const store = (await openStore({ memory: true })) as Store;
  const k = await gateOn(store, {}, { v3SessionExpiry: 3 });
  t.teardown(k.stop);
  t.is((await abandon(k.port, 4)).returnCode, 0);
  t.is((await store.listMqttSessions('realm1')).length, 1, 'stored while within its expiry');
  for (let i = 0; i < 50; i++) t.is((await abandon(k.port, 4)).returnCode, 0);
  t.true(await waitUntil(() => k.gate.sessions.size === 0, 20_000), 'sessions ended');
  t.true(await waitUntil(async () => (await store.listMqttSessions('realm1')).length === 0, 10_000), 'store rows deleted');
});

test('the sweep deletes expired stored sessions that no live session stands for (memory store)', async (t) => {
  const store = (await openStore({ memory: true })) as Store;
  const router = createRouter({ realms: [openRealm('realm1')] }, { store });
  await router.open();
  const gate: MqttGate = createMqttGate(router, { sessionSweepMs: 1_000 });
  await gate.ready;
  t.teardown(async () => {
    await gate.close();
    router.close();
  });
  // Records left behind (e.g. a session that could not be restored): one expired 3.1.1 session
  // (stored as never expiring by an older version), one v5 session still within its interval.
  const long = Date.now() - 8 * 24 * 3600 * 1000;
  await store.saveMqttSession('realm1', 'ghost-v3', { subscriptions: [], expiryInterval: 0xffffffff, protocolVersion: 4, disconnectedAt: long });
  await store.saveMqttSession('realm1', 'alive-v5', { subscriptions: [], expiryInterval: 3600, protocolVersion: 5, disconnectedAt: Date.now() });
  t.true(await waitUntil(async () => (await store.listMqttSessions('realm1')).every((s) => s.clientId !== 'ghost-v3'), 10_000));
  t.deepEqual((await store.listMqttSessions('realm1')).map((s) => s.clientId), ['alive-v5']);
});

test('queued bytes per session: past maxQueuedBytes the oldest QoS 1 messages go, counted and logged; the newest arrive', async (t) => {
  const k = await startKitsune({}, { maxQueuedBytes: 1_000 });
  t.teardown(() => k.stop());
  const clientId = uniqueId('bytes');
  const topic = `bytes/${clientId}`;
  const sub = await connect(k.url, { clientId, clean: false, protocolVersion: 4 });
  await sub.subscribeAsync(topic, { qos: 1 });
  await sub.endAsync();
  const pub = await connect(k.url);
  // Each message is charged 300 + topic + 64 bytes: two fit in 1,000, the third pushes one out.
  for (let i = 0; i < 6; i++) await pub.publishAsync(topic, `${i}`.padEnd(300, '.'), { qos: 1 });
  await pub.endAsync();
  const session = k.gate.sessions.get('realm1', clientId);
  t.true((session?.queuedBytes ?? Infinity) <= 1_000);
  t.is(k.router.stats.droppedQueued, 4);
  t.true(k.logs.some((l) => l.level === 'warn' && l.msg.includes('queue full')), 'the drop is logged');
  const { client: back } = connectRaw(k.url, { clientId, clean: false, protocolVersion: 4 });
  const got = collect(back);
  await got.waitFor(2);
  await sleep(100);
  t.deepEqual(got.messages.map((m) => m.payload.toString()[0]), ['4', '5']);
  await back.endAsync();
});

test('a message larger than maxQueuedBytes is still queued alone (one message always fits)', async (t) => {
  const k = await startKitsune({}, { maxQueuedBytes: 100 });
  t.teardown(() => k.stop());
  const clientId = uniqueId('big');
  const topic = `big/${clientId}`;
  const sub = await connect(k.url, { clientId, clean: false, protocolVersion: 4 });
  await sub.subscribeAsync(topic, { qos: 1 });
  await sub.endAsync();
  const pub = await connect(k.url);
  await pub.publishAsync(topic, 'x'.repeat(500), { qos: 1 });
  await pub.endAsync();
  t.is(k.gate.sessions.get('realm1', clientId)?.queued, 1);
  const { client: back } = connectRaw(k.url, { clientId, clean: false, protocolVersion: 4 });
  const got = collect(back);
  await got.waitFor(1);
  await back.endAsync();
  t.pass();
});

test('retained topics per realm: at the limit accepted, past it v5 PUBACK 0x97, 3.1.1 closed unacknowledged, WAMP limit_exceeded; overwrite and delete still work', async (t) => {
  const k = await startKitsune({ limits: { maxRetainedPerRealm: 2 } });
  t.teardown(() => k.stop());
  const base = uniqueId('ret');
  const pub = await connect(k.url, { protocolVersion: 5 });
  await pub.publishAsync(`${base}/a`, 'a', { qos: 1, retain: true });
  await pub.publishAsync(`${base}/b`, 'b', { qos: 1, retain: true });
  const before = k.router.stats.limitRefusals;

  const v5 = await RawClient.connected(k.port, 5);
  v5.send({ cmd: 'publish', topic: `${base}/c`, payload: Buffer.from('c'), qos: 1, messageId: 1, retain: true, dup: false });
  t.is(((await v5.next('puback')) as IPubackPacket).reasonCode, 0x97);
  v5.close();

  const v3 = await RawClient.connected(k.port, 4);
  v3.send({ cmd: 'publish', topic: `${base}/c`, payload: Buffer.from('c'), qos: 1, messageId: 1, retain: true, dup: false }, 4);
  await v3.waitClosed();
  t.false(v3.packets.some((p) => p.cmd === 'puback'));

  const wamp = k.router.connect('realm1');
  await t.throwsAsync(wamp.publish(`${base}.c`, ['c'], undefined, { acknowledge: true, retain: true }), { message: /retained topics/ });
  t.is(k.router.stats.limitRefusals, before + 3);

  await pub.publishAsync(`${base}/a`, 'a2', { qos: 1, retain: true }); // overwrite: no new key
  await pub.publishAsync(`${base}/b`, '', { qos: 1, retain: true }); // delete makes room
  await pub.publishAsync(`${base}/c`, 'c', { qos: 1, retain: true });
  t.is(k.router.realms.get('realm1')?.retention.tree.size, 2);
  wamp.close();
  await pub.endAsync();
});

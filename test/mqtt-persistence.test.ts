// Persistent MQTT sessions in the store: subscriptions, the offline QoS 1/2 queue, outbound
// in-flight state and inbound QoS 2 ids survive a router restart (in-process close + start on the
// same SQLite data directory, and kill -9 of a child server); session expiry is honoured across
// restarts; a publish is acknowledged only once the messages it queued are committed.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { IConnackPacket, IPublishPacket, IPubrelPacket, IPubcompPacket } from 'mqtt-packet';
import { silentLogger } from '../lib/core/log.ts';
import type { Store } from '../lib/core/store.ts';
import { createRouter, openRealm, type RouterConfig } from '../lib/index.ts';
import { createMqttGate } from '../lib/mqtt/index.ts';
import { defaultConfig } from '../server/config.ts';
import { type RunningServer, startServer } from '../server/server.ts';
import { openStore } from '../lib/store/open.ts';
import { startChildServer } from './helpers/child-server.ts';
import { collect, connect, connectRaw, RawClient, sleep, uniqueId } from './helpers/mqtt-harness.ts';
import { connectAutobahn } from './helpers/wamp.ts';

function dataDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-mqttp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The real server, in-process, on ephemeral ports and SQLite in `dir`. */
async function start(t: ExecutionContext, dir: string, router?: Partial<RouterConfig>): Promise<RunningServer> {
  const base = defaultConfig();
  const server = await startServer({ ...base, port: 0, mqttPort: 0, dataDir: dir, memory: false, router: { ...base.router, ...router } }, silentLogger);
  t.teardown(() => server.close());
  return server;
}

function portOf(urls: Record<string, string>): number {
  return Number(new URL(urls.mqtt as string).port);
}

/** A raw 3.1.1 / 5 client connect; resolves with the client and its CONNACK (refusals included). */
async function rawConnect(port: number, version: 4 | 5, connect: Record<string, unknown>): Promise<{ raw: RawClient; connack: IConnackPacket }> {
  const raw = await RawClient.open(port, version);
  raw.send({ cmd: 'connect', protocolVersion: version, protocolId: 'MQTT', clean: false, keepalive: 0, clientId: uniqueId('raw'), ...connect } as never, version);
  const connack = (await raw.next('connack', 20_000)) as IConnackPacket;
  return { raw, connack };
}

test('3.1.1 clean:false session across an in-process restart: queued QoS 1/2 from MQTT and WAMP, subscription live again', async (t) => {
  t.timeout(60_000);
  const dir = dataDir(t);
  const a = await start(t, dir);
  const clientId = uniqueId('persist');
  const sub = await connect(a.urls.mqtt as string, { clientId, clean: false, protocolVersion: 4 });
  await sub.subscribeAsync('persist/q1/#', { qos: 1 });
  await sub.subscribeAsync('persist/q2/#', { qos: 2 });
  await sub.endAsync();

  const pub = await connect(a.urls.mqtt as string, { protocolVersion: 4 });
  const binary = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x80]);
  await pub.publishAsync('persist/q1/a', 'one', { qos: 1 });
  await pub.publishAsync('persist/q2/b', 'two', { qos: 2 });
  await pub.publishAsync('persist/q1/c', binary, { qos: 1 });
  await pub.publishAsync('persist/q1/d', 'zero is not queued', { qos: 0 });
  const wamp = await connectAutobahn(t, a.urls);
  await wamp.publish('persist.q1.w', ['from wamp'], {}, { acknowledge: true });
  await wamp.publish('persist.q2.w', [], { k: 'v' }, { acknowledge: true });
  await pub.endAsync();
  await a.close();

  const b = await start(t, dir);
  // Restored before the client is back: it keeps receiving into its queue.
  const wamp2 = await connectAutobahn(t, b.urls);
  await wamp2.publish('persist.q2.after', ['after restart'], {}, { acknowledge: true });
  const { client: back, connack } = connectRaw(b.urls.mqtt as string, { clientId, clean: false, protocolVersion: 4 });
  const got = collect(back);
  t.true((await connack).sessionPresent, 'session present after the restart');
  const msgs = await got.waitFor(6);
  // mqtt.js hands a QoS 2 message over on PUBREL, a round trip later than QoS 1: compare the
  // order within each QoS.
  const byQos = (qos: number) => msgs.filter((m) => m.qos === qos).map((m) => [m.topic, m.qos, m.payload.toString('hex')]);
  t.deepEqual(
    [...byQos(1), ...byQos(2)],
    [
      ['persist/q1/a', 1, Buffer.from('one').toString('hex')],
      ['persist/q1/c', 1, binary.toString('hex')],
      ['persist/q1/w', 1, Buffer.from('from wamp').toString('hex')],
      ['persist/q2/b', 2, Buffer.from('two').toString('hex')],
      ['persist/q2/w', 2, Buffer.from('{"k":"v"}').toString('hex')],
      ['persist/q2/after', 2, Buffer.from('after restart').toString('hex')],
    ],
  );
  // The subscriptions work for new messages too.
  const pub2 = await connect(b.urls.mqtt as string);
  await pub2.publishAsync('persist/q1/new', 'live', { qos: 1 });
  const all = await got.waitFor(7);
  t.is(all[6]?.payload.toString(), 'live');
  await sleep(100);
  t.is(got.messages.length, 7, 'nothing twice');
  await back.endAsync();
  await pub2.endAsync();
});

test('kill -9: every QoS 1 message acknowledged to the publisher reaches the persistent subscriber after a restart', async (t) => {
  t.timeout(60_000);
  const dir = dataDir(t);
  const args = ['--port', '0', '--mqtt-port', '0', '--data-dir', dir];
  const first = await startChildServer(t, args);
  const clientId = uniqueId('kill');
  const sub = await connect(first.urls.mqtt as string, { clientId, clean: false, protocolVersion: 4 });
  await sub.subscribeAsync('kill/#', { qos: 1 });
  await sub.endAsync();

  // A QoS 2 message published by WAMP before the kill, also acknowledged.
  const wamp = await connectAutobahn(t, first.urls);
  await wamp.publish('kill.wamp', ['w'], {}, { acknowledge: true });
  const pub = await connect(first.urls.mqtt as string, { protocolVersion: 4 });
  pub.on('error', () => {});
  const acked = new Set<number>();
  let sent = 0;
  let stop = false;
  // Below the per-session queue bound (10,000 by default), past which the oldest are dropped.
  const MAX = 9000;
  const publishers = Array.from({ length: 16 }, async () => {
    while (!stop && sent < MAX) {
      const n = sent++;
      try {
        await pub.publishAsync(`kill/m`, String(n), { qos: 1 });
        if (!stop) acked.add(n);
      } catch {
        return;
      }
    }
  });
  await sleep(200 + Math.random() * 400);
  first.child.kill('SIGKILL');
  stop = true;
  t.is(await first.exited, 'SIGKILL');
  await Promise.race([Promise.all(publishers), sleep(2000)]);
  pub.end(true);
  t.true(acked.size > 50, `enough publishes were acknowledged before the kill (${acked.size})`);

  const second = await startChildServer(t, args);
  const { client: back, connack } = connectRaw(second.urls.mqtt as string, { clientId, clean: false, protocolVersion: 4 });
  const got = collect(back);
  t.true((await connack).sessionPresent);
  const deadline = Date.now() + 15_000;
  const seen = (): Set<string> => new Set(got.messages.map((m) => m.payload.toString()));
  while ([...acked].some((n) => !seen().has(String(n))) && Date.now() < deadline) await sleep(50);
  const have = seen();
  t.deepEqual(
    [...acked].filter((n) => !have.has(String(n))),
    [],
    `every acknowledged message is delivered (${acked.size} acked, ${have.size} received)`,
  );
  t.true(have.has('w'), 'the acknowledged WAMP publish too');
  // The restored subscription is live.
  const pub2 = await connect(second.urls.mqtt as string);
  const before = got.messages.length;
  await pub2.publishAsync('kill/after', 'after', { qos: 1 });
  await got.waitFor(before + 1);
  t.true(got.messages.some((m) => m.topic === 'kill/after'));
  await back.endAsync();
  await pub2.endAsync();
  second.child.kill('SIGTERM');
  t.is(await second.exited, 0);
});

// Serial: it checks expiry on a schedule, and the kill -9 test's flood in this same process can hold
// up a CONNACK for seconds on a loaded machine.
test.serial('v5 session expiry across restarts: gone when the restart comes later, kept within it, expired on schedule after a restart', async (t) => {
  t.timeout(60_000);
  const dir = dataDir(t);
  let s = await start(t, dir);
  const short = uniqueId('exp1');
  const long = uniqueId('exp60');
  const soon = uniqueId('exp8');
  // Wide enough that a loaded machine's restart (seconds under a parallel suite) stays inside it.
  const SOON_S = 8;
  for (const [clientId, sessionExpiryInterval] of [
    [short, 1],
    [long, 60],
    [soon, SOON_S],
  ] as const) {
    const c = await connect(s.urls.mqtt as string, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval } });
    await c.subscribeAsync(`exp/${clientId}`, { qos: 1 });
    await c.endAsync();
  }
  // Every session above has disconnected by now, so the 8 s one ends before this moment.
  const soonEndsAt = Date.now() + SOON_S * 1000;
  const pub = await connect(s.urls.mqtt as string, { protocolVersion: 5 });
  for (const id of [short, long, soon]) await pub.publishAsync(`exp/${id}`, `for ${id}`, { qos: 1 });
  await pub.endAsync();
  await s.close();
  await sleep(1300);

  s = await start(t, dir);
  // The 1 s session expired while the server was down: deleted at start.
  t.is([...s.router.realm('realm1').sessions.values()].filter((x) => x.protocol === 'mqtt').length, 2, 'two MQTT sessions restored');
  const gone = await rawConnect(portOf(s.urls), 5, { clientId: short, properties: { sessionExpiryInterval: 60 } });
  t.false(gone.connack.sessionPresent, 'the 1 s session is gone');
  await sleep(100);
  t.is(gone.raw.packets.filter((p) => p.cmd === 'publish').length, 0, 'and its queue with it');
  gone.raw.close();

  const { client: kept, connack } = connectRaw(s.urls.mqtt as string, { clientId: long, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 60 } });
  const got = collect(kept);
  t.true((await connack).sessionPresent, 'the 60 s session is kept');
  t.is((await got.waitFor(1))[0]?.payload.toString(), `for ${long}`);
  await kept.endAsync();

  // The 8 s session was restored with what is left of its interval, and ends on schedule.
  await sleep(Math.max(0, soonEndsAt + 500 - Date.now()));
  const late = await rawConnect(portOf(s.urls), 5, { clientId: soon, properties: { sessionExpiryInterval: 60 } });
  t.false(late.connack.sessionPresent, 'the 8 s session expired after the restart, on schedule');
  late.raw.close();
});

test('unacknowledged outbound QoS 1 is redelivered with DUP after a restart, and PUBREL of QoS 2 resent', async (t) => {
  t.timeout(60_000);
  const dir = dataDir(t);
  let s = await start(t, dir);
  const clientId = uniqueId('inflight');
  let { raw } = await rawConnect(portOf(s.urls), 4, { clientId });
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'infl/#', qos: 2 }] } as never, 4);
  await raw.next('suback');
  const pub = await connect(s.urls.mqtt as string);
  await pub.publishAsync('infl/one', 'unacked', { qos: 1 });
  await pub.publishAsync('infl/two', 'half-done', { qos: 2 });
  const p1 = (await raw.next('publish')) as IPublishPacket;
  const p2 = (await raw.next('publish')) as IPublishPacket;
  t.is(p1.payload.toString(), 'unacked');
  raw.send({ cmd: 'pubrec', messageId: p2.messageId } as never, 4);
  await raw.next('pubrel');
  await pub.endAsync();
  await sleep(50); // let the PUBREC's state change commit
  raw.close();
  await s.close();

  s = await start(t, dir);
  let connack: IConnackPacket;
  ({ raw, connack } = await rawConnect(portOf(s.urls), 4, { clientId }));
  t.true(connack.sessionPresent);
  const again = (await raw.next('publish')) as IPublishPacket;
  t.true(again.dup, 'redelivered with DUP');
  t.is(again.messageId, p1.messageId, 'same packet id');
  t.is(again.qos, 1);
  t.is(again.payload.toString(), 'unacked');
  const rel = (await raw.next('pubrel')) as IPubrelPacket;
  t.is(rel.messageId, p2.messageId, 'PUBREL of the QoS 2 message resent');
  t.is(raw.packets.filter((p) => p.cmd === 'publish').length, 1, 'the QoS 2 message itself is not sent again');
  raw.send({ cmd: 'puback', messageId: again.messageId } as never, 4);
  raw.send({ cmd: 'pubcomp', messageId: rel.messageId } as never, 4);
  // The gate handles a connection's packets in order: once PINGRESP is back, both acks were handled.
  raw.send({ cmd: 'pingreq' } as never, 4);
  await raw.next('pingresp');
  await sleep(100); // let their state change commit
  raw.close();
  await s.close();

  // Acknowledged now: a third start has nothing left to resend.
  s = await start(t, dir);
  ({ raw, connack } = await rawConnect(portOf(s.urls), 4, { clientId }));
  t.true(connack.sessionPresent);
  await sleep(200);
  t.deepEqual(
    raw.packets.filter((p) => p.cmd !== 'connack').map((p) => p.cmd),
    [],
  );
  raw.close();
});

test('inbound QoS 2 is exactly once across a restart: PUBREC, restart, duplicate PUBLISH, PUBREL', async (t) => {
  t.timeout(60_000);
  const dir = dataDir(t);
  let s = await start(t, dir);
  const subId = uniqueId('eo-sub');
  const sub = await connect(s.urls.mqtt as string, { clientId: subId, clean: false, protocolVersion: 4 });
  await sub.subscribeAsync('eo/t', { qos: 2 });
  await sub.endAsync();

  const pubId = uniqueId('eo-pub');
  let { raw } = await rawConnect(portOf(s.urls), 5, { clientId: pubId, properties: { sessionExpiryInterval: 300 } });
  const publish = { cmd: 'publish', topic: 'eo/t', payload: Buffer.from('exactly once'), qos: 2, messageId: 7, retain: false, dup: false } as IPublishPacket;
  raw.send(publish, 5);
  await raw.next('pubrec');
  raw.close();
  await s.close();

  s = await start(t, dir);
  let connack: IConnackPacket;
  ({ raw, connack } = await rawConnect(portOf(s.urls), 5, { clientId: pubId, properties: { sessionExpiryInterval: 300 } }));
  t.true(connack.sessionPresent);
  // The client did not see the PUBREC: it sends the PUBLISH again, then releases it.
  raw.send({ ...publish, dup: true }, 5);
  const rec = (await raw.next('pubrec')) as IPublishPacket & { reasonCode?: number };
  t.is(rec.messageId, 7);
  raw.send({ cmd: 'pubrel', messageId: 7, reasonCode: 0 } as never, 5);
  const comp = (await raw.next('pubcomp')) as IPubcompPacket;
  t.is(comp.reasonCode ?? 0, 0, 'the packet id was known after the restart (not 0x92)');
  raw.close();

  const { client: back, connack: subAck } = connectRaw(s.urls.mqtt as string, { clientId: subId, clean: false, protocolVersion: 4 });
  const got = collect(back);
  t.true((await subAck).sessionPresent);
  await got.waitFor(1);
  await sleep(300);
  t.deepEqual(
    got.messages.map((m) => m.payload.toString()),
    ['exactly once'],
  );
  await back.endAsync();
});

test('v5 subscription options and identifiers, and unsubscribes, are kept across a restart; clean sessions are not stored', async (t) => {
  t.timeout(60_000);
  const dir = dataDir(t);
  let s = await start(t, dir);
  const clientId = uniqueId('opts');
  const c = await connect(s.urls.mqtt as string, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 300 } });
  await c.subscribeAsync('opts/a', { qos: 1, nl: true, rap: true, properties: { subscriptionIdentifier: 42 } });
  await c.subscribeAsync('opts/b', { qos: 1 });
  await c.unsubscribeAsync('opts/b');
  await c.endAsync();
  const cleanId = uniqueId('clean');
  const cl = await connect(s.urls.mqtt as string, { clientId: cleanId, clean: true, protocolVersion: 4 });
  await cl.subscribeAsync('opts/a', { qos: 1 });
  await cl.endAsync();
  await s.close();

  s = await start(t, dir);
  const { client: back, connack } = connectRaw(s.urls.mqtt as string, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 300 } });
  const got = collect(back);
  t.true((await connack).sessionPresent);
  const pub = await connect(s.urls.mqtt as string, { protocolVersion: 5 });
  await pub.publishAsync('opts/b', 'unsubscribed', { qos: 1 });
  await pub.publishAsync('opts/a', 'kept', { qos: 1, retain: true });
  const [m] = await got.waitFor(1);
  t.is(m?.payload.toString(), 'kept');
  t.is(m?.properties?.subscriptionIdentifier, 42, 'subscription identifier kept');
  t.true(m?.retain, 'retain as published kept');
  // No local kept: its own publish does not come back.
  await back.publishAsync('opts/a', 'mine', { qos: 1 });
  await sleep(200);
  t.deepEqual(
    got.messages.map((x) => x.payload.toString()),
    ['kept'],
  );
  await back.endAsync();
  await pub.endAsync();

  const again = await rawConnect(portOf(s.urls), 4, { clientId: cleanId });
  t.false(again.connack.sessionPresent, 'a clean session was not stored');
  again.raw.close();
});

test('a realm created on demand (autoCreateRealms) has its stored sessions restored on the first CONNECT into it', async (t) => {
  t.timeout(60_000);
  const dir = dataDir(t);
  let s = await start(t, dir, { autoCreateRealms: true });
  const clientId = uniqueId('dyn');
  const sub = await connect(s.urls.mqtt as string, { clientId, clean: false, protocolVersion: 4, username: 'u@dynamic' });
  await sub.subscribeAsync('dyn/t', { qos: 1 });
  await sub.endAsync();
  let pub = await connect(s.urls.mqtt as string, { username: 'p@dynamic' });
  await pub.publishAsync('dyn/t', 'before', { qos: 1 });
  await pub.endAsync();
  await s.close();

  s = await start(t, dir, { autoCreateRealms: true });
  t.false(s.router.realms.has('dynamic'), 'the realm does not exist yet');
  // The first CONNECT into the realm (a publisher) restores its sessions: the offline one receives.
  pub = await connect(s.urls.mqtt as string, { username: 'p@dynamic' });
  await pub.publishAsync('dyn/t', 'after', { qos: 1 });
  await pub.endAsync();
  const { client: back, connack } = connectRaw(s.urls.mqtt as string, { clientId, clean: false, protocolVersion: 4, username: 'u@dynamic' });
  const got = collect(back);
  t.true((await connack).sessionPresent);
  t.deepEqual(
    (await got.waitFor(2)).map((m) => m.payload.toString()),
    ['before', 'after'],
  );
  await back.endAsync();
});

/** A store whose offline-queue appends commit only when the test says so. */
function gatedStore(inner: Store): { store: Store; release(): void; pending(): number } {
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  let waiting = 0;
  const arm = (): void => {
    let open!: () => void;
    const promise = new Promise<void>((r) => (open = r));
    gate = { promise, open };
  };
  arm();
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'enqueueMqtt' || typeof v !== 'function') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      return async (...a: unknown[]) => {
        const result = await (v as (...x: unknown[]) => Promise<number>).apply(target, a);
        waiting++;
        await gate!.promise;
        waiting--;
        return result;
      };
    },
  });
  return { store, release: () => gate!.open(), pending: () => waiting };
}

test('a publish is acknowledged (PUBACK, PUBREC, WAMP-style acknowledge) only after the offline queue append is committed', async (t) => {
  t.timeout(30_000);
  const gated = gatedStore(await openStore({ memory: true }));
  const router = createRouter({ realms: [openRealm('realm1')] }, { store: gated.store });
  await router.open();
  const gate = createMqttGate(router, { logger: silentLogger });
  await gate.ready;
  const server = net.createServer((sock) => gate.handleSocket(sock));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  t.teardown(async () => {
    await gate.close();
    router.close();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const url = `mqtt://127.0.0.1:${port}`;
  const sub = await connect(url, { clientId: uniqueId('gated'), clean: false, protocolVersion: 4 });
  await sub.subscribeAsync('gated/#', { qos: 2 });
  await sub.endAsync();

  const raw = await RawClient.connected(port, 4);
  raw.send({ cmd: 'publish', topic: 'gated/1', payload: Buffer.from('a'), qos: 1, messageId: 1, retain: false, dup: false } as IPublishPacket, 4);
  raw.send({ cmd: 'publish', topic: 'gated/2', payload: Buffer.from('b'), qos: 2, messageId: 2, retain: false, dup: false } as IPublishPacket, 4);
  const local = router.connect('realm1');
  let localAcked = false;
  const localPub = local.publish('gated.3', ['c'], undefined, { acknowledge: true }).then(() => (localAcked = true));
  await raw.until(() => gated.pending() === 3, 5000, 'three appends waiting');
  await sleep(100);
  t.deepEqual(
    raw.packets.filter((p) => p.cmd !== 'connack').map((p) => p.cmd),
    [],
    'no PUBACK / PUBREC before the commit',
  );
  t.false(localAcked, 'no acknowledgement to the in-process publisher either');
  gated.release();
  await raw.next('puback');
  await raw.next('pubrec');
  await localPub;
  t.deepEqual(
    raw.packets.filter((p) => p.cmd !== 'connack').map((p) => p.cmd),
    ['puback', 'pubrec'],
    'acknowledged in PUBLISH order once committed',
  );
  raw.close();
  local.close();
});

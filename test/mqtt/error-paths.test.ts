// No handler error can take the router down. The gate logs through a real pino logger (whose
// methods need `this`: the error path once called `logger.error` detached and threw), and each
// MQTT handler is made to fail twice: with an internal error (the handler throws) and with a store
// that fails every write. Either ends at most that one connection (v5: DISCONNECT 0x83 / CONNACK
// 0x83 first), is counted, and a bystander keeps being served.
import net from 'node:net';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import type { IConnackPacket, IDisconnectPacket, IPubackPacket, IPublishPacket, PacketCmd } from 'mqtt-packet';
import pino from 'pino';
import type { Store } from '../../lib/core/store.ts';
import { createRouter, openRealm } from '../../lib/index.ts';
import type { Connection } from '../../lib/mqtt/connection.ts';
import { handlers } from '../../lib/mqtt/handlers.ts';
import { createMqttGate } from '../../lib/mqtt/index.ts';
import { MemoryStore } from '../../lib/store/memory.ts';
import type { MqttClient } from 'mqtt';
import { assertHealthy, collect, type Collector, connect, RawClient, sleep, uniqueId } from '../helpers/mqtt-harness.ts';

/** A memory store whose writes fail while `failing` is set (a dead disk, in effect). */
class FailingStore extends MemoryStore {
  failing = false;
}
for (const method of ['saveMqttSession', 'deleteMqttSession', 'enqueueMqtt', 'drainMqtt', 'putInflight', 'deleteInflight', 'putRetained', 'deleteRetained'] as const) {
  const original = MemoryStore.prototype[method] as (...args: unknown[]) => Promise<unknown>;
  (FailingStore.prototype as unknown as Record<string, unknown>)[method] = function (this: FailingStore, ...args: unknown[]) {
    if (this.failing) return Promise.reject(new Error('disk I/O error (forced by the test)'));
    return original.apply(this, args);
  };
}

const lines: string[] = [];
const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
const store = new FailingStore();
const router = createRouter({ realms: [openRealm('realm1')] }, { store: store as Store, logger });
const gate = createMqttGate(router, { logger });
const server = net.createServer((s) => gate.handleSocket(s));
let port = 0;
let url = '';

/** The handler that throws for clients whose id starts with 'boom' (internal-error tests). */
let boom: PacketCmd | undefined;
for (const [cmd, handler] of Object.entries(handlers)) {
  handlers[cmd as PacketCmd] = (conn: Connection, packet: { clientId?: string }) => {
    const id = cmd === 'connect' ? packet.clientId : conn.clientId;
    if (boom === cmd && id?.startsWith('boom')) throw new Error(`forced failure in the ${cmd} handler`);
    handler(conn, packet);
  };
}

/** A client connected for the whole file: every failure elsewhere must leave it served. */
let bystander: MqttClient;
let bystanderGot: Collector;
const bystanderTopic = `bystander/${uniqueId()}`;

test.before(async () => {
  await router.open();
  await gate.ready;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
  url = `mqtt://127.0.0.1:${port}`;
  bystander = await connect(url, { protocolVersion: 5 });
  bystanderGot = collect(bystander);
  await bystander.subscribeAsync(bystanderTopic, { qos: 1 });
});

/** The bystander still gets a QoS 1 message, and a fresh publisher/subscriber pair works. */
async function healthy(): Promise<void> {
  const n = bystanderGot.messages.length;
  const pub = await connect(url);
  await pub.publishAsync(bystanderTopic, 'still there?', { qos: 1 });
  await pub.endAsync();
  await bystanderGot.waitFor(n + 1);
  await assertHealthy(url);
}

test.after.always(async () => {
  await bystander?.endAsync();
  await gate.close();
  router.close();
  await new Promise<void>((r) => server.close(() => r()));
});

test.afterEach(() => {
  boom = undefined;
  store.failing = false;
});

/** A v5 raw client named boom-…, for the handler under test. */
function boomClient(extra: Record<string, unknown> = {}): Promise<RawClient> {
  return RawClient.connected(port, 5, { clientId: uniqueId('boom'), ...extra });
}

async function expectInternalError(t: ExecutionContext, c: RawClient, before: number): Promise<void> {
  const d = (await c.next('disconnect')) as IDisconnectPacket;
  t.is(d.reasonCode, 0x83);
  await c.waitClosed();
  t.is(router.stats.handlerErrors, before + 1);
  await healthy();
}

/** A QoS `qos` message the boom client receives (published by another client). */
async function receive(c: RawClient, qos: 1 | 2): Promise<IPublishPacket> {
  const topic = `err/${uniqueId()}`;
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] } as never);
  await c.next('suback');
  const pub = await connect(url);
  await pub.publishAsync(topic, 'x', { qos });
  await pub.endAsync();
  return (await c.next('publish')) as IPublishPacket;
}

test.serial('internal error in CONNECT: CONNACK 0x83, closed; others unaffected', async (t) => {
  boom = 'connect';
  const before = router.stats.handlerErrors;
  const c = await RawClient.open(port, 5);
  c.send({ cmd: 'connect', protocolVersion: 5, protocolId: 'MQTT', clientId: uniqueId('boom'), clean: true, keepalive: 0 } as never);
  t.is(((await c.next('connack')) as IConnackPacket).reasonCode, 0x83);
  await c.waitClosed();
  t.is(router.stats.handlerErrors, before + 1);
  await healthy();
});

for (const qos of [0, 1, 2] as const) {
  test.serial(`internal error in PUBLISH QoS ${qos}: DISCONNECT 0x83`, async (t) => {
    const c = await boomClient();
    boom = 'publish';
    const before = router.stats.handlerErrors;
    c.send({ cmd: 'publish', topic: 'err/pub', payload: Buffer.from('x'), qos, messageId: qos ? 7 : undefined, retain: false, dup: false } as never);
    await expectInternalError(t, c, before);
  });
}

for (const cmd of ['subscribe', 'unsubscribe', 'pingreq', 'disconnect'] as const) {
  test.serial(`internal error in ${cmd.toUpperCase()}: the connection ends, counted`, async (t) => {
    const c = await boomClient();
    boom = cmd;
    const before = router.stats.handlerErrors;
    if (cmd === 'subscribe') c.send({ cmd, messageId: 3, subscriptions: [{ topic: 'err/x', qos: 1 }] } as never);
    else if (cmd === 'unsubscribe') c.send({ cmd, messageId: 3, unsubscriptions: ['err/x'] } as never);
    else c.send({ cmd } as never);
    if (cmd === 'disconnect') {
      // The client closes its side itself; the failure is still contained and counted.
      await c.waitClosed();
      await sleep(50);
      t.is(router.stats.handlerErrors, before + 1);
      await healthy();
    } else await expectInternalError(t, c, before);
  });
}

test.serial('internal error in PUBACK: DISCONNECT 0x83', async (t) => {
  const c = await boomClient();
  const p = await receive(c, 1);
  boom = 'puback';
  const before = router.stats.handlerErrors;
  c.send({ cmd: 'puback', messageId: p.messageId } as never);
  await expectInternalError(t, c, before);
});

test.serial('internal error in PUBREC and in PUBCOMP: DISCONNECT 0x83', async (t) => {
  const c = await boomClient();
  const p = await receive(c, 2);
  boom = 'pubrec';
  let before = router.stats.handlerErrors;
  c.send({ cmd: 'pubrec', messageId: p.messageId } as never);
  await expectInternalError(t, c, before);

  boom = undefined;
  const d = await boomClient();
  const q = await receive(d, 2);
  d.send({ cmd: 'pubrec', messageId: q.messageId } as never);
  await d.next('pubrel');
  boom = 'pubcomp';
  before = router.stats.handlerErrors;
  d.send({ cmd: 'pubcomp', messageId: q.messageId } as never);
  await expectInternalError(t, d, before);
});

test.serial('internal error in PUBREL: DISCONNECT 0x83', async (t) => {
  const c = await boomClient();
  c.send({ cmd: 'publish', topic: 'err/q2', payload: Buffer.from('x'), qos: 2, messageId: 9, retain: false, dup: false } as never);
  await c.next('pubrec');
  boom = 'pubrel';
  const before = router.stats.handlerErrors;
  c.send({ cmd: 'pubrel', messageId: 9 } as never);
  await expectInternalError(t, c, before);
});

// --- store failures -----------------------------------------------------------------------------

/** A persistent 3.1.1 subscriber that went offline: a QoS ≥ 1 publish on `topic` must be queued in the store. */
async function offlineSubscriber(topic: string): Promise<void> {
  const sub = await connect(url, { clientId: uniqueId('offline'), clean: false, protocolVersion: 4 });
  await sub.subscribeAsync(topic, { qos: 1 });
  await sub.endAsync();
}

test.serial('store failure under a 3.1.1 QoS 1 / QoS 2 publish: no acknowledgement, publisher closed, counted; v5 gets PUBACK 0x80', async (t) => {
  const topic = `err/store/${uniqueId()}`;
  await offlineSubscriber(topic);
  store.failing = true;
  const before = router.stats.storeFailures;
  for (const qos of [1, 2] as const) {
    const v3 = await RawClient.connected(port, 4);
    v3.send({ cmd: 'publish', topic, payload: Buffer.from('lost?'), qos, messageId: 5, retain: false, dup: false }, 4);
    await v3.waitClosed();
    t.false(v3.packets.some((p) => p.cmd === 'puback' || p.cmd === 'pubrec'), `QoS ${qos} not acknowledged`);
  }
  t.is(router.stats.storeFailures, before + 2);
  const v5 = await RawClient.connected(port, 5);
  v5.send({ cmd: 'publish', topic, payload: Buffer.from('refused'), qos: 1, messageId: 5, retain: false, dup: false });
  t.is(((await v5.next('puback')) as IPubackPacket).reasonCode, 0x80);
  v5.close();
  store.failing = false;
  await healthy();
});

test.serial('store failure under SUBSCRIBE / UNSUBSCRIBE of a persistent session: no SUBACK/UNSUBACK, closed', async (t) => {
  for (const cmd of ['subscribe', 'unsubscribe'] as const) {
    const c = await RawClient.connected(port, 5, { clientId: uniqueId('store'), clean: false, properties: { sessionExpiryInterval: 60 } } as never);
    store.failing = true;
    if (cmd === 'subscribe') c.send({ cmd, messageId: 2, subscriptions: [{ topic: 'err/s', qos: 1 }] } as never);
    else {
      store.failing = false;
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'err/s', qos: 1 }] } as never);
      await c.next('suback');
      store.failing = true;
      c.send({ cmd, messageId: 2, unsubscriptions: ['err/s'] } as never);
    }
    const d = (await c.next('disconnect')) as IDisconnectPacket;
    t.is(d.reasonCode, 0x80, cmd);
    await c.waitClosed();
    t.false(c.packets.some((p) => p.cmd === (cmd === 'subscribe' ? 'suback' : 'unsuback') && (p as { messageId?: number }).messageId === 2));
    store.failing = false;
  }
  await healthy();
});

test.serial('store failure under PUBREL of a persistent session: no PUBCOMP, closed', async (t) => {
  const c = await RawClient.connected(port, 5, { clientId: uniqueId('store'), clean: false, properties: { sessionExpiryInterval: 60 } } as never);
  c.send({ cmd: 'publish', topic: 'err/q2', payload: Buffer.from('x'), qos: 2, messageId: 4, retain: false, dup: false });
  await c.next('pubrec');
  store.failing = true;
  c.send({ cmd: 'pubrel', messageId: 4 } as never);
  t.is(((await c.next('disconnect')) as IDisconnectPacket).reasonCode, 0x80);
  await c.waitClosed();
  t.false(c.packets.some((p) => p.cmd === 'pubcomp'));
  store.failing = false;
  await healthy();
});

test.serial('store failures under CONNECT, PUBACK, PUBREC, PUBCOMP, PINGREQ, DISCONNECT and QoS 0 of persistent sessions: logged, router alive', async (t) => {
  const errorsBefore = lines.filter((l) => l.includes('"level":50')).length;
  const clientId = uniqueId('store');
  const c = await RawClient.connected(port, 5, { clientId, clean: false, properties: { sessionExpiryInterval: 60 } } as never);
  const topic = `err/acks/${uniqueId()}`;
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 2 }] } as never);
  await c.next('suback');
  const pub = await connect(url);
  await pub.publishAsync(topic, 'one', { qos: 1 });
  await pub.publishAsync(topic, 'two', { qos: 2 });
  const p1 = (await c.next('publish')) as IPublishPacket;
  const p2 = (await c.next('publish')) as IPublishPacket;
  store.failing = true;
  await pub.publishAsync(topic, 'zero', { qos: 0 });
  c.send({ cmd: 'puback', messageId: p1.messageId } as never);
  c.send({ cmd: 'pubrec', messageId: p2.messageId } as never);
  await c.next('pubrel');
  c.send({ cmd: 'pubcomp', messageId: p2.messageId } as never);
  c.send({ cmd: 'pingreq' } as never);
  await c.next('pingresp');
  c.send({ cmd: 'disconnect', reasonCode: 0 } as never);
  await c.waitClosed();
  const again = await RawClient.open(port, 5);
  again.send({ cmd: 'connect', protocolVersion: 5, protocolId: 'MQTT', clientId: uniqueId('store'), clean: false, keepalive: 0, properties: { sessionExpiryInterval: 60 } } as never);
  await again.next('connack');
  again.close();
  await sleep(100);
  store.failing = false;
  t.true(lines.filter((l) => l.includes('"level":50')).length > errorsBefore, 'the failed writes are logged at error level');
  await pub.endAsync();
  await healthy();
});

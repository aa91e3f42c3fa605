// MQTT gate basics with real mqtt.js clients (3.1, 3.1.1, 5.0) and raw sockets: protocol levels,
// QoS 0/1/2 both ways, retained, wills, keep alive, takeover, clean/persistent sessions with the
// offline queue and retransmission, session expiry, the in-flight window, auth, WebSocket, limits.
import net from 'node:net';
import test from 'ava';
import mqttPacket, { type IConnackPacket, type IPublishPacket, type IPubrelPacket } from 'mqtt-packet';
import { mqttPattern } from '../lib/core/topic.ts';
import type { EventDelivery } from '../lib/core/types.ts';
import { PacketIds } from '../lib/mqtt/session-state.ts';
import { assertHealthy, collect, connect, connectRaw, dropConnection, RawClient, sleep, startKitsune, uniqueId, type Kitsune } from './helpers/mqtt-harness.ts';

let k: Kitsune;
test.before(async () => {
  k = await startKitsune({
    realms: [
      {
        name: 'realm1',
        roles: [{ name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: { publish: true, subscribe: true } }] }],
        auth: { anonymous: { role: 'anonymous' } },
      },
      {
        name: 'secure',
        roles: [
          { name: 'user', permissions: [{ uri: '', match: 'prefix', allow: { publish: true, subscribe: true } }] },
        ],
        auth: { ticket: { alice: { ticket: 's3cret', role: 'user' } } },
      },
    ],
  });
});
test.after.always(async () => {
  await k?.stop();
});

test('connects with protocol levels 3, 4 and 5', async (t) => {
  for (const protocolVersion of [3, 4, 5] as const) {
    const c = await connect(k.url, { protocolVersion, protocolId: protocolVersion === 3 ? 'MQIsdp' : 'MQTT' });
    t.true(c.connected, `level ${protocolVersion}`);
    const got = collect(c);
    const topic = `levels/${protocolVersion}`;
    await c.subscribeAsync(topic, { qos: 1 });
    await c.publishAsync(topic, 'x', { qos: 1 });
    await got.waitFor(1);
    await c.endAsync();
  }
});

test('unsupported protocol level gets CONNACK 0x01 (old) / 0x84 (newer) and is closed', async (t) => {
  for (const [level, expected] of [
    [2, [0x20, 0x02, 0x00, 0x01]],
    [6, [0x20, 0x03, 0x00, 0x84, 0x00]],
  ] as const) {
    const raw = await RawClient.open(k.port);
    // CONNECT, protocol name MQTT, the given level, clean session, keepalive 0, client id "x"
    raw.write([0x10, 13, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, level, 0x02, 0x00, 0x00, 0x00, 0x01, 0x78]);
    await raw.waitClosed();
    t.deepEqual([...raw.bytes], [...expected], `level ${level}`);
  }
});

test('QoS 0/1/2 delivered at min(publisher, subscriber) QoS, 3.1.1 and 5', async (t) => {
  for (const protocolVersion of [4, 5] as const) {
    const sub = await connect(k.url, { protocolVersion });
    const pub = await connect(k.url, { protocolVersion });
    const got = collect(sub);
    const base = `qos/${protocolVersion}/${uniqueId()}`;
    for (const sq of [0, 1, 2] as const) await sub.subscribeAsync(`${base}/${sq}`, { qos: sq });
    for (const sq of [0, 1, 2] as const) for (const pq of [0, 1, 2] as const) await pub.publishAsync(`${base}/${sq}`, `${pq}`, { qos: pq });
    const msgs = await got.waitFor(9);
    for (const m of msgs) {
      const sq = Number(m.topic.split('/').pop());
      const pq = Number(m.payload.toString());
      t.is(m.qos, Math.min(sq, pq), `v${protocolVersion} sub ${sq} pub ${pq}`);
    }
    await sub.endAsync();
    await pub.endAsync();
  }
});

test('inbound QoS 2 is routed exactly once across duplicates until PUBREL', async (t) => {
  const sub = await connect(k.url);
  const got = collect(sub);
  const topic = `exactly/${uniqueId()}`;
  await sub.subscribeAsync(topic, { qos: 2 });
  const raw = await RawClient.connected(k.port, 4);
  const publish = { cmd: 'publish', topic, payload: Buffer.from('once'), qos: 2, messageId: 7, retain: false, dup: false } as IPublishPacket;
  raw.send(publish, 4);
  await raw.next('pubrec');
  raw.send({ ...publish, dup: true }, 4);
  await raw.next('pubrec');
  raw.send({ cmd: 'pubrel', messageId: 7 }, 4);
  await raw.next('pubcomp');
  // Same packet id after the exchange completed: a new message.
  raw.send({ ...publish, payload: Buffer.from('twice') }, 4);
  await raw.next('pubrec');
  raw.send({ cmd: 'pubrel', messageId: 7 }, 4);
  await raw.next('pubcomp');
  await got.waitFor(2);
  await sleep(100);
  t.deepEqual(
    got.messages.map((m) => m.payload.toString()),
    ['once', 'twice'],
  );
  raw.close();
  await sub.endAsync();
});

test('outbound QoS 2 handshake: PUBLISH, PUBREC, PUBREL, PUBCOMP frees the window', async (t) => {
  const topic = `out2/${uniqueId()}`;
  const raw = await RawClient.connected(k.port, 5, { properties: { receiveMaximum: 1 } });
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 2 }] });
  await raw.next('suback');
  const pub = await connect(k.url);
  await pub.publishAsync(topic, 'a', { qos: 2 });
  await pub.publishAsync(topic, 'b', { qos: 2 });
  const p1 = (await raw.next('publish')) as IPublishPacket;
  t.is(p1.qos, 2);
  t.is(p1.payload.toString(), 'a');
  await sleep(100);
  t.is(raw.packets.filter((p) => p.cmd === 'publish').length, 1, 'window of 1 holds the second message');
  raw.send({ cmd: 'pubrec', messageId: p1.messageId, reasonCode: 0 });
  const rel = (await raw.next('pubrel')) as IPubrelPacket;
  t.is(rel.messageId, p1.messageId);
  await sleep(50);
  t.is(raw.packets.filter((p) => p.cmd === 'publish').length, 1, 'still held until PUBCOMP');
  raw.send({ cmd: 'pubcomp', messageId: p1.messageId, reasonCode: 0 });
  const p2 = (await raw.next('publish')) as IPublishPacket;
  t.is(p2.payload.toString(), 'b');
  raw.close();
  await pub.endAsync();
});

test('retained messages: delivered on subscribe with retain flag, live with retain 0, cleared by empty payload', async (t) => {
  const topic = `retained/${uniqueId()}`;
  const pub = await connect(k.url);
  await pub.publishAsync(topic, 'kept', { qos: 1, retain: true });
  const sub = await connect(k.url);
  const got = collect(sub);
  await sub.subscribeAsync(`${topic.split('/')[0]}/+`, { qos: 1 });
  const [first] = await got.waitFor(1);
  t.is(first?.payload.toString(), 'kept');
  t.true(first?.retain);
  await pub.publishAsync(topic, 'live', { qos: 1, retain: true });
  const msgs = await got.waitFor(2);
  t.is(msgs[1]?.payload.toString(), 'live');
  t.false(msgs[1]?.retain, 'live delivery clears the retain flag (3.1.1 rule)');
  await pub.publishAsync(topic, '', { qos: 1, retain: true });
  await got.waitFor(3);
  const late = await connect(k.url);
  const lateGot = collect(late);
  await late.subscribeAsync(topic, { qos: 1 });
  await sleep(150);
  t.is(lateGot.messages.length, 0, 'empty retained payload cleared the topic');
  await Promise.all([pub.endAsync(), sub.endAsync(), late.endAsync()]);
});

test('will: published on unclean disconnect, not on DISCONNECT', async (t) => {
  const topic = `will/${uniqueId()}`;
  const sub = await connect(k.url);
  const got = collect(sub);
  await sub.subscribeAsync(topic, { qos: 1 });
  const clean = await connect(k.url, { will: { topic, payload: Buffer.from('clean'), qos: 1, retain: false } });
  await clean.endAsync();
  const dirty = await connect(k.url, { will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false } });
  dropConnection(dirty);
  const [m] = await got.waitFor(1);
  t.is(m?.payload.toString(), 'gone');
  t.is(m?.qos, 1);
  await sleep(100);
  t.is(got.messages.length, 1);
  await sub.endAsync();
});

test('keep alive: a silent client is dropped after 1.5 × keepalive and its will fires', async (t) => {
  const topic = `keepalive/${uniqueId()}`;
  const sub = await connect(k.url);
  const got = collect(sub);
  await sub.subscribeAsync(topic, { qos: 0 });
  const raw = await RawClient.connected(k.port, 4, { keepalive: 1, will: { topic, payload: Buffer.from('timeout'), qos: 0, retain: false } });
  const start = Date.now();
  await raw.waitClosed(4000);
  const elapsed = Date.now() - start;
  t.true(elapsed >= 1400 && elapsed < 3000, `closed after ${elapsed} ms`);
  const [m] = await got.waitFor(1);
  t.is(m?.payload.toString(), 'timeout');
  await sub.endAsync();
});

test('keep alive: PINGREQ keeps the connection open', async (t) => {
  const raw = await RawClient.connected(k.port, 4, { keepalive: 1 });
  for (let i = 0; i < 4; i++) {
    await sleep(500);
    raw.send({ cmd: 'pingreq' }, 4);
    await raw.next('pingresp');
  }
  t.false(raw.isClosed);
  raw.close();
});

test('client id takeover closes the older connection', async (t) => {
  const clientId = uniqueId('take');
  const first = await connect(k.url, { clientId, protocolVersion: 4 });
  const closed = new Promise<void>((r) => first.once('close', () => r()));
  const second = await connect(k.url, { clientId, protocolVersion: 4 });
  await closed;
  t.true(second.connected);
  const got = collect(second);
  await second.subscribeAsync(`take/${clientId}`, { qos: 1 });
  await second.publishAsync(`take/${clientId}`, 'mine', { qos: 1 });
  await got.waitFor(1);
  await second.endAsync();
  first.end(true);
});

test('persistent session keeps subscriptions and queues QoS 1/2 (not QoS 0) while offline', async (t) => {
  const clientId = uniqueId('persist');
  const topic = `persist/${clientId}`;
  const a = await connect(k.url, { clientId, clean: false, protocolVersion: 4 });
  await a.subscribeAsync(topic, { qos: 2 });
  await a.endAsync();
  const pub = await connect(k.url);
  await pub.publishAsync(topic, 'q0', { qos: 0 });
  await pub.publishAsync(topic, 'q1', { qos: 1 });
  await pub.publishAsync(topic, 'q2', { qos: 2 });
  await pub.publishAsync(topic, 'q1b', { qos: 1 });
  const { client: back, connack } = connectRaw(k.url, { clientId, clean: false, protocolVersion: 4 });
  const got = collect(back);
  t.true((await connack).sessionPresent);
  const msgs = await got.waitFor(3);
  // (mqtt.js emits a QoS 2 message at PUBREL, so arrival order across QoS levels is not compared)
  t.deepEqual(
    msgs.map((m) => [m.payload.toString(), m.qos]).sort(),
    [
      ['q1', 1],
      ['q1b', 1],
      ['q2', 2],
    ],
  );
  await back.endAsync();
  // A clean session discards it all.
  const fresh = await connect(k.url, { clientId, clean: true, protocolVersion: 4 });
  const freshGot = collect(fresh);
  await pub.publishAsync(topic, 'after-clean', { qos: 1 });
  await sleep(150);
  t.is(freshGot.messages.length, 0, 'subscriptions were discarded');
  await fresh.endAsync();
  await pub.endAsync();
});

test('unacknowledged messages are retransmitted with DUP on reconnect (PUBLISH and PUBREL)', async (t) => {
  const clientId = uniqueId('dup');
  const topic = `dup/${clientId}`;
  let raw = await RawClient.connected(k.port, 4, { clientId, clean: false });
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 2 }] }, 4);
  await raw.next('suback');
  const pub = await connect(k.url);
  await pub.publishAsync(`${topic}`, 'one', { qos: 1 });
  await pub.publishAsync(`${topic}`, 'two', { qos: 2 });
  const p1 = (await raw.next('publish')) as IPublishPacket;
  const p2 = (await raw.next('publish')) as IPublishPacket;
  t.false(p1.dup);
  raw.send({ cmd: 'pubrec', messageId: p2.messageId }, 4);
  await raw.next('pubrel');
  raw.close(); // neither PUBACK for p1 nor PUBCOMP for p2
  await raw.closed;
  raw = await RawClient.connected(k.port, 4, { clientId, clean: false });
  t.true((raw.packets[0] as IConnackPacket).sessionPresent);
  const again = (await raw.next('publish')) as IPublishPacket;
  t.true(again.dup);
  t.is(again.messageId, p1.messageId);
  t.is(again.payload.toString(), 'one');
  const rel = (await raw.next('pubrel')) as IPubrelPacket;
  t.is(rel.messageId, p2.messageId);
  raw.send({ cmd: 'puback', messageId: p1.messageId }, 4);
  raw.send({ cmd: 'pubcomp', messageId: p2.messageId }, 4);
  // the router handles the acknowledgements when it reads them: poll, not a fixed 50 ms
  await waitUntil(() => k.gate.sessions.get('realm1', clientId)?.inflight.size === 0, 10_000);
  const session = k.gate.sessions.get('realm1', clientId);
  t.is(session?.inflight.size, 0, 'no per-delivery state after acknowledgement');
  raw.send({ cmd: 'disconnect' }, 4);
  await pub.endAsync();
});

/** Polls `pred` every 20 ms until it holds; fails after `timeoutMs`. */
async function waitUntil(pred: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

test('v5 session expiry: the session survives within the interval and is gone after it', async (t) => {
  const clientId = uniqueId('expiry');
  const opts = { clientId, clean: false, protocolVersion: 5 as const, properties: { sessionExpiryInterval: 2 } }; // 2 s: margin for the resume under load
  const a = await connect(k.url, opts);
  await a.subscribeAsync(`expiry/${clientId}`, { qos: 1 });
  await a.endAsync();
  const { client: b, connack } = connectRaw(k.url, opts);
  t.true((await connack).sessionPresent, 'resumed within the interval');
  await b.endAsync();
  // The interval starts when the router sees the disconnect; under load that (and the timer) can
  // lag, so poll with a generous deadline instead of checking once just after the interval.
  await waitUntil(() => k.gate.sessions.get('realm1', clientId) === undefined, 10_000);
  t.is(k.gate.sessions.get('realm1', clientId), undefined, 'expired and removed');
  const { client: c, connack: connack2 } = connectRaw(k.url, opts);
  t.false((await connack2).sessionPresent);
  await c.endAsync({ properties: { sessionExpiryInterval: 0 } } as never);
});

test('packet ids wrap around 1..65535 and skip ids in use', (t) => {
  const ids = new PacketIds();
  const inUse = new Set<number>([2, 65535]);
  t.is(ids.next(inUse), 1);
  t.is(ids.next(inUse), 3, 'skips 2');
  for (let i = 4; i <= 65534; i++) t.is(ids.next(inUse), i);
  t.is(ids.next(inUse), 1, 'skips 65535 and wraps to 1');
  inUse.add(1);
  inUse.add(3);
  t.is(ids.next(inUse), 4);
  t.is(ids.next({ has: () => true, size: 65535 }), undefined, 'none free');
});

test('ticket authentication with user@realm, refusals with 3.1.1 return codes', async (t) => {
  const ok = await connect(k.url, { protocolVersion: 4, username: 'alice@secure', password: 's3cret' });
  t.true(ok.connected);
  const session = [...k.router.realm('secure').sessions.values()].find((s) => s.authid === 'alice');
  t.is(session?.authrole, 'user');
  t.is(session?.protocol, 'mqtt');
  await ok.endAsync();
  const codes: number[] = [];
  for (const opts of [
    { username: 'alice@secure', password: 'wrong' }, // bad password → 4
    { username: 'mallory@secure', password: 'x' }, // unknown user, no anonymous access → 5
    { username: '@secure' }, // anonymous refused → 5
    { username: 'alice@nowhere', password: 's3cret' }, // unknown realm → 5
  ]) {
    const err = await connect(k.url, { protocolVersion: 4, ...opts }).catch((e: { code?: number }) => e);
    codes.push((err as { code?: number }).code ?? -1);
  }
  t.deepEqual(codes, [4, 5, 5, 5]);
});

test('empty client id: assigned on 3.1.1 clean session, refused (0x02) with a persistent one', async (t) => {
  const c = await connect(k.url, { protocolVersion: 4, clientId: '', clean: true });
  t.true(c.connected);
  await c.endAsync();
  // mqtt.js refuses to send this CONNECT itself, so it goes raw.
  const raw = await RawClient.open(k.port, 4);
  // CONNECT 3.1.1, clean session 0, keepalive 0, empty client id
  raw.write([0x10, 12, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]);
  await raw.waitClosed();
  t.deepEqual([...raw.bytes], [0x20, 0x02, 0x00, 0x02]);
});

test('MQTT over WebSocket', async (t) => {
  const a = await connect(k.wsUrl, { protocolVersion: 5 });
  const b = await connect(k.wsUrl, { protocolVersion: 4 });
  const got = collect(b);
  const topic = `ws/${uniqueId()}`;
  await b.subscribeAsync(topic, { qos: 2 });
  for (let i = 0; i < 20; i++) await a.publishAsync(topic, `m${i}`, { qos: (i % 3) as 0 | 1 | 2 });
  const msgs = await got.waitFor(20);
  t.deepEqual(
    msgs.map((m) => m.payload.toString()),
    Array.from({ length: 20 }, (_, i) => `m${i}`),
  );
  await a.endAsync();
  await b.endAsync();
});

test('slow consumer: QoS 0 dropped past the soft limit, disconnected past the hard limit; others unaffected', async (t) => {
  const slow = await startKitsune({ limits: { sendBufferSoftBytes: 256 * 1024, sendBufferHardBytes: 2 * 1024 * 1024 } });
  try {
    const topic = 'flood';
    const raw = await RawClient.connected(slow.port, 4);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] }, 4);
    await raw.next('suback');
    raw.socket.pause(); // stops reading: the kernel buffers fill, then ours
    const pub = await connect(slow.url);
    const big = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < 200; i++) pub.publish(topic, big, { qos: 0 });
    // the router handles one client's packets in order: once this QoS 1 publish is acknowledged,
    // every QoS 0 one before it was offered to the slow subscriber (no fixed sleep, load or not)
    await pub.publishAsync(`${topic}-marker`, 'x', { qos: 1 });
    await raw.until(() => slow.gate.stats.droppedQos0 > 0, 10_000, 'QoS 0 drops');
    t.true(slow.gate.stats.droppedQos0 > 0, `dropped ${slow.gate.stats.droppedQos0} QoS 0 messages`);
    t.false(raw.isClosed, 'QoS 0 alone never reaches the hard limit');
    for (let i = 0; i < 200; i++) pub.publish(topic, big, { qos: 1 });
    await raw.until(() => slow.gate.stats.slowConsumers === 1, 5000, 'hard limit');
    raw.socket.resume();
    await raw.waitClosed();
    await assertHealthy(slow.url);
    await pub.endAsync();
  } finally {
    await slow.stop();
  }
});

test('fan-out encodes a PUBLISH once per variant (serialize-once, cached on the publication)', async (t) => {
  const topic = `fanout/${uniqueId()}`;
  const subs = await Promise.all(Array.from({ length: 10 }, (_, i) => connect(k.url, { protocolVersion: i < 5 ? 4 : 5 })));
  const gots = subs.map(collect);
  await Promise.all(subs.map((s) => s.subscribeAsync(topic, { qos: 1 })));
  // The cache lives on the publication for its fan-out only (a retained copy drops it after), so
  // an in-process subscriber of the same topic watches it during the fan-out: the keys already
  // there when it is reached, and every entry stored after (one per encoding).
  const encoded: string[] = [];
  const isMqtt = (key: string): boolean => key.startsWith('mqtt4|') || key.startsWith('mqtt5|');
  const spy = k.router.attach('realm1', { authid: 'spy', authrole: 'anonymous', authmethod: 'anonymous', authprovider: 'static', protocol: 'local', transport: {} }, {
    event: (d: EventDelivery) => {
      const frames = d.publication.frames;
      encoded.push(...[...frames.keys()].filter(isMqtt));
      const set = frames.set.bind(frames);
      frames.set = (key: string, value: unknown) => {
        if (isMqtt(key)) encoded.push(key);
        return set(key, value);
      };
    },
    invocation: () => {},
    interrupt: () => {},
    result: () => {},
    callError: () => {},
    kill: () => {},
  });
  spy.subscribe(mqttPattern(topic), { mqtt: true, qos: 0 });
  const pub = await connect(k.url);
  await pub.publishAsync(topic, 'shared bytes', { qos: 1, retain: true });
  await Promise.all(gots.map((g) => g.waitFor(1)));
  t.deepEqual(encoded.sort(), ['mqtt4|1|0', 'mqtt5|1|0|||0'], 'one encoding per protocol variant for 10 subscribers');
  await pub.publishAsync(topic, '', { qos: 1, retain: true });
  spy.leave();
  await Promise.all([...subs.map((s) => s.endAsync()), pub.endAsync()]);
});

test('acknowledgements follow the order of the PUBLISH packets, even when a retained write commits later', async (t) => {
  const raw = await RawClient.connected(k.port, 4);
  const topic = `ackorder/${uniqueId()}`;
  const frames = [1, 2, 3, 4].map((id) => ({ cmd: 'publish', topic, payload: Buffer.from(String(id)), qos: (id % 2) + 1, messageId: id, retain: id === 1 || id === 3, dup: false }) as IPublishPacket);
  raw.write(Buffer.concat(frames.map((f) => mqttPacket.generate(f, { protocolVersion: 4 }))));
  await raw.until(() => raw.packets.filter((p) => p.cmd === 'puback' || p.cmd === 'pubrec').length === 4);
  t.deepEqual(
    raw.packets.filter((p) => p.cmd === 'puback' || p.cmd === 'pubrec').map((p) => `${p.cmd}:${p.messageId}`),
    ['pubrec:1', 'puback:2', 'pubrec:3', 'puback:4'],
  );
  for (const id of [1, 3]) raw.send({ cmd: 'pubrel', messageId: id }, 4);
  await raw.next('pubcomp');
  raw.send({ cmd: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: true, dup: false } as IPublishPacket, 4);
  raw.close();
});

test('a sniffed socket (first bytes already read, socket paused) is served like a fresh one', async (t) => {
  const server = net.createServer((socket) => {
    socket.once('data', (first: Buffer) => {
      socket.pause();
      // Hand over only the first byte or two, as a sniffer would.
      const cut = Math.min(2, first.length);
      socket.unshift(first.subarray(cut));
      k.gate.handleSocket(socket, first.subarray(0, cut));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    for (const protocolVersion of [4, 5] as const) {
      const c = await connect(url, { protocolVersion });
      const got = collect(c);
      const topic = `sniffed/${uniqueId()}`;
      await c.subscribeAsync(topic, { qos: 1 });
      await c.publishAsync(topic, 'through the sniffer', { qos: 1 });
      await got.waitFor(1);
      await c.endAsync();
    }
    t.pass();
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

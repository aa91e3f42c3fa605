// Bad input over raw sockets: each case ends only the offending connection (v5: DISCONNECT with
// the matching reason code first), is logged, and every other client keeps working.
import test, { type ExecutionContext } from 'ava';
import mqttPacket, { type IDisconnectPacket, type IPubcompPacket } from 'mqtt-packet';
import WebSocket from 'ws';
import { assertHealthy, collect, connect, RawClient, sleep, uniqueId, withBystander } from './helpers/mqtt-harness.ts';

const fx = withBystander(test, { maxPacketSize: 4096, connectTimeoutMs: 500 });

const gen = (packet: object, version = 5): number[] => [...mqttPacket.generate(packet as mqttPacket.Packet, { protocolVersion: version })];

/** PUBLISH bytes with a raw topic (so invalid UTF-8 and wildcards can be sent). */
function rawPublish(topic: Buffer, payload: Buffer, v5 = true, first = 0x30): number[] {
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, ...(v5 ? [Buffer.from([0])] : []), payload]);
  return [first, body.length, ...body];
}

/** Asserts the connection got DISCONNECT `code` as its last bytes and was closed, and was logged. */
async function expectDisconnect(t: ExecutionContext, raw: RawClient, code: number): Promise<void> {
  await raw.waitClosed();
  const bytes = raw.bytes;
  let at = -1;
  for (let i = bytes.length - 3; i >= 0; i--) {
    if (bytes[i] === 0xe0 && i + 2 + (bytes[i + 1] as number) === bytes.length) {
      at = i;
      break;
    }
  }
  t.true(at >= 0, `DISCONNECT is the last packet (got ${bytes.toString('hex')})`);
  t.is(bytes[at + 2], code, `reason code 0x${code.toString(16)}`);
  const d = raw.packets.at(-1) as IDisconnectPacket;
  t.is(d.cmd, 'disconnect');
  t.is(d.reasonCode, code);
}

async function expectClosedSilently(t: ExecutionContext, raw: RawClient, before = 0): Promise<void> {
  await raw.waitClosed();
  t.is(raw.bytes.length, before, 'nothing more was sent');
}

async function healthy(t: ExecutionContext, loggedBefore: number): Promise<void> {
  t.true(fx.k.logs.filter((l) => l.level === 'warn').length > loggedBefore, 'the failure was logged');
  await assertHealthy(fx.k.url);
  t.true(fx.bystander.connected, 'a connected bystander is untouched');
}

const warns = (): number => fx.k.logs.filter((l) => l.level === 'warn').length;

/** Runs one v5 case: connect, send `bytes`, expect DISCONNECT `code`. */
async function v5Case(t: ExecutionContext, bytes: number[], code: number, connect: Partial<mqttPacket.IConnectPacket> = {}): Promise<void> {
  const before = warns();
  const raw = await RawClient.connected(fx.k.port, 5, connect);
  raw.write(bytes);
  await expectDisconnect(t, raw, code);
  await healthy(t, before);
}

/** Runs one 3.1.1 case: connect, send `bytes`, expect the connection closed with nothing sent. */
async function v4Case(t: ExecutionContext, bytes: number[]): Promise<void> {
  const before = warns();
  const raw = await RawClient.connected(fx.k.port, 4);
  const n = raw.bytes.length;
  raw.write(bytes);
  await expectClosedSilently(t, raw, n);
  await healthy(t, before);
}

test('garbage bytes as the first packet: closed, nothing sent', async (t) => {
  const before = warns();
  const raw = await RawClient.open(fx.k.port);
  raw.write([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03]);
  await expectClosedSilently(t, raw);
  await healthy(t, before);
});

test('first packet not CONNECT: closed, nothing sent', async (t) => {
  for (const bytes of [[0xc0, 0x00], gen({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 0 }, 4)]) {
    const before = warns();
    const raw = await RawClient.open(fx.k.port);
    raw.write(bytes);
    await expectClosedSilently(t, raw);
    await healthy(t, before);
  }
});

test('no CONNECT within the connect timeout: closed', async (t) => {
  const raw = await RawClient.open(fx.k.port);
  const start = Date.now();
  await raw.waitClosed();
  t.true(Date.now() - start >= 400);
});

test('second CONNECT: v5 DISCONNECT 0x82, 3.1.1 closed', async (t) => {
  await v5Case(t, gen({ cmd: 'connect', protocolVersion: 5, protocolId: 'MQTT', clientId: 'again', clean: true, keepalive: 0 }), 0x82);
  await v4Case(t, gen({ cmd: 'connect', protocolVersion: 4, protocolId: 'MQTT', clientId: 'again', clean: true, keepalive: 0 }, 4));
});

test('malformed remaining length: v5 DISCONNECT 0x81, before CONNECT closed', async (t) => {
  await v5Case(t, [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], 0x81);
  await v4Case(t, [0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
  const before = warns();
  const raw = await RawClient.open(fx.k.port);
  raw.write([0x10, 0x80, 0x80, 0x80, 0x80, 0x01]);
  await expectClosedSilently(t, raw);
  await healthy(t, before);
});

test('packet over the maximum size: v5 DISCONNECT 0x95 before it is buffered', async (t) => {
  const raw = await RawClient.connected(fx.k.port, 5);
  t.is((raw.packets[0] as mqttPacket.IConnackPacket).properties?.maximumPacketSize, 4096);
  raw.close();
  // Only the fixed header of a 1 MB PUBLISH is sent: the length alone is enough to refuse it.
  await v5Case(t, [0x30, 0x80, 0x80, 0x40], 0x95);
  await v4Case(t, [0x30, 0x80, 0x80, 0x40]);
});

test('invalid UTF-8 in a topic name or filter: v5 DISCONNECT 0x81 (malformed, per the spec)', async (t) => {
  await v5Case(t, rawPublish(Buffer.from([0x61, 0xc3, 0x28]), Buffer.from('x')), 0x81);
  await v5Case(t, [0x82, 8, 0x00, 0x01, 0x00, 0x00, 0x02, 0xff, 0xfe, 0x01], 0x81);
  await v4Case(t, rawPublish(Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('x'), false));
});

test('wildcards in a PUBLISH topic: v5 DISCONNECT 0x90, 3.1.1 closed', async (t) => {
  await v5Case(t, rawPublish(Buffer.from('a/+/c'), Buffer.from('x')), 0x90);
  await v5Case(t, rawPublish(Buffer.from('a/#'), Buffer.from('x')), 0x90);
  await v4Case(t, rawPublish(Buffer.from('a/#'), Buffer.from('x'), false));
});

test('reserved flag bits set: v5 DISCONNECT 0x81', async (t) => {
  // SUBSCRIBE with flags 0000 instead of 0010
  await v5Case(t, [0x80, 7, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, 0x01], 0x81);
  // PUBREL with flags 0000 instead of 0010
  await v5Case(t, [0x60, 0x02, 0x00, 0x01], 0x81);
  // PUBLISH with QoS 3
  await v5Case(t, rawPublish(Buffer.from('a'), Buffer.from('x'), true, 0x36), 0x81);
  // PINGREQ with flags set
  await v4Case(t, [0xc1, 0x00]);
  // SUBSCRIBE option byte with reserved bits (v5: bits 6-7)
  await v5Case(t, [0x82, 7, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, 0xc1], 0x81);
});

test('CONNECT with the reserved flag bit, or will QoS 3: closed, nothing sent', async (t) => {
  for (const flags of [0x03, 0x1e]) {
    const before = warns();
    const raw = await RawClient.open(fx.k.port);
    // CONNECT 3.1.1, client id "x"; 0x1e = will flag + will QoS 3 + clean (with will topic "w", payload "")
    const tail = flags === 0x1e ? [0x00, 0x01, 0x78, 0x00, 0x01, 0x77, 0x00, 0x00] : [0x00, 0x01, 0x78];
    const body = [0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, flags, 0x00, 0x00, ...tail];
    raw.write([0x10, body.length, ...body]);
    await expectClosedSilently(t, raw);
    await healthy(t, before);
  }
});

test('PUBREL for an unknown packet id: PUBCOMP 0x92 (v5) / PUBCOMP (3.1.1) as the spec prescribes; the connection stays', async (t) => {
  const raw = await RawClient.connected(fx.k.port, 5);
  raw.send({ cmd: 'pubrel', messageId: 42, reasonCode: 0 });
  const comp = (await raw.next('pubcomp')) as IPubcompPacket;
  t.is(comp.messageId, 42);
  t.is(comp.reasonCode, 0x92);
  raw.send({ cmd: 'pingreq' });
  await raw.next('pingresp');
  t.false(raw.isClosed);
  raw.close();
  const raw4 = await RawClient.connected(fx.k.port, 4);
  const n = raw4.bytes.length;
  raw4.send({ cmd: 'pubrel', messageId: 42 }, 4);
  await raw4.next('pubcomp');
  t.deepEqual([...raw4.bytes.subarray(n)], [0x70, 0x02, 0x00, 0x2a]);
  t.false(raw4.isClosed);
  raw4.close();
});

test('reserved packet types and AUTH: 0 → 0x81, AUTH on v5 → 0x82, AUTH on 3.1.1 → closed', async (t) => {
  await v5Case(t, [0x00, 0x00], 0x81);
  await v5Case(t, [0xf0, 0x02, 0x19, 0x00], 0x82);
  await v4Case(t, [0xf0, 0x00]);
});

test('server-to-client packets sent by a client: v5 DISCONNECT 0x82', async (t) => {
  await v5Case(t, gen({ cmd: 'connack', sessionPresent: false, reasonCode: 0 }), 0x82);
  await v5Case(t, [0xd0, 0x00], 0x82); // PINGRESP
  await v5Case(t, gen({ cmd: 'suback', messageId: 1, granted: [0] }), 0x82);
});

test('topic alias errors: 0 or above our maximum → 0x94, undefined alias → 0x82, empty topic → 0x82', async (t) => {
  const pub = (topic: string, alias: number) => gen({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, properties: { topicAlias: alias } });
  await v5Case(t, pub('a', 0), 0x94);
  await v5Case(t, pub('a', 65), 0x94);
  await v5Case(t, pub('', 5), 0x82);
  await v5Case(t, rawPublish(Buffer.from(''), Buffer.from('x')), 0x82);
});

test('payload format indicator 1 with invalid UTF-8 at QoS 0: DISCONNECT 0x99', async (t) => {
  await v5Case(t, gen({ cmd: 'publish', topic: 'pfi', payload: Buffer.from([0xc0, 0xaf]), qos: 0, properties: { payloadFormatIndicator: true } }), 0x99);
});

test('subscription identifier 0, No Local on a shared subscription, Subscription Identifier in PUBLISH: 0x82', async (t) => {
  await v5Case(t, gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }], properties: { subscriptionIdentifier: 0 } }), 0x82);
  await v5Case(t, gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/a', qos: 0, nl: true }] }), 0x82);
  await v5Case(t, gen({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 0, properties: { subscriptionIdentifier: 3 } }), 0x82);
});

test('DISCONNECT raising the session expiry from 0: DISCONNECT 0x82', async (t) => {
  await v5Case(t, gen({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } }), 0x82);
});

test('truncated and inconsistent packets: DISCONNECT 0x81', async (t) => {
  // topic length 100 inside a 5-byte PUBLISH
  await v5Case(t, [0x30, 0x05, 0x00, 0x64, 0x61, 0x00, 0x78], 0x81);
  // unknown property identifier 0x7f in a PUBLISH
  await v5Case(t, [0x30, 0x06, 0x00, 0x01, 0x61, 0x02, 0x7f, 0x00], 0x81);
  // PUBACK too short for its packet identifier
  await v5Case(t, [0x40, 0x01, 0x00], 0x81);
});

test('SUBSCRIBE / UNSUBSCRIBE without filters, packet identifier 0: DISCONNECT 0x82', async (t) => {
  await v5Case(t, [0x82, 0x03, 0x00, 0x01, 0x00], 0x82);
  await v5Case(t, [0xa2, 0x03, 0x00, 0x01, 0x00], 0x82);
  await v5Case(t, [0x82, 0x07, 0x00, 0x00, 0x00, 0x00, 0x01, 0x61, 0x00], 0x82);
  await v5Case(t, rawPublish(Buffer.from('a'), Buffer.from([0x00, 0x00, 0x00]), true, 0x32), 0x82);
});

test('a CONNECT split into single bytes is reassembled (framing across reads)', async (t) => {
  const raw = await RawClient.open(fx.k.port, 5);
  const bytes = gen({ cmd: 'connect', protocolVersion: 5, protocolId: 'MQTT', clientId: uniqueId('split'), clean: true, keepalive: 0 });
  for (const b of bytes) {
    raw.write([b]);
    await sleep(1);
  }
  const connack = (await raw.next('connack')) as mqttPacket.IConnackPacket;
  t.is(connack.reasonCode, 0);
  raw.close();
});

test('a non-binary WebSocket message closes that connection', async (t) => {
  const before = warns();
  const ws = new WebSocket(fx.k.wsUrl, 'mqtt');
  await new Promise((r) => ws.once('open', r));
  const closed = new Promise<void>((r) => ws.once('close', () => r()));
  ws.send('CONNECT please');
  await closed;
  await healthy(t, before);
});

test('fuzz: random bytes before and after CONNECT never crash the gate', async (t) => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const cases: Promise<void>[] = [];
  for (let i = 0; i < 150; i++) {
    const bytes = Array.from({ length: 1 + rnd(64) }, () => rnd(256));
    // Bias towards plausible headers now and then.
    if (i % 3 === 0) bytes[0] = [0x30, 0x32, 0x34, 0x62, 0x82, 0xa2, 0xe0, 0xf0][rnd(8)] as number;
    const version = ([3, 4, 5] as const)[i % 3];
    cases.push(
      (async () => {
        const raw = i % 2 === 0 ? await RawClient.connected(fx.k.port, version) : await RawClient.open(fx.k.port, version);
        raw.write(bytes);
        await Promise.race([raw.closed, sleep(700)]);
        raw.close();
      })(),
    );
  }
  await Promise.all(cases);
  await assertHealthy(fx.k.url);
  const got = collect(fx.bystander);
  const pub = await connect(fx.k.url);
  await pub.publishAsync(fx.topic, 'still here', { qos: 1 });
  await got.waitFor(1);
  t.true(fx.bystander.connected);
  await pub.endAsync();
});

// Conformance gaps closed over raw sockets: ill-formed UTF-8 and U+0000 in every MQTT string
// (MQTT-1.5.4-1/-2), duplicate v5 properties, DUP on QoS 0 (MQTT-3.3.1-2), the MQTT 3.1 client
// identifier limit, protocol name / level mismatch (MQTT-3.1.2-1) and a 3.1.1 password without a
// user name (MQTT-3.1.2-22), bytes after the last CONNECT field, empty topic filters and names
// (MQTT-4.7.3-1), and v5 Response Topics that are not topic names. A malformed v5 CONNECT gets
// CONNACK 0x81 before the close (MQTT 5 §4.13.1: "In the case of an error in a CONNECT packet it
// MAY send a CONNACK packet containing the Reason Code"); other v5 packets get DISCONNECT with the
// code; 3.1.1 connections are closed.
// Each case checks that a connected bystander keeps working.
import test, { type ExecutionContext } from 'ava';
import mqttPacket, { type IConnackPacket } from 'mqtt-packet';
import { collect, connect, expectClosedAfter, expectConnackRefusal, RawClient, uniqueId, withBystander } from './helpers/mqtt-harness.ts';

const fx = withBystander(test, { maxPacketSize: 4096, connectTimeoutMs: 1000 });

const MARK = Buffer.from('QQQ');
const BAD = {
  illFormed: Buffer.from([0x61, 0xc3, 0x28]), // 0xC3 must be followed by a continuation byte
  surrogate: Buffer.from([0xed, 0xa0, 0x80]), // U+D800
  nul: Buffer.from([0x61, 0x00, 0x62]), // U+0000
};

/** mqtt-packet bytes of `packet` with the 3-byte marker "QQQ" (in any string) replaced by `bad`. */
function withBytes(packet: object, bad: Buffer, version = 5): Buffer {
  const buf = mqttPacket.generate(packet as mqttPacket.Packet, { protocolVersion: version });
  const at = buf.indexOf(MARK);
  if (at < 0) throw new Error('marker not found');
  bad.copy(buf, at);
  return buf;
}

const connectPacket = (version: number, extra: object = {}): object => ({
  cmd: 'connect',
  protocolVersion: version,
  protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
  clientId: uniqueId('conf'),
  clean: true,
  keepalive: 0,
  ...extra,
});

const connackCase = (t: ExecutionContext, bytes: Buffer | number[], version: number, code: number | undefined): Promise<void> => expectConnackRefusal(t, fx, bytes, version, code);
const packetCase = (t: ExecutionContext, bytes: Buffer | number[], version: 4 | 5, code = 0x81): Promise<void> => expectClosedAfter(t, fx, bytes, version, code);

test('CONNECT strings (client id, user name, will topic) with ill-formed UTF-8 or U+0000: v5 CONNACK 0x81, 3.1.1 closed', async (t) => {
  const will = { topic: 'w/QQQ', payload: Buffer.from('bye'), qos: 0, retain: false };
  for (const bad of Object.values(BAD)) {
    for (const [version, code] of [[5, 0x81], [4, undefined]] as const) {
      await connackCase(t, withBytes(connectPacket(version, { clientId: `id-QQQ-${uniqueId()}` }), bad, version), version, code);
      await connackCase(t, withBytes(connectPacket(version, { username: 'uQQQ' }), bad, version), version, code);
      await connackCase(t, withBytes(connectPacket(version, { will }), bad, version), version, code);
    }
  }
});

test('v5 CONNECT and will properties with ill-formed UTF-8 (user property, content type, response topic): CONNACK 0x81', async (t) => {
  const will = (properties: object) => ({ topic: 'w/t', payload: Buffer.from('bye'), qos: 0, retain: false, properties });
  await connackCase(t, withBytes(connectPacket(5, { properties: { userProperties: { k: 'QQQ' } } }), BAD.illFormed), 5, 0x81);
  await connackCase(t, withBytes(connectPacket(5, { properties: { userProperties: { QQQ: 'v' } } }), BAD.nul), 5, 0x81);
  await connackCase(t, withBytes(connectPacket(5, { will: will({ contentType: 'text/QQQ' }) }), BAD.surrogate), 5, 0x81);
  await connackCase(t, withBytes(connectPacket(5, { will: will({ responseTopic: 'r/QQQ' }) }), BAD.illFormed), 5, 0x81);
});

test('MQTT 3.1: a client identifier over 23 characters gets CONNACK 0x02; 23 is accepted', async (t) => {
  const long = 'a'.repeat(24);
  await connackCase(t, mqttPacket.generate(connectPacket(3, { clientId: long }) as mqttPacket.Packet, { protocolVersion: 3 }), 3, 0x02);
  const raw = await RawClient.connected(fx.k.port, 3, { clientId: `${uniqueId('x')}`.slice(0, 10).padEnd(23, 'z') });
  t.is((raw.packets[0] as IConnackPacket).returnCode, 0);
  raw.close();
  // 3.1.1 has no such limit
  const raw4 = await RawClient.connected(fx.k.port, 4, { clientId: `${uniqueId('long')}-${long}` });
  t.is((raw4.packets[0] as IConnackPacket).returnCode, 0);
  raw4.close();
});

test('protocol name not matching the level: CONNACK 0x01 (3.1/3.1.1) / 0x84 (v5), closed', async (t) => {
  const gen = (name: string, version: number): Buffer => {
    const buf = mqttPacket.generate(connectPacket(version) as mqttPacket.Packet, { protocolVersion: version });
    // the same CONNECT under another protocol name
    const off = 2;
    const oldLen = buf.readUInt16BE(off);
    const rest = buf.subarray(off + 2 + oldLen + 1);
    const body = Buffer.concat([Buffer.from([0, name.length]), Buffer.from(name), Buffer.from([version]), rest]);
    return Buffer.concat([Buffer.from([0x10, body.length]), body]);
  };
  await connackCase(t, gen('MQTT', 3), 3, 0x01);
  await connackCase(t, gen('MQIsdp', 4), 4, 0x01);
  // v5 level under the 3.1 name (with an empty property list)
  const body = [0x00, 0x06, ...Buffer.from('MQIsdp'), 0x05, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x78];
  await connackCase(t, [0x10, body.length, ...body], 5, 0x84);
});

test('3.1.1 CONNECT with the password flag but no user name flag: closed (MQTT-3.1.2-22)', async (t) => {
  // flags 0x42: password + clean session; client id "x", password "pw"
  const body = [0x00, 0x04, ...Buffer.from('MQTT'), 0x04, 0x42, 0x00, 0x00, 0x00, 0x01, 0x78, 0x00, 0x02, 0x70, 0x77];
  await connackCase(t, [0x10, body.length, ...body], 4, undefined);
});

test('SUBSCRIBE / UNSUBSCRIBE filters with ill-formed UTF-8 or U+0000: v5 DISCONNECT 0x81, 3.1.1 closed', async (t) => {
  for (const bad of Object.values(BAD)) {
    for (const version of [5, 4] as const) {
      await packetCase(t, withBytes({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ok', qos: 0 }, { topic: 'f/QQQ', qos: 1 }] }, bad, version), version);
      await packetCase(t, withBytes({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['f/QQQ'] }, bad, version), version);
    }
  }
});

test('PUBLISH topic with U+0000: v5 DISCONNECT 0x81, 3.1.1 closed', async (t) => {
  const pub = { cmd: 'publish', topic: 't/QQQ', payload: Buffer.from('x'), qos: 1, messageId: 3, retain: false, dup: false };
  await packetCase(t, withBytes(pub, BAD.nul, 5), 5);
  await packetCase(t, withBytes(pub, BAD.nul, 4), 4);
});

test('v5 string properties with ill-formed UTF-8 (PUBLISH, SUBSCRIBE, PUBACK, DISCONNECT): DISCONNECT 0x81', async (t) => {
  const pub = (properties: object) => ({ cmd: 'publish', topic: 'p/t', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties });
  await packetCase(t, withBytes(pub({ contentType: 'QQQ' }), BAD.illFormed), 5);
  await packetCase(t, withBytes(pub({ responseTopic: 'r/QQQ' }), BAD.surrogate), 5);
  await packetCase(t, withBytes(pub({ userProperties: { a: 'QQQ' } }), BAD.nul), 5);
  await packetCase(t, withBytes(pub({ userProperties: { a: 'b', QQQ: 'c' } }), BAD.illFormed), 5);
  await packetCase(t, withBytes({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ok', qos: 0 }], properties: { userProperties: { a: 'QQQ' } } }, BAD.illFormed), 5);
  await packetCase(t, withBytes({ cmd: 'puback', messageId: 9, reasonCode: 0x10, properties: { reasonString: 'QQQ' } }, BAD.illFormed), 5);
  await packetCase(t, withBytes({ cmd: 'disconnect', reasonCode: 0x04, properties: { reasonString: 'QQQ' } }, BAD.nul), 5);
});

test('a v5 property other than User Property included twice: DISCONNECT 0x82', async (t) => {
  // PUBLISH QoS 0 "a" with Content Type "x" twice
  await packetCase(t, [0x30, 0x0e, 0x00, 0x01, 0x61, 0x08, 0x03, 0x00, 0x01, 0x78, 0x03, 0x00, 0x01, 0x78, 0x68, 0x69], 5, 0x82);
  // two User Properties with the same name are allowed
  const raw = await RawClient.connected(fx.k.port, 5);
  const got = collect(fx.bystander);
  raw.send({ cmd: 'publish', topic: fx.topic, payload: Buffer.from('twice'), qos: 0, retain: false, dup: false, properties: { userProperties: { a: ['1', '2'] } } } as mqttPacket.IPublishPacket);
  await got.waitFor(1);
  t.false(raw.isClosed);
  raw.close();
});

test('QoS 0 PUBLISH with DUP set: v5 DISCONNECT 0x81, 3.1.1 closed (MQTT-3.3.1-2)', async (t) => {
  const pub = (v5: boolean): number[] => [0x38, v5 ? 5 : 4, 0x00, 0x01, 0x61, ...(v5 ? [0x00] : []), 0x78];
  await packetCase(t, pub(true), 5);
  await packetCase(t, pub(false), 4);
});

test('well-formed multi-byte strings (and U+FFFD itself) are still accepted everywhere', async (t) => {
  const topic = fx.topic;
  const raw = await RawClient.connected(fx.k.port, 5, {
    clientId: `é-€-\ufffd-${uniqueId()}`,
    username: 'ü',
    properties: { userProperties: { 'ключ': '值' } },
    will: { topic: 'w/日本', payload: Buffer.from('bye'), qos: 0, retain: false, properties: { contentType: 'text/ü' } },
  } as Partial<mqttPacket.IConnectPacket>);
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ü/€/+', qos: 1 }], properties: { userProperties: { 'ü': '\ufffd' } } } as mqttPacket.ISubscribePacket);
  await raw.next('suback');
  const got = collect(fx.bystander);
  raw.send({ cmd: 'publish', topic, payload: Buffer.from('ok'), qos: 1, messageId: 5, retain: false, dup: false, properties: { contentType: 'täxt', responseTopic: 'r/ü', userProperties: { '€': 'ü' } } } as mqttPacket.IPublishPacket);
  await raw.next('puback');
  await got.waitFor(1);
  t.false(raw.isClosed);
  raw.close();
});

test('PINGREQ with a remaining length, 3.1.1 DISCONNECT with a remaining length: v5 DISCONNECT 0x81, 3.1.1 closed', async (t) => {
  await packetCase(t, [0xc0, 0x01, 0x00], 5);
  await packetCase(t, [0xc0, 0x01, 0x00], 4);
  await packetCase(t, [0xe0, 0x01, 0x00], 4);
});

test('v5 CONNECT with Request Problem / Response Information other than 0 or 1: CONNACK 0x82', async (t) => {
  for (const id of [0x17, 0x19]) {
    const body = [0x00, 0x04, ...Buffer.from('MQTT'), 0x05, 0x02, 0x00, 0x00, 0x02, id, 0x02, 0x00, 0x01, 0x78];
    await connackCase(t, [0x10, body.length, ...body], 5, 0x82);
  }
  // 0 and 1 are fine
  const raw = await RawClient.connected(fx.k.port, 5, { properties: { requestProblemInformation: false, requestResponseInformation: true } });
  t.is((raw.packets[0] as IConnackPacket).reasonCode, 0);
  raw.close();
});

test('a v5 property not valid in its packet (Topic Alias in CONNECT, Session Expiry in PUBLISH, Reason String in SUBSCRIBE): malformed', async (t) => {
  // CONNECT with Topic Alias (0x23) 1: CONNACK 0x81
  const body = [0x00, 0x04, ...Buffer.from('MQTT'), 0x05, 0x02, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01, 0x00, 0x01, 0x78];
  await connackCase(t, [0x10, body.length, ...body], 5, 0x81);
  // PUBLISH QoS 0 "a" with Session Expiry Interval (0x11)
  await packetCase(t, [0x30, 0x0b, 0x00, 0x01, 0x61, 0x05, 0x11, 0x00, 0x00, 0x00, 0x01, 0x68, 0x69], 5);
  // SUBSCRIBE with a Reason String (0x1f)
  await packetCase(t, [0x82, 0x0b, 0x00, 0x01, 0x04, 0x1f, 0x00, 0x01, 0x78, 0x00, 0x01, 0x61, 0x00], 5);
});

test('v5 PUBLISH with a Payload Format Indicator other than 0 or 1: DISCONNECT 0x81', async (t) => {
  // PUBLISH QoS 0, topic "a", properties: Payload Format Indicator (0x01) = 2, payload "hi"
  await packetCase(t, [0x30, 0x08, 0x00, 0x01, 0x61, 0x02, 0x01, 0x02, 0x68, 0x69], 5);
});

/** `frame` (a packet with a one-byte remaining length) with `extra` bytes appended inside it. */
function withTrailing(frame: Buffer, extra: number[]): Buffer {
  if ((frame[1] as number) + extra.length > 127) throw new Error('test frame too long for a one-byte remaining length');
  return Buffer.concat([Buffer.from([frame[0] as number, (frame[1] as number) + extra.length]), frame.subarray(2), Buffer.from(extra)]);
}

test('CONNECT whose remaining length runs past its last field (trailing bytes): v5 CONNACK 0x81, 3.1.1 / 3.1 closed', async (t) => {
  const will = { topic: 'w/t', payload: Buffer.from('bye'), qos: 0 as const, retain: false };
  for (const [version, code] of [[5, 0x81], [4, undefined], [3, undefined]] as const) {
    const gen = (extra: object): Buffer => mqttPacket.generate(connectPacket(version, extra) as mqttPacket.Packet, { protocolVersion: version });
    await connackCase(t, withTrailing(gen({}), [0x00]), version, code);
    await connackCase(t, withTrailing(gen({ will }), [0x00, 0x01, 0x61]), version, code);
    await connackCase(t, withTrailing(gen({ username: 'u', password: Buffer.from('pw') }), [0xff, 0xff]), version, code);
  }
  // the same CONNECTs without the extra bytes are accepted
  const raw = await RawClient.connected(fx.k.port, 5, { username: 'u', password: Buffer.from('pw'), will });
  t.is((raw.packets[0] as IConnackPacket).reasonCode, 0);
  raw.close();
});

// MQTT-4.7.3-1: topic filters are at least one character long. An empty one is not a "correctly
// formed" filter that SUBACK 0x8F could refuse; like mosquitto, the packet is malformed.
const EMPTY_FILTER_SUBSCRIBE = (v5: boolean): number[] => {
  const props = v5 ? [0x00] : [];
  const body = [0x00, 0x07, ...props, 0x00, 0x01, 0x61, 0x01, 0x00, 0x00, 0x01]; // "a" QoS 1, then "" QoS 1
  return [0x82, body.length, ...body];
};
const EMPTY_FILTER_UNSUBSCRIBE = (v5: boolean): number[] => {
  const props = v5 ? [0x00] : [];
  const body = [0x00, 0x08, ...props, 0x00, 0x00];
  return [0xa2, body.length, ...body];
};

test('SUBSCRIBE / UNSUBSCRIBE with an empty topic filter: v5 DISCONNECT 0x81, 3.1.1 closed, no SUBACK', async (t) => {
  for (const version of [5, 4] as const) {
    await packetCase(t, EMPTY_FILTER_SUBSCRIBE(version === 5), version);
    await packetCase(t, EMPTY_FILTER_UNSUBSCRIBE(version === 5), version);
  }
  // nothing was subscribed on the way: "a" from the refused SUBSCRIBE gets no messages
  const watcher = await connect(fx.k.url, { protocolVersion: 5 });
  const got = collect(watcher);
  await watcher.subscribeAsync('a', { qos: 1 });
  await fx.bystander.publishAsync('a', 'still routed', { qos: 1 });
  await got.waitFor(1);
  t.deepEqual(got.messages.map((m) => m.payload.toString()), ['still routed']);
  await watcher.endAsync();
});

test('PUBLISH with an empty topic name: v5 (no alias) DISCONNECT 0x82, 3.1.1 closed; empty will topic refused', async (t) => {
  // QoS 1 PUBLISH, topic "", packet id 1, payload "x"
  await packetCase(t, [0x32, 0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x78], 5, 0x82);
  await packetCase(t, [0x32, 0x05, 0x00, 0x00, 0x00, 0x01, 0x78], 4);
  // CONNECT (will + clean session), client id "x", will topic "", will payload "b" (mqtt-packet
  // refuses to generate an empty will topic)
  for (const [version, code] of [[5, 0x90], [4, undefined]] as const) {
    const props = version === 5 ? [0x00] : [];
    const body = [0x00, 0x04, ...Buffer.from('MQTT'), version, 0x06, 0x00, 0x00, ...props, 0x00, 0x01, 0x78, ...props, 0x00, 0x00, 0x00, 0x01, 0x62];
    await connackCase(t, [0x10, body.length, ...body], version, code);
  }
});

test('v5 Response Topic that is not a topic name (empty, wildcards) in PUBLISH or the will: DISCONNECT / CONNACK 0x82', async (t) => {
  const pub = (responseTopic: string): Buffer =>
    mqttPacket.generate({ cmd: 'publish', topic: 'req/a', payload: Buffer.from('x'), qos: 1, messageId: 4, retain: false, dup: false, properties: { responseTopic } } as mqttPacket.IPublishPacket, { protocolVersion: 5 });
  const willConnect = (responseTopic: string): Buffer =>
    mqttPacket.generate(connectPacket(5, { will: { topic: 'w/t', payload: Buffer.from('bye'), qos: 0, retain: false, properties: { responseTopic } } }) as mqttPacket.Packet, { protocolVersion: 5 });
  for (const bad of ['', 'r/#', 'r/+/x']) {
    await packetCase(t, pub(bad), 5, 0x82);
    await connackCase(t, willConnect(bad), 5, 0x82);
  }
  // a proper one is accepted in both places
  const raw = await RawClient.open(fx.k.port, 5);
  raw.write(willConnect('r/ok'));
  t.is(((await raw.next('connack')) as IConnackPacket).reasonCode, 0);
  raw.write(pub('r/ok'));
  t.is((await raw.next('puback')).cmd, 'puback');
  raw.close();
});

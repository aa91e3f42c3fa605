// MQTT doors (3.1.1 and 5.0; memory and SQLite stores): a CONNECT (usually valid, sometimes odd),
// then packets of every type built with mqtt-packet's generate() from random fields (topics with
// wildcards, control characters and thousands of levels; v5 properties), then mutated bytes: flags,
// remaining length, property ids.
import fc from 'fast-check';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { Door } from '../harness/door.ts';
import type { Store } from '../harness/router.ts';
import { applyMutations, mutations, type Mutation } from './wamp-values.ts';

type Version = 3 | 4 | 5;
interface PacketInput {
  packet: Record<string, unknown>;
  mutations: Mutation[];
  /** Replace the first byte (packet type and flags). */
  firstByte: number | null;
}

interface MqttCase {
  version: Version;
  connect: PacketInput;
  packets: PacketInput[];
}

const TOPICS = [
  'a', 'a/b', 'fuzz/t', '', '/', '//', '#', '+', 'a/#', 'a/+/b', 'a/#/b', 'a/b#', 'a+/b', '$SYS/x', '$share/g/a', '$share//a', '$share/g',
  '$share/g/#', 'a\u0000b', 'a\u0001', '\ud800', '\uffff', 'a.b', 'a..b', 'hustmq/q', 'esub/k', 'wamp/session/count',
];
const topic = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...TOPICS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.record({ n: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 5000, max: 32_000 })), level: fc.constantFrom('', 'a', '+') }).map(({ n, level }) => `${level}/`.repeat(n) + (level || 'z')) },
);
const u16 = fc.oneof(fc.constantFrom(0, 1, 2, 65535), fc.nat(65535));
const u32 = fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1), fc.nat());
const str = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('', 'x', 'realm1', 'user@realm1', 'user@nope', '\u0000', '\ud800', 'é') }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) });
const bytes = fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b));
const userProperties = fc.array(fc.tuple(str, str), { maxLength: 3 }).map((p) => Object.fromEntries(p));

const props = (version: Version, shape: Record<string, fc.Arbitrary<unknown>>) =>
  version === 5 ? fc.option(fc.record(shape, { requiredKeys: [] }), { nil: undefined }) : fc.constant(undefined);

function packetArb(version: Version): fc.Arbitrary<Record<string, unknown>> {
  const qos = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 1, 2) }, { weight: 1, arbitrary: fc.constant(3) });
  const reasonCode = fc.oneof(fc.constantFrom(0, 4, 0x80, 0x8e, 0x91, 0x92), fc.nat(255));
  const publish = fc.record({
    cmd: fc.constant('publish'),
    topic,
    payload: fc.oneof(bytes, fc.constantFrom('{"a":1}', '', '[1,2', 'null')),
    qos,
    retain: fc.boolean(),
    dup: fc.boolean(),
    messageId: u16,
    properties: props(version, {
      payloadFormatIndicator: fc.boolean(),
      messageExpiryInterval: u32,
      topicAlias: u16,
      responseTopic: topic,
      correlationData: bytes,
      userProperties,
      subscriptionIdentifier: fc.oneof(fc.nat(268_435_455), fc.constant(0)),
      contentType: str,
    }),
  });
  const subscribe = fc.record({
    cmd: fc.constant('subscribe'),
    messageId: u16,
    subscriptions: fc.array(fc.record({ topic, qos, nl: fc.boolean(), rap: fc.boolean(), rh: fc.nat(3) }), { maxLength: 4 }),
    properties: props(version, { subscriptionIdentifier: fc.oneof(fc.nat(268_435_455), fc.constant(0)), userProperties }),
  });
  const unsubscribe = fc.record({ cmd: fc.constant('unsubscribe'), messageId: u16, unsubscriptions: fc.array(topic, { maxLength: 4 }), properties: props(version, { userProperties }) });
  const ack = fc.record({
    cmd: fc.constantFrom('puback', 'pubrec', 'pubrel', 'pubcomp'),
    messageId: u16,
    reasonCode: version === 5 ? reasonCode : fc.constant(undefined),
    properties: props(version, { reasonString: str, userProperties }),
  });
  const simple = fc.record({ cmd: fc.constantFrom('pingreq', 'pingresp', 'connack', 'suback', 'unsuback') });
  const disconnect = fc.record({ cmd: fc.constant('disconnect'), reasonCode: version === 5 ? reasonCode : fc.constant(undefined), properties: props(version, { sessionExpiryInterval: u32, reasonString: str, serverReference: str }) });
  const auth = fc.record({ cmd: fc.constant('auth'), reasonCode: fc.constantFrom(0, 0x18, 0x19), properties: props(5, { authenticationMethod: str, authenticationData: bytes }) });
  return fc.oneof({ weight: 6, arbitrary: publish }, { weight: 3, arbitrary: subscribe }, { weight: 1, arbitrary: unsubscribe }, { weight: 2, arbitrary: ack }, { weight: 1, arbitrary: simple }, { weight: 1, arbitrary: disconnect }, { weight: 1, arbitrary: auth }, { weight: 1, arbitrary: connectArb(version) });
}

function connectArb(version: Version): fc.Arbitrary<Record<string, unknown>> {
  return fc.record({
    cmd: fc.constant('connect'),
    protocolId: version === 3 ? fc.constant('MQIsdp') : fc.oneof({ weight: 9, arbitrary: fc.constant('MQTT') }, { weight: 1, arbitrary: fc.constantFrom('MQIsdp', 'mqtt', '') }),
    protocolVersion: fc.oneof({ weight: 9, arbitrary: fc.constant(version) }, { weight: 1, arbitrary: fc.constantFrom(0, 3, 4, 5, 6, 255) }),
    clean: fc.boolean(),
    clientId: fc.oneof(fc.constantFrom('', 'fuzz', 'fuzz-1', 'fuzz-2'), str),
    keepalive: u16,
    username: fc.option(str, { nil: undefined }),
    password: fc.option(bytes, { nil: undefined }),
    will: fc.option(fc.record({ topic, payload: bytes, qos: fc.constantFrom(0, 1, 2, 3), retain: fc.boolean(), properties: props(version, { willDelayInterval: u32, messageExpiryInterval: u32, contentType: str, userProperties }) }), { nil: undefined }),
    properties: props(version, {
      sessionExpiryInterval: u32,
      receiveMaximum: u16,
      maximumPacketSize: u32,
      topicAliasMaximum: u16,
      requestResponseInformation: fc.boolean(),
      requestProblemInformation: fc.boolean(),
      userProperties,
      authenticationMethod: str,
      authenticationData: bytes,
    }),
  });
}

const packetInput = (packet: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<PacketInput> =>
  fc.record({
    packet,
    mutations: fc.oneof({ weight: 4, arbitrary: fc.constant<Mutation[]>([]) }, { weight: 1, arbitrary: mutations }),
    firstByte: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat(255) }),
  });

function caseArb(): fc.Arbitrary<MqttCase> {
  return fc.constantFrom<Version>(3, 4, 5, 5).chain((version) =>
    fc.record({ version: fc.constant(version), connect: packetInput(connectArb(version)), packets: fc.array(packetInput(packetArb(version)), { maxLength: 4 }) }),
  );
}

function encodePacket(p: PacketInput, version: Version): Buffer {
  let b: Buffer;
  try {
    b = mqttPacket.generate(p.packet as unknown as Packet, { protocolVersion: version === 3 ? 3 : version });
  } catch {
    // mqtt-packet refuses some fields outright: send the type byte and a short body instead.
    b = Buffer.from([0x30, 2, 0, 0]);
  }
  if (p.firstByte !== null && b.length) {
    b = Buffer.from(b);
    b[0] = p.firstByte;
  }
  return applyMutations(b, p.mutations);
}

export function mqttDoor(store: Store = 'memory'): Door<MqttCase> {
  return {
    name: store === 'memory' ? 'mqtt' : `mqtt-${store}`,
    arb: caseArb(),
    listener: 'mqtt',
    store,
    encode: (c) => [encodePacket(c.connect, c.version), ...c.packets.map((p) => encodePacket(p, c.version))],
  };
}

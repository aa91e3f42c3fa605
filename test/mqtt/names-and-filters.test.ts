// Names a client gives, over raw sockets. Control characters (U+0001–U+001F, U+007F–U+009F) in a
// client id, user name, will topic, topic name or filter are malformed (3.1.1 §1.5.3, 5.0 §1.5.4
// let a receiver treat them so): v5 CONNACK / DISCONNECT 0x81, 3.1.1 closed. A misplaced wildcard
// in a SUBSCRIBE or UNSUBSCRIBE filter (`a/+b`, `a#`, `a/#/b`) is a protocol violation
// (MQTT-4.7.1-2, MQTT-4.7.1-3): 3.1.1 closed without SUBACK, v5 DISCONNECT 0x81.
import test from 'ava';
import mqttPacket, { type IConnackPacket, type IPublishPacket, type ISubackPacket, type IUnsubackPacket } from 'mqtt-packet';
import { expectClosedAfter, expectConnackRefusal, RawClient, uniqueId, withBystander } from '../helpers/mqtt-harness.ts';

const fx = withBystander(test, { connectTimeoutMs: 2000 });

/** One of each kind: C0 (first, last), DEL, C1 (first, NEL, last). */
const CONTROLS = ['\u0001', '\u001f', '\u007f', '\u0080', '\u0085', '\u009f'];

const gen = (packet: object, version: number): Buffer => mqttPacket.generate(packet as mqttPacket.Packet, { protocolVersion: version });

const connectPacket = (version: number, extra: object = {}): object => ({
  cmd: 'connect',
  protocolVersion: version,
  protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
  clientId: uniqueId('names'),
  clean: true,
  keepalive: 0,
  ...extra,
});

test('control characters in the client id, user name or will topic: v5 CONNACK 0x81, 3.1 / 3.1.1 closed', async (t) => {
  for (const c of CONTROLS) {
    for (const [version, code] of [[5, 0x81], [4, undefined], [3, undefined]] as const) {
      await expectConnackRefusal(t, fx, gen(connectPacket(version, { clientId: `id${c}x` }), version), version, code);
      await expectConnackRefusal(t, fx, gen(connectPacket(version, { username: `user${c}` }), version), version, code);
      const will = { topic: `w/${c}`, payload: Buffer.from('bye'), qos: 0, retain: false };
      await expectConnackRefusal(t, fx, gen(connectPacket(version, { will }), version), version, code);
    }
  }
});

test('control characters in a PUBLISH topic or a SUBSCRIBE / UNSUBSCRIBE filter: v5 DISCONNECT 0x81, 3.1.1 closed', async (t) => {
  for (const c of CONTROLS) {
    for (const version of [5, 4] as const) {
      await expectClosedAfter(t, fx, gen({ cmd: 'publish', topic: `t/${c}`, payload: Buffer.from('x'), qos: 0, retain: false, dup: false }, version), version);
      await expectClosedAfter(t, fx, gen({ cmd: 'publish', topic: `t${c}`, payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false }, version), version);
      await expectClosedAfter(t, fx, gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ok', qos: 0 }, { topic: `f/${c}/+`, qos: 1 }] }, version), version);
      await expectClosedAfter(t, fx, gen({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [`f/${c}`] }, version), version);
    }
  }
});

test('the characters next to the control ranges are accepted in every name (space, ~, U+00A0, U+00FF)', async (t) => {
  const topic = `ok/ ~\u00a0\u00ff/${uniqueId()}`;
  for (const version of [5, 4] as const) {
    const raw = await RawClient.connected(fx.k.port, version, {
      clientId: `id ~\u00a0\u00ff${uniqueId()}`,
      username: 'user ~\u00a0',
      will: { topic: 'w/ ~\u00a0', payload: Buffer.from('bye'), qos: 0, retain: false },
    } as Partial<mqttPacket.IConnectPacket>);
    t.is((raw.packets[0] as IConnackPacket).reasonCode ?? (raw.packets[0] as IConnackPacket).returnCode, 0);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] }, version);
    t.deepEqual(((await raw.next('suback')) as ISubackPacket).granted, [1]);
    raw.send({ cmd: 'publish', topic, payload: Buffer.from('back'), qos: 1, messageId: 2, retain: false, dup: false }, version);
    // (the copy is routed before the PUBACK is sent)
    t.is(((await raw.next('publish')) as IPublishPacket).topic, topic);
    await raw.next('puback');
    raw.close();
  }
});

const MISPLACED = ['a/+b', 'a+', '+a/b', 'a#', 'a/#/b', '#/a', 'a/b#', '#+', 'a/++', '$share/g/a/#/b'];

test('3.1.1 SUBSCRIBE / UNSUBSCRIBE with a misplaced wildcard: closed, no SUBACK (MQTT-4.7.1-2/-3)', async (t) => {
  for (const filter of MISPLACED) {
    await expectClosedAfter(t, fx, gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fine/+', qos: 1 }, { topic: filter, qos: 1 }] }, 4), 4);
    await expectClosedAfter(t, fx, gen({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [filter] }, 4), 4);
  }
  await expectClosedAfter(t, fx, gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#/b', qos: 0 }] }, 3), 3);
});

test('v5 SUBSCRIBE / UNSUBSCRIBE with a misplaced wildcard: DISCONNECT 0x81', async (t) => {
  for (const filter of MISPLACED) {
    await expectClosedAfter(t, fx, gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] }, 5), 5);
    await expectClosedAfter(t, fx, gen({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['fine', filter] }, 5), 5);
  }
});

test('well-placed wildcards are still granted and unsubscribed, in both versions', async (t) => {
  const filters = ['+', '#', '/#', '+/+', 'a/+/b', 'a/#', '+/#', '$share/g/+/x'];
  for (const version of [5, 4] as const) {
    const raw = await RawClient.connected(fx.k.port, version);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos: 0 })) }, version);
    t.deepEqual(((await raw.next('suback')) as ISubackPacket).granted, filters.map(() => 0));
    raw.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: filters }, version);
    const unsuback = (await raw.next('unsuback')) as IUnsubackPacket;
    if (version === 5) t.deepEqual(unsuback.granted, filters.map(() => 0));
    t.false(raw.isClosed);
    raw.close();
  }
});

test('a SUBSCRIBE refused for a misplaced wildcard subscribes none of its filters', async (t) => {
  // a persistent session, so that its subscriptions would outlive the closed connection
  const clientId = uniqueId('refused');
  const subscribe = gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fine/#', qos: 1 }, { topic: 'x/#/y', qos: 1 }] }, 4);
  await expectClosedAfter(t, fx, subscribe, 4, 0x81, { clientId, clean: false });
  const session = fx.k.gate.sessions.get('realm1', clientId);
  t.truthy(session, 'the persistent session lives on');
  t.is(session?.subs.size, 0);
  session?.end();
});

test("'#' and '/#' are different subscriptions (one level less): '/#' gets only topics under the empty first level", async (t) => {
  const id = uniqueId('hash');
  const all = await RawClient.connected(fx.k.port, 5);
  all.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 1 }] });
  await all.next('suback');
  const rooted = await RawClient.connected(fx.k.port, 5);
  rooted.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '/#', qos: 1 }] });
  await rooted.next('suback');
  await fx.bystander.publishAsync(`nf/${id}`, 'not under /', { qos: 1 });
  await fx.bystander.publishAsync(`/nf/${id}`, 'under /', { qos: 1 });
  t.is(((await rooted.next('publish')) as IPublishPacket).payload.toString(), 'under /');
  all.close();
  rooted.close();
});

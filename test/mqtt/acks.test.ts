// Acknowledgements a client sends for messages the server has in flight to it, over raw sockets.
// One of the wrong type for the message (PUBREC or PUBCOMP for QoS 1; PUBACK or PUBCOMP for a
// QoS 2 message not yet PUBRECed; PUBACK after PUBREL) is a protocol violation: v5 DISCONNECT
// 0x82, 3.1.1 closed (MQTT-4.3.2-2, MQTT-4.3.3-2, MQTT-4.8.0-1). One for a packet id with nothing
// in flight stays tolerated. A 3.1/3.1.1 PUBACK / PUBREC / PUBREL / PUBCOMP is exactly a packet
// id: any other remaining length is malformed.
import test, { type ExecutionContext } from 'ava';
import type { IPublishPacket, IPubrelPacket } from 'mqtt-packet';
import { assertUndisturbed, expectClosedAfter, expectClosedBy, RawClient, uniqueId, warnings, withBystander } from '../helpers/mqtt-harness.ts';

const fx = withBystander(test, { connectTimeoutMs: 2000 });

type Ack = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
const FIRST: Record<Ack, number> = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 };
const ack = (cmd: Ack, id: number): number[] => [FIRST[cmd], 0x02, id >> 8, id & 0xff];

/** A raw client subscribed at QoS 2 with one message of `qos` in flight to it: the client and the PUBLISH. */
async function withMessageInFlight(version: 4 | 5, qos: 1 | 2): Promise<{ raw: RawClient; id: number }> {
  const raw = await RawClient.connected(fx.k.port, version);
  const topic = `acks/${uniqueId()}`;
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 2 }] }, version);
  await raw.next('suback');
  await fx.bystander.publishAsync(topic, 'in flight', { qos });
  const publish = (await raw.next('publish')) as IPublishPacket;
  return { raw, id: publish.messageId as number };
}

async function wrongAck(t: ExecutionContext, version: 4 | 5, qos: 1 | 2, afterPubrec: boolean, cmd: Ack): Promise<void> {
  const before = warnings(fx);
  const { raw, id } = await withMessageInFlight(version, qos);
  if (afterPubrec) {
    raw.write(ack('pubrec', id));
    t.is(((await raw.next('pubrel')) as IPubrelPacket).messageId, id);
  }
  await expectClosedBy(t, raw, ack(cmd, id), 0x82);
  await assertUndisturbed(t, fx, before);
}

for (const version of [5, 4] as const) {
  const closed = version === 5 ? 'DISCONNECT 0x82' : 'closed';
  test(`v${version}: PUBREC or PUBCOMP for a QoS 1 message in flight: ${closed}`, async (t) => {
    await wrongAck(t, version, 1, false, 'pubrec');
    await wrongAck(t, version, 1, false, 'pubcomp');
  });

  test(`v${version}: PUBACK or PUBCOMP for a QoS 2 message before its PUBREC: ${closed}`, async (t) => {
    await wrongAck(t, version, 2, false, 'puback');
    await wrongAck(t, version, 2, false, 'pubcomp');
  });

  test(`v${version}: PUBACK for a QoS 2 message after PUBREL: ${closed}`, async (t) => {
    await wrongAck(t, version, 2, true, 'puback');
  });

  test(`v${version}: acknowledgements for packet ids with nothing in flight are tolerated; the right ones complete`, async (t) => {
    const one = await withMessageInFlight(version, 1);
    one.raw.write([...ack('puback', 999), ...ack('pubcomp', 998), ...ack('pubrec', 997)]);
    // PUBREC for an unknown id is answered (v5 PUBREL 0x92, "Packet Identifier not found")
    const pubrel = (await one.raw.next('pubrel')) as IPubrelPacket;
    t.is(pubrel.messageId, 997);
    if (version === 5) t.is(pubrel.reasonCode, 0x92);
    one.raw.write(ack('puback', one.id));
    const two = await withMessageInFlight(version, 2);
    two.raw.write(ack('pubrec', two.id));
    await two.raw.next('pubrel');
    two.raw.write(ack('pubcomp', two.id));
    // both flows are complete: a ping round trip proves the acknowledgements were handled, and nothing is resent
    for (const { raw } of [one, two]) {
      raw.send({ cmd: 'pingreq' }, version);
      await raw.next('pingresp');
      t.false(raw.isClosed);
      t.is(raw.packets.filter((p) => p.cmd === 'publish').length, 1);
      raw.close();
    }
  });
}

test('3.1 / 3.1.1 PUBACK, PUBREC, PUBREL, PUBCOMP with a remaining length other than 2: closed as malformed', async (t) => {
  for (const version of [4, 3] as const) {
    for (const first of Object.values(FIRST)) {
      await expectClosedAfter(t, fx, [first, 0x03, 0x00, 0x01, 0x00], version);
      await expectClosedAfter(t, fx, [first, 0x04, 0x00, 0x01, 0x00, 0x00], version);
      await expectClosedAfter(t, fx, [first, 0x00], version);
    }
  }
});

test('v5 acknowledgements may still carry a reason code and properties', async (t) => {
  const { raw, id } = await withMessageInFlight(5, 1);
  // PUBACK, reason 0x10 (no matching subscribers), User Property k=v
  raw.write([0x40, 0x0b, id >> 8, id & 0xff, 0x10, 0x07, 0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76]);
  raw.send({ cmd: 'pingreq' });
  await raw.next('pingresp');
  t.false(raw.isClosed, 'the long form is accepted');
  raw.close();
});

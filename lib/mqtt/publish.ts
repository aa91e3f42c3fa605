// Inbound PUBLISH: topic alias, topic validation, receive-maximum accounting, payload format check,
// routing through core, then PUBACK (QoS 1) or PUBREC (QoS 2, exactly once: the packet id is kept
// until PUBREL and a duplicate is acknowledged without being routed again). The acknowledgement
// waits for everything the publish made durable: retained and history writes, offline-queue and
// in-flight writes of persistent subscribers (core's publish promise covers those), and for a
// persistent publisher's QoS 2 the stored packet id, so exactly once holds across a restart.
// A publish the role forbids: v5 PUBACK/PUBREC 0x87; 3.1.1, which cannot refuse, acknowledges it
// unrouted or disconnects, as `forbiddenPublish` says (the realm logs each refusal, within a budget).
import { isUtf8 } from 'node:buffer';
import type { IPublishPacket } from 'mqtt-packet';
import { Payload } from '../core/payload.ts';
import { mqttLevels, TopicSizeError } from '../core/topic.ts';
import { isLimitRefusal, isNotAuthorized, isStoreFailure, MqttError, publishErrorCode, RC } from './codes.ts';
import type { Connection } from './connection.ts';
import { headersFrom, ownBytes, responseTopicProblem } from './props.ts';

function resolveTopic(conn: Connection, packet: IPublishPacket): string {
  const alias = conn.version === 5 ? packet.properties?.topicAlias : undefined;
  if (alias === undefined) {
    if (packet.topic === '') throw new MqttError(conn.version === 5 ? RC.protocolError : RC.topicNameInvalid, 'empty topic name without a topic alias');
    return packet.topic;
  }
  if (alias === 0 || alias > conn.gate.options.topicAliasMaximum) throw new MqttError(RC.topicAliasInvalid, `topic alias ${alias} outside 1..${conn.gate.options.topicAliasMaximum}`);
  if (packet.topic !== '') {
    conn.inAliases.set(alias, packet.topic);
    return packet.topic;
  }
  const topic = conn.inAliases.get(alias);
  if (topic === undefined) throw new MqttError(RC.protocolError, `topic alias ${alias} is not defined`);
  return topic;
}

export function handlePublish(conn: Connection, packet: IPublishPacket): void {
  const session = conn.session;
  if (!session) throw new MqttError(RC.protocolError, 'PUBLISH before CONNECT');
  const v5 = conn.version === 5;
  const topic = resolveTopic(conn, packet);
  let levels: string[];
  try {
    levels = mqttLevels(topic, conn.gate.router.limits);
  } catch (err) {
    const message = err instanceof Error ? err.message : 'invalid topic name';
    if (!(err instanceof TopicSizeError)) throw new MqttError(RC.topicNameInvalid, message);
    // Well formed but over the server's size limit: v5 refuses the message (0x90, "not accepted
    // by this Server") and a QoS 0 one is dropped; 3.1.1 has no refusal, so the connection ends.
    conn.gate.router.stats.limitRefusals++;
    if (!v5) throw new MqttError(RC.topicNameInvalid, message);
    if (packet.qos > 0) conn.ack({ cmd: packet.qos === 1 ? 'puback' : 'pubrec', messageId: packet.messageId ?? 0, reasonCode: RC.topicNameInvalid, properties: conn.reason(message) });
    else conn.gate.logger.debug({ ...conn.log, err: message }, 'QoS 0 publish refused');
    return;
  }
  const props = v5 ? packet.properties : undefined;
  if (props?.subscriptionIdentifier !== undefined) throw new MqttError(RC.protocolError, 'a client must not send a Subscription Identifier in PUBLISH');
  const badResponseTopic = responseTopicProblem(props);
  if (badResponseTopic) throw new MqttError(RC.protocolError, badResponseTopic);

  const qos = packet.qos;
  const id = packet.messageId ?? 0;
  if (qos === 2 && session.inboundQos2.has(id)) {
    // Duplicate of a message already routed and awaiting PUBREL: acknowledge, do not route again.
    conn.ack({ cmd: 'pubrec', messageId: id, reasonCode: RC.success });
    return;
  }
  if (v5 && qos > 0 && conn.pendingQos1 + session.inboundQos2.size >= conn.gate.options.receiveMaximum) {
    throw new MqttError(RC.receiveMaximumExceeded, `more than ${conn.gate.options.receiveMaximum} QoS 1/2 publishes in flight`);
  }
  const payload = packet.payload as Buffer;
  if (props?.payloadFormatIndicator && !isUtf8(payload)) {
    if (qos === 0) throw new MqttError(RC.payloadFormatInvalid, 'payload is not UTF-8 but its format indicator says so');
    conn.ack({ cmd: qos === 1 ? 'puback' : 'pubrec', messageId: id, reasonCode: RC.payloadFormatInvalid, properties: conn.reason('payload is not valid UTF-8') });
    return;
  }

  let outcome: number | Promise<number>;
  try {
    outcome = session.core.publishNow(levels, Payload.fromBytes(ownBytes(payload)), {
      qos,
      retain: packet.retain,
      excludeMe: false,
      headers: headersFrom(props, Date.now()),
    });
  } catch (err) {
    // authorization is decided synchronously: a forbidden publish is known here
    if (isNotAuthorized(err)) {
      conn.gate.router.stats.mqttForbiddenPublishes++;
      if (!v5 && conn.gate.options.forbiddenPublish === 'disconnect') {
        conn.refused('a publish', err);
        return;
      }
    }
    outcome = Promise.reject(err);
  }
  if (qos === 0) {
    if (typeof outcome !== 'number') outcome.catch((err: unknown) => conn.gate.logger.debug({ ...conn.log, topic, err: String(err) }, 'QoS 0 publish refused'));
    return;
  }
  if (qos === 1 && typeof outcome === 'number') {
    // routed, nothing to commit: acknowledged at once, without a promise per message
    conn.ack({ cmd: 'puback', messageId: id, reasonCode: RC.success });
    return;
  }
  const slot = conn.reserveAck();
  const cmd = qos === 1 ? 'puback' : 'pubrec';
  let done: Promise<unknown> = Promise.resolve(outcome);
  if (qos === 1) conn.pendingQos1++;
  else {
    session.inboundQos2.add(id);
    const held = session.journal?.inboundHeld(id);
    if (held) done = Promise.all([done, held]);
  }
  done.then(
    conn.guard(() => {
      if (qos === 1) conn.pendingQos1--;
      conn.settleAck(slot, { cmd, messageId: id, reasonCode: RC.success });
    }),
    conn.guard((err: unknown) => {
      // 3.1.1 cannot refuse a publish: rather than acknowledge what was not stored, disconnect
      // (the client publishes again after reconnecting, and that copy must be routed: the QoS 2
      // packet id is forgotten).
      if (!v5 && (isStoreFailure(err) || isLimitRefusal(err))) {
        if (qos === 1) conn.pendingQos1--;
        else if (session.inboundQos2.delete(id)) void session.journal?.inboundReleased(id);
        if (isLimitRefusal(err)) conn.refusedAtLimit('a publish', err);
        else conn.storeFailure('a publish', err);
        return;
      }
      if (qos === 1) conn.pendingQos1--;
      // A v5 PUBREC with a failure code ends the exchange; 3.1.1 still expects PUBREL → PUBCOMP.
      else if (v5 && session.inboundQos2.delete(id)) void session.journal?.inboundReleased(id);
      conn.gate.logger.debug({ ...conn.log, topic, err: String(err) }, 'publish refused');
      conn.settleAck(slot, { cmd, messageId: id, reasonCode: publishErrorCode(err), properties: conn.reason(String((err as Error)?.message ?? err)) });
    }),
  );
}

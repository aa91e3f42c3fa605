// SUBSCRIBE: each filter (plain or `$share/group/filter`) becomes a core subscription carrying the
// MQTT options (QoS, no local, retain as published, subscription identifier); SUBACK answers with
// the granted QoS or a failure code per filter; then matching retained messages follow, per the
// v5 retain handling (0 always, 1 only for a new subscription, 2 never; never for shared ones).
import type { ISubscribePacket, ISubscription } from 'mqtt-packet';
import type { Subscription } from '../core/broker.ts';
import { mqttPattern } from '../core/topic.ts';
import type { QoS } from '../core/types.ts';
import { MqttError, RC, subscribeErrorCode } from './codes.ts';
import type { Connection } from './connection.ts';

export interface ParsedFilter {
  filter: string;
  shareGroup?: string;
}

/** Splits `$share/group/filter`; a string describes why the shared filter is invalid. */
export function parseShared(topic: string): ParsedFilter | string {
  if (!topic.startsWith('$share/')) return { filter: topic };
  const rest = topic.slice('$share/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return 'shared subscription without a group name or filter';
  const group = rest.slice(0, slash);
  const filter = rest.slice(slash + 1);
  if (/[+#]/.test(group)) return 'wildcard in a share group name';
  if (filter === '') return 'shared subscription with an empty filter';
  return { filter, shareGroup: group };
}

export function handleSubscribe(conn: Connection, packet: ISubscribePacket): void {
  const session = conn.session;
  if (!session) throw new MqttError(RC.protocolError, 'SUBSCRIBE before CONNECT');
  const v5 = conn.version === 5;
  if (packet.subscriptions.length === 0) throw new MqttError(RC.protocolError, 'SUBSCRIBE without topic filters');
  const subId = v5 ? (packet.properties?.subscriptionIdentifier as number | number[] | undefined) : undefined;
  if (Array.isArray(subId)) throw new MqttError(RC.protocolError, 'more than one Subscription Identifier');
  if (subId === 0) throw new MqttError(RC.protocolError, 'Subscription Identifier 0');
  // 3.1.1 has one failure code for every refusal; v5 says why.
  const failure = v5 ? 0 : 0x80;
  const granted: number[] = [];
  const retained: Subscription[] = [];
  for (const s of packet.subscriptions as ISubscription[]) {
    const parsed = parseShared(s.topic);
    if (typeof parsed === 'string') {
      conn.gate.logger.debug({ ...conn.log, filter: s.topic }, parsed);
      granted.push(failure || RC.topicFilterInvalid);
      continue;
    }
    if (parsed.shareGroup !== undefined && s.nl) throw new MqttError(RC.protocolError, 'No Local on a shared subscription');
    try {
      const pattern = mqttPattern(parsed.filter);
      const existed = session.subs.has(s.topic);
      const qos = s.qos as QoS;
      const rh = (s.rh ?? 0) as 0 | 1 | 2;
      const sub = session.core.subscribe(pattern, {
        mqtt: true,
        qos,
        noLocal: s.nl === true,
        retainAsPublished: s.rap === true,
        subscriptionIdentifier: subId,
        shareGroup: parsed.shareGroup,
      });
      session.subs.set(s.topic, {
        sub,
        record: { filter: s.topic, qos, noLocal: s.nl === true, retainAsPublished: s.rap === true, retainHandling: rh, subscriptionIdentifier: subId },
      });
      granted.push(qos);
      if (parsed.shareGroup === undefined && (rh === 0 || (rh === 1 && !existed))) retained.push(sub);
    } catch (err) {
      conn.gate.logger.debug({ ...conn.log, filter: s.topic, err: String(err) }, 'subscription refused');
      granted.push(failure || subscribeErrorCode(err));
    }
  }
  conn.send({ cmd: 'suback', messageId: packet.messageId ?? 0, granted });
  for (const sub of retained) {
    if (!session.core.isOpen) break;
    session.core.realm.deliverRetained(session.core, sub);
  }
}

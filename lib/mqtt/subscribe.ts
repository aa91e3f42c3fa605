// SUBSCRIBE: each filter (plain or `$share/group/filter`) becomes a core subscription carrying the
// MQTT options (QoS, no local, retain as published, subscription identifier); SUBACK answers with
// the granted QoS or a failure code per filter; then matching retained messages follow, per the
// v5 retain handling (0 always, 1 only for a new subscription, 2 never; never for shared ones).
// A persistent session stores its subscriptions before SUBACK (and before the retained messages).
import type { ISubscribePacket, ISubscription } from 'mqtt-packet';
import type { Subscription } from '../core/routing-types.ts';
import type { MqttSubscriptionRecord } from '../core/store.ts';
import { mqttPattern, TopicSizeError } from '../core/topic.ts';
import type { QoS } from '../core/types.ts';
import { MqttError, RC, subscribeErrorCode } from './codes.ts';
import type { Connection } from './connection.ts';
import type { MqttSession } from './session-state.ts';

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

/**
 * Makes (or replaces) the core subscription a record describes and keeps it in the session.
 * Throws what core throws (not authorized, limits, invalid filter) and for an invalid shared filter.
 */
export function subscribeRecord(session: MqttSession, record: MqttSubscriptionRecord): Subscription {
  const parsed = parseShared(record.filter);
  if (typeof parsed === 'string') throw new Error(parsed);
  const sub = session.core.subscribe(mqttPattern(parsed.filter, session.core.realm.limits), {
    mqtt: true,
    qos: record.qos,
    noLocal: record.noLocal,
    retainAsPublished: record.retainAsPublished,
    subscriptionIdentifier: record.subscriptionIdentifier,
    shareGroup: parsed.shareGroup,
  });
  session.setSub(record.filter, { sub, record });
  return sub;
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
  let changed = false;
  for (const s of packet.subscriptions as ISubscription[]) {
    const parsed = parseShared(s.topic);
    if (typeof parsed === 'string') {
      conn.gate.logger.debug({ ...conn.log, filter: s.topic }, parsed);
      granted.push(failure || RC.topicFilterInvalid);
      continue;
    }
    if (parsed.shareGroup !== undefined && s.nl) throw new MqttError(RC.protocolError, 'No Local on a shared subscription');
    try {
      const existed = session.subs.has(s.topic);
      const qos = s.qos as QoS;
      const rh = (s.rh ?? 0) as 0 | 1 | 2;
      const sub = subscribeRecord(session, { filter: s.topic, qos, noLocal: s.nl === true, retainAsPublished: s.rap === true, retainHandling: rh, subscriptionIdentifier: subId });
      granted.push(qos);
      changed = true;
      if (parsed.shareGroup === undefined && (rh === 0 || (rh === 1 && !existed))) retained.push(sub);
    } catch (err) {
      if (err instanceof TopicSizeError) conn.gate.router.stats.limitRefusals++;
      conn.gate.logger.debug({ ...conn.log, filter: s.topic.slice(0, 200), err: String(err) }, 'subscription refused');
      granted.push(failure || subscribeErrorCode(err));
    }
  }
  const acknowledge = (): void => {
    conn.send({ cmd: 'suback', messageId: packet.messageId ?? 0, granted });
    for (const sub of retained) {
      if (!session.core.isOpen || session.ended) break;
      session.core.realm.deliverRetained(session.core, sub);
    }
  };
  const saved = changed ? session.journal?.saveRecord() : undefined;
  if (saved) saved.then(conn.guard(acknowledge), conn.guard((err: unknown) => conn.storeFailure('subscriptions', err)));
  else acknowledge();
}

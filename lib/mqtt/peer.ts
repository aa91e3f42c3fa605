// The MQTT side of core's Peer port: each delivery becomes a PUBLISH at
// min(subscriber QoS, publication QoS). Encoded PUBLISH packets are cached on the publication
// (publication.frames), so a fan-out to many MQTT subscribers encodes each variant once. A live
// delivery that a persistent session writes to the store (offline queue, in-flight state) hands
// that write to core through publication.commits, so the publisher is acknowledged after it.
import { ErrorUri } from '../core/errors.ts';
import { Payload } from '../core/payload.ts';
import type { Router } from '../core/router.ts';
import type { SessionIdentity } from '../core/session.ts';
import { patternMatches } from '../core/topic.ts';
import type { Dict, EventDelivery, InterruptMode, Peer, Publication, QoS, ResultDetails, SubscriberInfo } from '../core/types.ts';
import { RC, type ProtocolVersion } from './codes.ts';
import { encodePublish, type PublishFrame, type PublishProperties } from './encode.ts';
import type { MqttSession, Outbound, SubscriptionEntry } from './session-state.ts';

/** Shared by every peer that never merged a delivery (never written). */
const NONE: readonly number[] = [];

export class MqttPeer implements Peer {
  /** The publication last delivered as one copy for overlapping subscriptions, and those subscriptions. */
  private mergedId = 0;
  private mergedSubs: readonly number[] = NONE;

  constructor(private readonly session: MqttSession) {}

  event(d: EventDelivery, info: SubscriberInfo): void {
    try {
      const pub = d.publication;
      const expiresAt = pub.headers?.expiresAt;
      if (expiresAt !== undefined && expiresAt <= Date.now()) return;
      let out: Outbound | undefined;
      if (!d.retained && this.session.subs.size > 1 && this.session.wildcardSubs.length > 0) {
        // one copy for overlapping subscriptions: the core delivers once per subscription
        if (pub.id === this.mergedId && this.mergedSubs.includes(d.subscriptionId)) return;
        out = this.merged(d);
      }
      if (!out) {
        out = {
          pub,
          qos: (info.qos < pub.qos ? info.qos : pub.qos) as QoS,
          retain: d.retained || (info.retainAsPublished && pub.retain),
          subscriptionIdentifier: info.subscriptionIdentifier,
          packetId: 0,
          state: 'publish',
        };
      }
      const stored = this.session.deliver(out);
      // Retained replays on subscribe are not part of anyone's publish.
      if (stored !== undefined && !d.retained) (pub.commits ??= []).push(stored);
    } catch (err) {
      this.session.warn({ clientId: this.session.clientId, err: String(err) }, 'MQTT delivery failed');
    }
  }

  /**
   * When the delivering subscription overlaps others of this session (not shared ones), the one
   * copy that stands for all of them, as mosquitto sends it: the highest of their QoS, every
   * subscription identifier (MQTT-3.3.4-4), retained if any keeps the retain flag. Undefined when
   * nothing overlaps. Later deliveries of the same publication for those subscriptions are then
   * skipped (mergedId, mergedSubs); a shared subscription's delivery never is.
   */
  private merged(d: EventDelivery): Outbound | undefined {
    const pub = d.publication;
    const session = this.session;
    const matching: SubscriptionEntry[] = [];
    const exact = session.subs.get(topicOf(pub));
    if (exact && exact.sub.shareGroup === undefined) matching.push(exact);
    for (const e of session.wildcardSubs) if (patternMatches(e.sub.pattern, pub.topic)) matching.push(e);
    if (matching.length < 2 || !matching.some((e) => e.sub.id === d.subscriptionId)) return undefined;
    const own = pub.publisherSession === session.core.id;
    let qos = -1;
    let retain = false;
    const ids: number[] = [];
    for (const { record } of matching) {
      if (own && record.noLocal) continue;
      if (record.qos > qos) qos = record.qos;
      if (record.retainAsPublished && pub.retain) retain = true;
      if (record.subscriptionIdentifier !== undefined) ids.push(record.subscriptionIdentifier);
    }
    this.mergedId = pub.id;
    this.mergedSubs = matching.map((e) => e.sub.id);
    return {
      pub,
      qos: (qos < pub.qos ? qos : pub.qos) as QoS,
      retain,
      subscriptionIdentifier: ids.length === 0 ? undefined : ids.length === 1 ? ids[0] : ids,
      packetId: 0,
      state: 'publish',
    };
  }

  invocation(invocationId: number): void {
    // MQTT sessions never register procedures; answer rather than leave a caller hanging.
    this.session.core.invocationError(invocationId, ErrorUri.noSuchProcedure, Payload.empty());
  }

  interrupt(_invocationId: number, _mode: InterruptMode, _reason: string): void {}

  result(_requestId: number, _payload: Payload, _details: ResultDetails): void {}

  callError(_requestId: number, _error: string, _payload: Payload, _details: Dict): void {}

  unsubscribed(subscriptionId: number): void {
    this.session.forget(subscriptionId);
  }

  kill(reason: string, message: string): void {
    try {
      // A shutdown keeps a persistent session's stored state; any other kill ends the session.
      const shutdown = reason === ErrorUri.systemShutdown;
      this.session.kill(shutdown ? RC.serverShuttingDown : RC.administrativeAction, message, shutdown);
    } catch (err) {
      this.session.warn({ clientId: this.session.clientId, err: String(err) }, 'MQTT session kill failed');
    }
  }

  bufferedBytes(): number {
    return this.session.link?.buffered() ?? 0;
  }
}

/** Who a session is, as the gate authenticated it (kept with a stored session). */
export type MqttIdentity = Pick<SessionIdentity, 'authid' | 'authrole' | 'authmethod' | 'authprovider'>;

/** Attaches the core session of an MQTT session (new at CONNECT, or restored from the store). Throws like Router.attach. */
export function attachSession(router: Router, session: MqttSession, identity: MqttIdentity, transport: Dict): void {
  // Spelled out, not spread: `{ ...identity, more }` gives every session its own hidden class (~280 B each).
  const { authid, authrole, authmethod, authprovider } = identity;
  session.core = router.attach(session.realm, { authid, authrole, authmethod, authprovider, protocol: 'mqtt', transport }, new MqttPeer(session));
}

/** The MQTT topic name of a publication, cached on it. */
export function topicOf(pub: Publication): string {
  let t = pub.frames.get('mqtt|topic') as string | undefined;
  if (t === undefined) {
    t = pub.topic.join('/');
    pub.frames.set('mqtt|topic', t);
  }
  return t;
}

/**
 * The encoded PUBLISH for one outbound message (packet id 0, patched by the caller), shared
 * through publication.frames by every delivery that yields the same bytes. Undefined when the
 * message has expired (a retransmission is still sent, without the expiry property).
 */
export function publishFrame(out: Outbound, version: ProtocolVersion, alias: number | undefined, aliasOnly: boolean, now: number, retransmit: boolean): PublishFrame | undefined {
  const pub = out.pub as Publication;
  const h = pub.headers;
  let expiry: number | undefined;
  if (h?.expiresAt !== undefined) {
    const ms = h.expiresAt - now;
    if (ms > 0) expiry = Math.ceil(ms / 1000);
    else if (!retransmit) return undefined;
  }
  const v5 = version === 5;
  // The remaining expiry is not part of the key: an entry is replaced when it changes, so a
  // long-lived retained publication keeps one entry per variant, not one per second.
  const plain = out.qos * 2 + (out.retain ? 1 : 0);
  const key = !v5
    ? (PLAIN_KEYS_V4[plain] as string)
    : out.subscriptionIdentifier === undefined && alias === undefined
      ? (PLAIN_KEYS_V5[plain] as string)
      : `mqtt5|${out.qos}|${out.retain ? 1 : 0}|${out.subscriptionIdentifier ?? ''}|${alias ?? ''}|${aliasOnly ? 1 : 0}`;
  const cached = pub.frames.get(key) as CachedFrame | undefined;
  let frame = cached && cached.expiry === expiry ? cached.frame : undefined;
  if (!frame) {
    let props: PublishProperties | undefined;
    if (v5) {
      props = {};
      if (h) {
        if (h.payloadFormat !== undefined) props.payloadFormatIndicator = h.payloadFormat === 1;
        if (expiry !== undefined) props.messageExpiryInterval = expiry;
        if (h.contentType !== undefined) props.contentType = h.contentType;
        if (h.responseTopic !== undefined) props.responseTopic = h.responseTopic;
        if (h.correlationData !== undefined) props.correlationData = h.correlationData;
        if (h.userProperties !== undefined) props.userProperties = h.userProperties;
      }
      if (out.subscriptionIdentifier !== undefined) props.subscriptionIdentifier = out.subscriptionIdentifier;
      if (alias !== undefined) props.topicAlias = alias;
    }
    frame = encodePublish(aliasOnly ? '' : topicOf(pub), out.qos, out.retain, pub.payload.bytes, props);
    // Bounded: variants beyond the cap (many distinct subscription identifiers or aliases) are
    // encoded per delivery instead of being kept with the (possibly retained) publication.
    if (cached || pub.frames.size < MAX_CACHED_VARIANTS) pub.frames.set(key, { expiry, frame } satisfies CachedFrame);
  }
  return frame;
}

/** Cache keys of the common variants (no subscription identifier, no alias), by qos * 2 + retain. */
const PLAIN_KEYS_V4 = [0, 1, 2, 3, 4, 5].map((i) => `mqtt4|${i >> 1}|${i & 1}`);
const PLAIN_KEYS_V5 = [0, 1, 2, 3, 4, 5].map((i) => `mqtt5|${i >> 1}|${i & 1}|||0`);

interface CachedFrame {
  expiry: number | undefined;
  frame: PublishFrame;
}

const MAX_CACHED_VARIANTS = 32;

// Protocol-neutral types shared by the router core and every gate (WAMP, MQTT, HTTP, local).
import type { Dict } from './dict.ts';
import type { Payload } from './payload.ts';

export type { Dict };
export type Protocol = 'wamp' | 'mqtt' | 'http' | 'local';

/** Counters the metrics endpoint exposes; gates increment them. */
export interface RouterStats {
  /** Events (WAMP) and QoS 0 messages (MQTT) dropped for slow consumers. */
  droppedEvents: number;
  /** Connections closed because their send buffer passed the hard limit. */
  slowConsumersDisconnected: number;
  /** Connections ended for malformed or out-of-order input. */
  protocolErrors: number;
  /** WAMP messages refused for nesting deeper than Limits.maxNestingDepth (also in protocolErrors). */
  wampTooDeep: number;
  /** WAMP messages refused for a CBOR tag or MessagePack extension the router does not accept (also in protocolErrors). */
  wampUnsupportedTypes: number;
  /** Connections ended by an unexpected error inside a message handler (a bug, not the client's). */
  handlerErrors: number;
  /** Client requests refused (and not acknowledged) because the store failed them. */
  storeFailures: number;
  /** Requests refused at a configured limit (persistent sessions, retained topics, topic size...). */
  limitRefusals: number;
  /** QoS 1/2 messages dropped from a persistent session's full queue (count or bytes). */
  droppedQueued: number;
  /** Logins refused: unknown user, wrong secret, no usable method, anonymous not allowed (WAMP, MQTT). */
  authRefusals: number;
  /** MQTT publishes (any version) the client's role may not make: refused (v5), dropped or disconnected (3.1.1). */
  mqttForbiddenPublishes: number;
  /** Publications of other nodes that never arrived here (gaps in their sequence numbers). */
  clusterEventsLost: number;
  /** Messages on the cluster's channels that could not be read (another version, corruption), dropped. */
  clusterMalformed: number;
  /** Messages and bytes through the gates, per protocol, counted where each gate reads and writes frames. */
  traffic: Record<'wamp' | 'mqtt', TrafficCounters>;
  /** Deliveries a gate did not send, per protocol and reason (droppedEvents / droppedQueued are the older totals). */
  dropped: Record<'wamp' | 'mqtt', DropCounters>;
  /** Publications clients made (any protocol; router-originated ones such as meta events and $SYS are not counted). */
  publications: number;
  /** Calls clients made (any protocol; the continuation of a progressive call is not a new call). */
  calls: number;
  /** ERRORs sent to WAMP clients, by error URI (label set bounded: see ErrorCounts). */
  errors: ErrorCounts;
}

/**
 * One gate's traffic. Messages are the protocol's own (WAMP messages, MQTT packets); bytes are those
 * messages' encoded bytes, without the WebSocket or RawSocket framing around them.
 */
export interface TrafficCounters {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Of messagesOut, the publications delivered to a subscriber (WAMP EVENT, MQTT PUBLISH). */
  deliveries: number;
}

/** Deliveries a gate dropped instead of sending, by reason. */
export interface DropCounters {
  /** The peer's send buffer was past the soft limit (WAMP events, MQTT QoS 0). */
  slowConsumer: number;
  /** A persistent session's queue was full: its oldest message went (MQTT QoS 1/2). */
  queueFull: number;
  /** The message's expiry interval ran out before it could be sent (MQTT 5). */
  expired: number;
  /** Larger than the client's Maximum Packet Size (MQTT 5). */
  tooLarge: number;
}

/** A counter by URI whose label set a client cannot grow without bound (lib/core/error-counts.ts). */
export interface ErrorCounts {
  count(uri: string): void;
  /** Every URI counted so far and its count. */
  entries(): IterableIterator<[string, number]>;
}

/** How a subscription or registration URI is matched against a topic or procedure. */
export type MatchPolicy = 'exact' | 'prefix' | 'wildcard';

/**
 * A parsed pattern. `levels` holds one entry per topic level; `null` stands for a single-level
 * wildcard (WAMP empty component, MQTT `+`). `multi` marks a trailing MQTT `#`.
 */
export interface Pattern {
  match: MatchPolicy;
  levels: (string | null)[];
  multi: boolean;
  /** The URI as the client wrote it (WAMP dotted form, or MQTT filter). */
  uri: string;
}

export type QoS = 0 | 1 | 2;

/** Properties a publication may carry besides its payload (MQTT 5 properties, mapped where WAMP has them). */
export interface PublicationHeaders {
  contentType?: string;
  payloadFormat?: 0 | 1;
  responseTopic?: string;
  correlationData?: Uint8Array;
  userProperties?: Record<string, string | string[]>;
  /** Absolute expiry time in ms since epoch. */
  expiresAt?: number;
}

export interface PublishOptions {
  acknowledge?: boolean;
  excludeMe?: boolean;
  /** Session ids / authids / authroles to exclude or to restrict delivery to. */
  exclude?: number[];
  excludeAuthid?: string[];
  excludeAuthrole?: string[];
  eligible?: number[];
  eligibleAuthid?: string[];
  eligibleAuthrole?: string[];
  discloseMe?: boolean;
  retain?: boolean;
  /** Highest QoS at which subscribers may receive it (MQTT). WAMP: 2 if acknowledged, else 0. */
  qos?: QoS;
  headers?: PublicationHeaders;
  /** Resource-lock conditions (store issue). */
  when?: unknown;
  watch?: boolean;
  will?: unknown;
  force?: boolean;
  /**
   * In-process clients only (the gates never set it): a retained write refused with
   * kitsune.error.wrong_type, nothing written, when a collection table of this name exists —
   * decided by the store in the same operation as the write.
   */
  excludesCollection?: string;
}

export interface SubscribeOptions {
  match?: MatchPolicy;
  /** MQTT filter syntax (`/`, `+`, `#`) instead of WAMP URI syntax. */
  mqtt?: boolean;
  /** Deliver matching retained events first. */
  getRetained?: boolean;
  /** Share group: each publication goes to one member of the group. */
  shareGroup?: string;
  /** Per-subscriber data the gate keeps with the subscription (QoS, no-local, subscription id...). */
  qos?: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  subscriptionIdentifier?: number;
  /** Replay stored events published after this id before live ones. */
  after?: number;
  /** With `after`: replay, then end the subscription. */
  snapshot?: boolean;
  /** Deliver only events whose record has these field values (live and replayed). */
  filter?: Dict;
}

export interface SubscriberInfo {
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  subscriptionIdentifier?: number;
  shareGroup?: string;
  filter?: Dict;
}

export interface Publisher {
  session: number;
  authid: string;
  authrole: string;
  protocol: Protocol;
}

/** One publication as the broker delivers it. Shared by every delivery of that publication. */
export interface Publication {
  id: number;
  topic: string[];
  payload: Payload;
  publisher?: Publisher;
  /** Publisher's session id even when not disclosed; used for no-local and exclusion. */
  publisherSession?: number;
  qos: QoS;
  retain: boolean;
  headers?: PublicationHeaders;
  /**
   * Encodings cached per gate-chosen key for the whole fan-out, across subscriptions (MQTT: one
   * PUBLISH per variant). What is per subscription goes in EventDelivery.encoded.
   */
  frames: Map<string, unknown>;
  /**
   * Store writes that live deliveries of this publication started and that must be committed
   * before the publish is acknowledged (e.g. an MQTT persistent session's offline queue append).
   * A gate's Peer.event pushes here; core awaits and clears the list when the routing completes.
   */
  commits?: Promise<unknown>[];
}

/**
 * One publication delivered through one subscription. Shared by that subscription's subscribers:
 * what differs per subscriber comes with it as its SubscriberInfo (see Peer.event).
 */
export interface EventDelivery {
  subscriptionId: number;
  match: MatchPolicy;
  /** Whether this subscription was a pattern (details.topic must be sent). */
  pattern: boolean;
  publication: Publication;
  /** True when replayed from retained state on subscribe. */
  retained: boolean;
  /**
   * What a gate encoded for this delivery, in slots of its choosing (WAMP: one EVENT frame per
   * serializer), so its subscribers share one encoding. Created by the first gate that stores one.
   */
  encoded?: unknown[];
}

export interface CallOptions {
  timeout?: number;
  receiveProgress?: boolean;
  progress?: boolean;
  discloseMe?: boolean;
}

export interface InvocationDetails {
  caller?: number;
  callerAuthid?: string;
  callerAuthrole?: string;
  procedure?: string;
  receiveProgress?: boolean;
  progress?: boolean;
  timeout?: number;
}

export interface ResultDetails {
  progress?: boolean;
}

export type InterruptMode = 'skip' | 'kill' | 'killnowait';

export interface RegisterOptions {
  match?: MatchPolicy;
  invoke?: InvokePolicy;
  concurrency?: number;
  /** Bounded queue length for calls waiting on concurrency. */
  queueLimit?: number;
  /** Register for exactly one invocation, then unregister (esub `/sub`). */
  once?: boolean;
  /** Replace an existing single registration owned by another session (esub takeover). */
  forceReregister?: boolean;
}

export type InvokePolicy = 'single' | 'roundrobin' | 'random' | 'first' | 'last';

/**
 * The port through which core talks to a session's gate. Each protocol gate implements it;
 * core never sees sockets. Every method must not throw.
 */
export interface Peer {
  /** `subscriber`: this session's terms of the subscription (QoS, retain-as-published...). */
  event(delivery: EventDelivery, subscriber: SubscriberInfo): void;
  invocation(invocationId: number, registrationId: number, payload: Payload, details: InvocationDetails): void;
  interrupt(invocationId: number, mode: InterruptMode, reason: string): void;
  result(requestId: number, payload: Payload, details: ResultDetails): void;
  callError(requestId: number, error: string, payload: Payload, details: Dict): void;
  /** The router ended a subscription (snapshot replay finished, meta kill...). */
  unsubscribed?(subscriptionId: number, reason: string): void;
  unregistered?(registrationId: number, reason: string): void;
  /** The router wants this session closed (wamp.session.kill, shutdown). */
  kill(reason: string, message: string): void;
  /** Bytes queued for sending; the broker uses it to drop events for slow consumers. */
  bufferedBytes?(): number;
}

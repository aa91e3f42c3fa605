// What connections and packet handlers share: the router, the gate's options, its logger, the
// session registry and the counters. Implemented by the gate in index.ts.
import type { Router } from '../core/router.ts';
import type { DropCounters, TrafficCounters } from '../core/types.ts';
import type { TimerWheel, WheelEntry } from '../transport/timer-wheel.ts';
import type { MqttSession, SessionEnv, SessionPersistence, SessionRegistry } from './session-state.ts';

export type LogFn = (obj: object, msg?: string) => void;

/**
 * Inbound QoS 1/2 publishes a v5 client may have unfinished. Other brokers announce far less
 * (mosquitto 20, EMQX 32); the protocol maximum, 65535, let one client hold tens of thousands of
 * open QoS 2 exchanges, and a client could not even exceed it (packet ids run out first), so the
 * limit was never enforced in practice.
 */
export const DEFAULT_RECEIVE_MAXIMUM = 1024;

/**
 * 7 days: a 3.1.1 client that asked for a persistent session and never came back (fuzzers, devices
 * retired or renamed) otherwise holds its subscriptions, queue and store rows forever; a week still
 * covers a device that is off over a long weekend or a holiday.
 */
export const DEFAULT_V3_SESSION_EXPIRY = 7 * 24 * 3600;

/** 16 MiB: a queue always takes a message of the default maximum size (router limit maxMessageBytes). */
export const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;

export interface Logger {
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  error?: LogFn;
  /** pino's: read once by the gate to decide on per-packet tracing. */
  isLevelEnabled?(level: string): boolean;
}

/**
 * Logs at error level, or warn when the logger has none. Called as a method: pino's methods read
 * `this`, so a detached `(logger.error ?? logger.warn)(...)` throws — and an error path that throws
 * took the whole router down.
 */
export function logError(logger: Logger, obj: object, msg: string): void {
  if (logger.error) logger.error(obj, msg);
  else logger.warn(obj, msg);
}

export interface MqttGateOptions {
  /** Realm for clients whose username carries no `@realm`. Default 'realm1'. */
  defaultRealm?: string;
  /** Default: the router's logger (pino-style `(obj, msg)` calls). */
  logger?: Logger;
  /** Receive Maximum announced to v5 clients (inbound QoS 1/2 in flight). Default DEFAULT_RECEIVE_MAXIMUM. */
  receiveMaximum?: number;
  /** Topic Alias Maximum announced to v5 clients (inbound aliases). Default 64. */
  topicAliasMaximum?: number;
  /** v5 Server Keep Alive: when set, replaces the client's keep alive. */
  serverKeepAlive?: number;
  /**
   * Longest keep alive a client may ask for, seconds (0 or unset: any). A longer one, or 0 (none),
   * gets this value as v5 Server Keep Alive; a 3.1/3.1.1 client is refused with CONNACK 0x02, as
   * mosquitto's max_keepalive does (3.1.1 cannot announce another value).
   */
  maxKeepAlive?: number;
  /** Upper bound on session expiry, seconds. Default never. */
  maxSessionExpiry?: number;
  /**
   * Expiry of MQTT 3.1 / 3.1.1 persistent sessions (clean session off), which cannot ask for one,
   * in seconds (like mosquitto's persistent_client_expiration). Default DEFAULT_V3_SESSION_EXPIRY.
   */
  v3SessionExpiry?: number;
  /** QoS 1/2 messages kept per session while offline or past the client's window. Default 10,000. */
  maxQueuedMessages?: number;
  /** Bytes of those messages kept per session (payload + topic + 64 each). Default DEFAULT_MAX_QUEUED_BYTES. */
  maxQueuedBytes?: number;
  /** How often stored sessions are checked for expiry (ones no live session stands for). Default 10 min. */
  sessionSweepMs?: number;
  /** Time a new connection has to send CONNECT. Default 10 s. */
  connectTimeoutMs?: number;
  /** Largest packet accepted from clients; default router.limits.maxMessageBytes. */
  maxPacketSize?: number;
  /**
   * A 3.1/3.1.1 publish the client's role may not make (3.1.1 has no refusal in PUBACK): 'drop'
   * (default) acknowledges it per its QoS without routing it, 'disconnect' closes the connection.
   * Either way it is counted (RouterStats.mqttForbiddenPublishes) and logged. v5 answers PUBACK 0x87.
   */
  forbiddenPublish?: ForbiddenPublish;
  /**
   * A client with a verified TLS client certificate is the realm's `tls` principal its certificate
   * names, whatever user name and password it sends (mosquitto's use_identity_as_username); clients
   * without one authenticate as usual. Default false.
   */
  useIdentityAsUsername?: boolean;
}

export type ForbiddenPublish = 'drop' | 'disconnect';

export interface ResolvedOptions {
  defaultRealm: string;
  receiveMaximum: number;
  topicAliasMaximum: number;
  serverKeepAlive: number | undefined;
  /** 0: no maximum. */
  maxKeepAlive: number;
  maxSessionExpiry: number;
  v3SessionExpiry: number;
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  sessionSweepMs: number;
  connectTimeoutMs: number;
  maxPacketSize: number;
  forbiddenPublish: ForbiddenPublish;
  useIdentityAsUsername: boolean;
}

/** Counters the server may export as metrics. */
export interface GateStats {
  connections: number;
  /** QoS 0 messages dropped because the client's send buffer was over the soft limit. */
  droppedQos0: number;
  /** QoS 0 messages for a persistent session while it was offline. */
  droppedOfflineQos0: number;
  /** Oldest queued QoS 1/2 messages dropped when a session's queue was full (messages or bytes). */
  droppedQueueFull: number;
  /** CONNECTs refused because the realm had its limit of persistent sessions. */
  refusedPersistentSessions: number;
  /** Messages not sent because they were larger than the client's Maximum Packet Size. */
  droppedTooLarge: number;
  /** Messages whose Message Expiry Interval ran out before delivery. */
  expired: number;
  /** Connections ended for bad input or protocol errors. */
  badInput: number;
  /** Connections ended because their send buffer passed the hard limit. */
  slowConsumers: number;
}

export interface Closable {
  /** Server shutdown: v5 DISCONNECT 0x8B, then close. */
  shutdown(): void;
  /** Stored sessions are restored: input held meanwhile is handled. */
  release(): void;
  destroy(): void;
  readonly closed: Promise<void>;
}

export interface GateContext {
  readonly router: Router;
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  readonly registry: SessionRegistry;
  readonly stats: GateStats;
  /** router.stats.traffic.mqtt and router.stats.dropped.mqtt, one property away on the hot path. */
  readonly traffic: TrafficCounters;
  readonly dropped: DropCounters;
  readonly connections: Set<Closable>;
  /** Connect deadlines and keep-alive checks of the gate's connections, on one timer. */
  readonly wheel: TimerWheel<WheelEntry>;
  readonly sessionEnv: SessionEnv;
  readonly closing: boolean;
  /** Debug level: one line per packet received. */
  readonly trace: boolean;
  /** Store-backed persistent sessions; undefined when the router has no store. */
  readonly persistence: SessionPersistence | undefined;
  /** True while stored sessions are being restored at start (connections hold their input). */
  readonly restoring: boolean;
  /** Persistent sessions (expiry > 0) live in the realm, online or not. */
  persistentCount(realm: string): number;
  /** Whether the session counts as persistent: called whenever its expiry interval is set. */
  trackPersistence(session: MqttSession): void;
}

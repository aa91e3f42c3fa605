// Router configuration: realms, their roles and permissions, authentication principals, limits.
import type { HistoryRule } from './history.ts';
import { defaultTopicLimits, type TopicLimits } from './topic.ts';
import type { MatchPolicy } from './types.ts';

/** `force`: overwrite or release a retained key (lock) another session holds. */
export type Action = 'publish' | 'subscribe' | 'call' | 'register' | 'force';

export interface PermissionConfig {
  uri: string;
  match?: MatchPolicy;
  allow: Partial<Record<Action, boolean>>;
  disclose?: { caller?: boolean; publisher?: boolean };
}

export interface RoleConfig {
  name: string;
  permissions: PermissionConfig[];
}

export interface TicketPrincipal {
  /** The password: plain text or hashed (see lib/core/auth/secret.ts; `kitsune passwd` writes it). */
  ticket: string;
  role: string;
}

export interface CraPrincipal {
  secret: string;
  role: string;
  /** Salted secrets (PBKDF2-SHA256), as autobahn's auth_cra.derive_key expects. */
  salt?: string;
  iterations?: number;
  keylen?: number;
}

/** WAMP-cryptosign: the Ed25519 public keys (64 hex digits each) this principal may log in with. */
export interface CryptosignPrincipal {
  authorized_keys: string[];
  role: string;
}

export interface RealmAuthConfig {
  /** Anonymous access and the role it gets; absent = anonymous refused. */
  anonymous?: { role: string };
  /**
   * A password login (MQTT user name, HTTP Basic) naming no principal of the realm: refused (the
   * default), or admitted with the anonymous role (only when `anonymous` is set).
   */
  unknownUsers?: 'refuse' | 'anonymous';
  ticket?: Record<string, TicketPrincipal>;
  wampcra?: Record<string, CraPrincipal>;
  cryptosign?: Record<string, CryptosignPrincipal>;
  /** Principals proven by a verified TLS client certificate, by the identity it gives (its CN by default). */
  tls?: Record<string, { role: string }>;
}

export interface RealmConfig {
  name: string;
  roles: RoleConfig[];
  auth: RealmAuthConfig;
  /** Topics whose events are kept for `after` replay, with their retention bounds. */
  history?: HistoryRule[];
}

/** Every bound a client could otherwise push without end. Topic size bounds: see TopicLimits. */
export interface Limits extends TopicLimits {
  /** Largest message a client may send, in bytes. */
  maxMessageBytes: number;
  maxSessionsPerRealm: number;
  maxSubscriptionsPerSession: number;
  maxRegistrationsPerSession: number;
  maxPendingCallsPerSession: number;
  /** Calls waiting for a free callee under a concurrency limit, per registration. */
  maxQueuedCallsPerRegistration: number;
  /** Conditional writes (`watch`) one session may have parked at once. */
  maxParkedWritesPerSession: number;
  /** Bytes buffered for sending past which events (QoS 0) to that client are dropped. */
  sendBufferSoftBytes: number;
  /** Bytes buffered for sending past which the client is disconnected. */
  sendBufferHardBytes: number;
  /**
   * Deepest nesting of lists and dictionaries in a WAMP message, the message's own list counting
   * as the first level (so Arguments are level 2). Deeper messages end the session with
   * wamp.error.protocol_violation. Between 2 and 1000: the codecs walk values recursively up to
   * this depth. The WAMP codecs hold one value per process: the router whose WAMP gate was
   * created last sets it.
   */
  maxNestingDepth: number;
  /** Time a new WAMP connection has to complete HELLO (and any CHALLENGE), in milliseconds. */
  helloTimeoutMs: number;
  /**
   * Sessions that outlive their connection (MQTT clean session off / session expiry > 0), online
   * or not. Each keeps subscriptions and a queue alive while nobody is connected, so they have a
   * bound of their own, below maxSessionsPerRealm.
   */
  maxPersistentSessionsPerRealm: number;
  /** Retained topics per realm (each new key past this is refused; overwriting an existing one is not). */
  maxRetainedPerRealm: number;
}

export interface RouterConfig {
  realms: RealmConfig[];
  /** Create unknown realms on first use, with the default open role. */
  autoCreateRealms?: boolean;
  limits?: Partial<Limits>;
}

export const defaultLimits: Limits = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxSessionsPerRealm: 100_000,
  maxSubscriptionsPerSession: 10_000,
  maxRegistrationsPerSession: 10_000,
  maxPendingCallsPerSession: 10_000,
  maxQueuedCallsPerRegistration: 1_000,
  maxParkedWritesPerSession: 1_000,
  sendBufferSoftBytes: 4 * 1024 * 1024,
  sendBufferHardBytes: 32 * 1024 * 1024,
  // Real payloads rarely nest past a dozen levels; 100 leaves room for generous schemas while a
  // recursive walk of that depth costs a few KiB of stack (V8 overflows near 10,000 frames).
  maxNestingDepth: 100,
  helloTimeoutMs: 10_000,
  ...defaultTopicLimits,
  // A tenth of the realm's sessions: enough for every device of a fleet to keep one, while an
  // abandoned-session flood (fuzzing left thousands, ~1 GB RSS) stops long before memory does.
  maxPersistentSessionsPerRealm: 10_000,
  // About 1 KB of memory each besides the payload: a million is ~1 GB, the most one realm may take.
  maxRetainedPerRealm: 1_000_000,
};

/**
 * The realm `npm start` serves: anonymous clients may do everything except kill sessions (the
 * wamp.session.kill* meta procedures: a stranger must not disconnect everyone). The meta API's
 * listing procedures stay open: this realm is for development on localhost, where seeing every
 * session is the point (the dashboard reads them), and a realm facing a network has roles of its own.
 */
export function openRealm(name: string): RealmConfig {
  return {
    name,
    roles: [
      {
        name: 'anonymous',
        permissions: [
          { uri: '', match: 'prefix', allow: { publish: true, subscribe: true, call: true, register: true, force: true } },
          // a WAMP string prefix: kill, kill_by_authid, kill_by_authrole and kill_all
          { uri: 'wamp.session.kill', match: 'prefix', allow: {} },
        ],
      },
    ],
    // It has no principals, so every MQTT user name is unknown: such clients are anonymous here.
    auth: { anonymous: { role: 'anonymous' }, unknownUsers: 'anonymous' },
  };
}

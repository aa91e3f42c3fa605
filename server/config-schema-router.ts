// The router's part of the configuration file: realms (roles, permissions, principals, history)
// and the limits every client is held to.
import { type Static, type TInteger, type TOptional, Type } from '@sinclair/typebox';
import { defaultLimits, type Limits, openRealm, type RealmConfig } from '../lib/core/config.ts';
import type { ClusterSettings } from './cluster.ts';
import { type Assignable, type Covers, Int, OneOf, Section } from './config-schema-types.ts';

const Match = OneOf(['exact', 'prefix', 'wildcard'] as const, { description: 'How `uri` matches: exact, prefix (string prefix) or wildcard (empty components match any).', default: 'exact' });

const Allow = Section(
  {
    publish: Type.Optional(Type.Boolean()),
    subscribe: Type.Optional(Type.Boolean()),
    call: Type.Optional(Type.Boolean()),
    register: Type.Optional(Type.Boolean()),
    force: Type.Optional(Type.Boolean({ description: 'Overwrite or release a retained key (lock) another session holds.' })),
  },
  { description: 'The actions allowed on matching URIs; any action not set to true is denied.' },
);

const Permission = Section({
  uri: Type.String({ description: 'WAMP URI (or prefix/pattern); MQTT topics use the same URI with `.` for `/`. "" with prefix matches everything.' }),
  match: Type.Optional(Match),
  allow: Allow,
  disclose: Type.Optional(Section({ caller: Type.Optional(Type.Boolean()), publisher: Type.Optional(Type.Boolean()) }, { description: 'Disclose the caller / publisher to callees / subscribers.' })),
});

const Role = Section({
  name: Type.String({ minLength: 1 }),
  permissions: Type.Array(Permission, { description: 'The most specific matching permission wins: exact, then the longest prefix, then the wildcard with most fixed components.' }),
});

const RoleRef = Type.String({ minLength: 1, description: 'A role of this realm.' });

const Auth = Section(
  {
    anonymous: Type.Optional(Section({ role: RoleRef }, { description: 'Anonymous access and the role it gets; absent = anonymous clients are refused.' })),
    unknownUsers: Type.Optional(
      OneOf(['refuse', 'anonymous'] as const, {
        description: 'A password login (MQTT user name, HTTP Basic) naming no principal of the realm: refused (MQTT CONNACK 0x05 / 0x86), or admitted with the anonymous role (needs `anonymous`).',
        default: 'refuse',
      }),
    ),
    ticket: Type.Optional(
      Type.Record(
        Type.String(),
        Section({
          ticket: Type.String({ description: 'The password: plain text, or hashed as `kitsune passwd` prints it ($scrypt$... or $pbkdf2-sha256$...).' }),
          role: RoleRef,
        }),
        { description: 'Ticket principals by authid (also MQTT username/password).' },
      ),
    ),
    wampcra: Type.Optional(
      Type.Record(
        Type.String(),
        Section({
          secret: Type.String(),
          role: RoleRef,
          salt: Type.Optional(Type.String({ description: 'Salted secret (PBKDF2-SHA256), as autobahn derive_key expects.' })),
          iterations: Type.Optional(Int(1)),
          keylen: Type.Optional(Int(1)),
        }),
        { description: 'WAMP-CRA principals by authid (the router needs the secret itself: it is not stored hashed).' },
      ),
    ),
    cryptosign: Type.Optional(
      Type.Record(
        Type.String(),
        Section({
          authorized_keys: Type.Array(Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'An Ed25519 public key, 64 hex digits.' }), { minItems: 1, description: 'The public keys this principal may log in with.' }),
          role: RoleRef,
        }),
        { description: 'WAMP-cryptosign (Ed25519) principals by authid.' },
      ),
    ),
    tls: Type.Optional(
      Type.Record(Type.String(), Section({ role: RoleRef }), {
        description: 'Principals proven by a verified TLS client certificate, by the identity it gives (tls.<listener>.clientIdentity): WAMP authmethod `tls`, MQTT with mqtt.useIdentityAsUsername.',
      }),
    ),
  },
  { description: 'How clients authenticate to this realm.' },
);

const HistoryRule = Section({
  uri: Type.String(),
  match: Type.Optional(Match),
  maxCount: Type.Optional(Int(1, { description: 'Events kept per topic.', default: 1000 })),
  maxAgeMs: Type.Optional(Int(1, { description: 'Events older than this are dropped (default: kept).' })),
});

export const RealmSchema = Section({
  name: Type.String({ minLength: 1 }),
  roles: Type.Array(Role),
  auth: Auth,
  history: Type.Optional(Type.Array(HistoryRule, { description: 'Topics whose events are kept for `after` replay (not changed by a reload).' })),
});

const LIMIT_DOCS: Record<keyof Limits, string> = {
  maxMessageBytes: 'Largest message a client may send, in bytes.',
  maxSessionsPerRealm: 'Sessions one realm may hold.',
  maxSubscriptionsPerSession: 'Subscriptions one session may hold.',
  maxRegistrationsPerSession: 'Registrations one session may hold.',
  maxPendingCallsPerSession: 'Unanswered calls one session may have.',
  maxQueuedCallsPerRegistration: 'Calls waiting for a free callee under a concurrency limit, per registration.',
  maxParkedWritesPerSession: 'Conditional writes (`watch`) one session may have parked.',
  sendBufferSoftBytes: 'Bytes buffered for a client past which its QoS 0 events are dropped.',
  sendBufferHardBytes: 'Bytes buffered for a client past which it is disconnected.',
  maxNestingDepth: 'Deepest nesting of lists and dictionaries in a WAMP message (2-1000).',
  helloTimeoutMs: 'Time a WAMP connection has to complete HELLO (and CHALLENGE).',
  maxTopicLevels: 'Levels in a topic, filter or URI.',
  maxTopicLength: 'Characters in a topic, filter or URI.',
  maxPersistentSessionsPerRealm: 'MQTT sessions that outlive their connection, per realm.',
  maxRetainedPerRealm: 'Retained topics per realm.',
};

function limitSchema(key: keyof Limits): TInteger {
  const doc = { description: LIMIT_DOCS[key], default: defaultLimits[key] };
  return key === 'maxNestingDepth' ? Int(2, doc, 1000) : Int(1, doc);
}

export const LimitsSchema = Section(
  Object.fromEntries(Object.keys(LIMIT_DOCS).map((k) => [k, Type.Optional(limitSchema(k as keyof Limits))])) as Record<keyof Limits, TOptional<TInteger>>,
  { description: 'Bounds on what clients can make the router do or keep.' },
);

export const ClusterSchema = Section(
  {
    preview: Type.Optional(Type.Boolean({ description: 'Start with `redis` although several nodes are not complete (pub/sub across nodes, session ids, liveness only); KITSUNE_CLUSTER_PREVIEW=1 too. Without it `redis` stops the start.', default: false })),
    prefix: Type.Optional(Type.String({ minLength: 1, pattern: '^[^{}]+$', description: 'Prefix of every Redis key and channel, so several clusters can share one Redis.', default: 'kitsune' })),
  },
  { description: 'Several nodes on one Redis (with `redis`).' },
);

export const RouterSchemaProperties = {
  realms: Type.Optional(Type.Array(RealmSchema, { description: 'The realms served; the HTTP bridges use the first. Realms, roles and principals change live on SIGHUP.', default: [openRealm('realm1')] })),
  autoCreateRealms: Type.Optional(Type.Boolean({ description: 'Create unknown realms on first use, open to anonymous clients.', default: false })),
  limits: Type.Optional(LimitsSchema),
  cluster: Type.Optional(ClusterSchema),
};

// The schema accepts nothing the router cannot take.
export type RealmFromSchema = Assignable<Static<typeof RealmSchema>, RealmConfig>;
export type LimitsFromSchema = Assignable<Static<typeof LimitsSchema>, Partial<Limits>>;
export type ClusterFromSchema = Assignable<Static<typeof ClusterSchema>, ClusterSettings>;
export type ClusterKeysCovered = Covers<keyof Static<typeof ClusterSchema>, keyof ClusterSettings>;
export type RealmKeysCovered = Covers<keyof Static<typeof RealmSchema>, keyof RealmConfig>;

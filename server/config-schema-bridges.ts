// The HTTP bridges' parts of the configuration file. Defaults come from each bridge's own
// resolver, so this file and the bridge never disagree.
import { type Static, Type } from '@sinclair/typebox';
import { type EsubOptions, resolveEsubOptions } from '../bridge/esub/options.ts';
import type { HustdbOptions } from '../bridge/hustdb/index.ts';
import { resolveOptions as resolveHustdb } from '../bridge/hustdb/options.ts';
import type { HustmqOptions } from '../bridge/hustmq/index.ts';
import { resolveOptions as resolveHustmq } from '../bridge/hustmq/options.ts';
import { type Assignable, type Covers, Int, NullableString, OneOf, Section } from './config-schema-types.ts';
import { WebSocketSchema } from './config-schema-gates.ts';

const hustmq = resolveHustmq({ realm: '' });
const hustdb = resolveHustdb({ realm: '' });
const esub = resolveEsubOptions({});
// esub's sockets take the WebSocket limits; the stack and the protocol paths are not theirs to choose.
const { engine: _engine, paths: _paths, ...esubWebSocket } = WebSocketSchema.properties;
const REALM = { description: 'Realm the bridge serves (default: the first realm).' };
const ms = (n: number, description: string) => Type.Optional(Int(1, { description, default: n }));

export const HustmqSchema = Section(
  {
    realm: Type.Optional(Type.String({ minLength: 1, ...REALM })),
    authid: Type.Optional(Type.String({ description: 'authid of the sessions of requests without credentials.', default: hustmq.authid })),
    authrole: Type.Optional(Type.String({ description: "Role of requests without credentials (default: the realm's anonymous role; none = 401). Requests with Basic or bearer credentials act as their principal." })),
    topicPrefix: Type.Optional(Type.String({ description: 'Items of queue Q are published on `<prefix>.Q`, pushes on `<prefix>.push.Q`, RPC on `<prefix>.do.Q`.', default: hustmq.topicPrefix })),
    longPollingTimeoutMs: ms(hustmq.longPollingTimeoutMs, 'evget parking time (long_polling_timeout).'),
    subscribeTimeoutMs: ms(hustmq.subscribeTimeoutMs, 'evsub parking time (subscribe_timeout).'),
    doGetTimeoutMs: ms(hustmq.doGetTimeoutMs, 'do_get wait for a result (do_get_timeout).'),
    doPostTimeoutMs: ms(hustmq.doPostTimeoutMs, 'do_post wait for a task (do_post_timeout).'),
    maxTimerCount: ms(hustmq.maxTimerCount, 'Most parked evget requests, and separately evsub requests (max_timer_count).'),
    doGetCacheSize: ms(hustmq.doGetCacheSize, 'RPC task slots (do_get_cache_size).'),
    doPostCacheSize: ms(hustmq.doPostCacheSize, 'Parked worker slots (do_post_cache_size).'),
    maxDoTaskBodyBytes: ms(hustmq.maxDoTaskBodyBytes, 'Largest do_get/do_post body, bytes (max_do_task_body_size).'),
    maxBodyBytes: ms(hustmq.maxBodyBytes, 'Largest request body, bytes (client_max_body_size); beyond it 413.'),
    autostIntervalMs: ms(hustmq.autostIntervalMs, 'How often parked evget requests are re-checked against the store (autost_interval).'),
    minuteMs: ms(hustmq.minuteMs, 'The length of the API\'s "minute": /timeout?minute=M and stat\'s timeout.'),
    pushDefaultTtlSec: ms(hustmq.pushDefaultTtlSec, 'Push queues: default ttl, seconds.'),
    pushMaxTtlSec: ms(hustmq.pushMaxTtlSec, 'Push queues: largest ttl, seconds (mq.ttl.maximum).'),
    pushMaxItems: ms(hustmq.pushMaxItems, 'Most events kept per push queue.'),
    maxQueues: ms(hustmq.maxQueues, 'Most queues, and separately push queues (max_queue_size).'),
    doInvokePolicy: Type.Optional(OneOf(['single', 'roundrobin', 'random', 'first', 'last'] as const, { description: "Invoke policy of the HTTP workers' registrations (last: the most recently parked worker first).", default: hustmq.doInvokePolicy })),
    auth: Type.Optional(
      Section(
        {
          users: Type.Record(
            Type.String(),
            Type.Union([
              Type.String(),
              Section({ password: Type.String(), principal: Type.Optional(Type.String({ minLength: 1, description: 'A ticket or wampcra principal of the realm: the user acts with its role.' })) }),
            ]),
            { description: "user → password (acting with `authrole`), or → {password, principal} (acting as that principal)." },
          ),
          exempt: Type.Optional(Type.Array(Type.String(), { description: 'Routes served without auth (auth_filter).', default: ['get', 'sub', 'version'] })),
        },
        { description: "The bridge's own Basic users (hustmq ha's); realm principals may always log in too." },
      ),
    ),
  },
  { description: 'The hustmq bridge (/hustmq and --hustmq-port).' },
);

export const HustdbSchema = Section(
  {
    realm: Type.Optional(Type.String({ minLength: 1, ...REALM })),
    auth: Type.Optional(
      Type.Record(Type.String(), Section({ password: Type.String(), principal: Type.String({ minLength: 1, description: "A ticket or wampcra principal of the realm: requests act with its role." }) }), {
        description: "The bridge's own Basic users; when set, requests without credentials get 401. Realm principals may always log in too.",
      }),
    ),
    maxValueBytes: ms(hustdb.maxValueBytes, 'Largest value (query `val` or body), bytes; beyond it 413.'),
    cacheMaxBytes: ms(hustdb.cacheMaxBytes, 'Memory the cache/* namespace may hold, bytes, least recently used evicted first.'),
  },
  { description: 'The hustdb bridge (/hustdb and --hustdb-port).' },
);

export const EsubSchema = Section(
  {
    realm: Type.Optional(Type.String({ minLength: 1, ...REALM })),
    authrole: Type.Optional(Type.String({ description: "Role of requests without credentials (default: the realm's anonymous role; none = 401); it needs call and register on `esub.`." })),
    nodeName: Type.Optional(Type.String({ description: '`name` in /info (default: the host name).' })),
    nodeIp: Type.Optional(Type.String({ description: '`ip` in /info (ESUB_NODE_IP; default: the first non-loopback IPv4 address).' })),
    nodeUrl: Type.Optional(Type.String({ description: "This node's advertised base URL (ESUB_NODE_URL; default: from the Host header)." })),
    confirmReceipt: Type.Optional(Type.Boolean({ description: 'Read receipts (ESUB_CONFIRM_RECEIPT): each psub message must be answered.', default: esub.confirmReceipt })),
    receiptTimeoutMs: ms(esub.receiptTimeoutMs, 'How long a psub client has to send its read receipt.'),
    pingFrequencyMs: ms(esub.pingFrequencyMs, 'Keepalive period (ESUB_PING_FREQUENCY, in seconds there).'),
    closeConnections: Type.Optional(Type.Boolean({ description: 'Send `Connection: close` on every HTTP response (ESUB_CLOSE_CONNECTIONS).', default: esub.closeConnections })),
    metricPrefix: Type.Optional(Type.String({ pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$', description: 'Prometheus metric prefix (ESUB_METRIC_PREFIX).', default: esub.metricPrefix })),
    maxKeyBytes: ms(esub.maxKeyBytes, 'Longest key accepted, in UTF-8 bytes.'),
    maxBodyBytes: ms(esub.maxBodyBytes, 'Largest rep body (and /prep data), bytes.'),
    subTimeoutMs: Type.Optional(Int(0, { description: 'A sub waiting longer gets 500; 0 = wait forever.', default: esub.subTimeoutMs })),
    repTimeoutMs: ms(esub.repTimeoutMs, 'Most time a rep may take, including queueing, receipts and redirects.'),
    storeMode: Type.Optional(OneOf(['none', 'unclaimed', 'all'] as const, { description: 'Which reps are stored for /rsub (ESUB_STORE).', default: esub.storeMode })),
    storeTtlMs: ms(esub.storeTtlMs, 'How long stored reps are kept (ESUB_STORE_TTL, in seconds there).'),
    clusterToken: Type.Optional(NullableString({ description: 'Shared token for /join, /members, /announce (ESUB_CLUSTER_TOKEN); null = those routes refuse.', default: null })),
    keysByNode: Type.Optional(Type.Boolean({ description: '/keys answers {node: [keys]} (ESUB_KEYS_BY_NODE).', default: esub.keysByNode })),
    websocket: Type.Optional(
      Section(
        { ...esubWebSocket, handshakeTimeoutMs: Type.Optional(Int(1, { description: 'How long a client may take to send its whole upgrade request.', default: 10_000 })) },
        { description: 'Overrides of the websocket section for the psub and prep sockets.' },
      ),
    ),
  },
  { description: 'The esub bridge (/esub and --esub-port); ESUB_* environment variables override it.' },
);

export type HustmqFromSchema = Assignable<Static<typeof HustmqSchema>, Partial<HustmqOptions>>;
export type HustdbFromSchema = Assignable<Static<typeof HustdbSchema>, Partial<HustdbOptions>>;
export type EsubFromSchema = Assignable<Omit<Static<typeof EsubSchema>, 'websocket'>, Omit<EsubOptions, 'websocket'>>;
export type HustmqKeysCovered = Covers<keyof Static<typeof HustmqSchema>, keyof HustmqOptions>;
export type HustdbKeysCovered = Covers<keyof Static<typeof HustdbSchema>, keyof HustdbOptions>;
/** basePath is where the server mounts the bridge, logger the server's: neither is configured. */
export type EsubKeysCovered = Covers<keyof Static<typeof EsubSchema>, Exclude<keyof EsubOptions, 'basePath' | 'logger'>>;

// The gates' and transports' parts of the configuration file: mqtt, connections, websocket, cors.
import { type Static, Type } from '@sinclair/typebox';
import { DEFAULT_MAX_QUEUED_BYTES, DEFAULT_RECEIVE_MAXIMUM, DEFAULT_V3_SESSION_EXPIRY } from '../lib/mqtt/context.ts';
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_MAX_FRAGMENTS } from '../lib/transport/websocket-limits.ts';
import type { ConnectionSettings } from './admission.ts';
import { type Assignable, type Covers, Int, OneOf, Section } from './config-schema-types.ts';
import type { WebSocketSettings } from '../lib/transport/websocket-limits.ts';
import type { MqttGateOptions } from '../lib/mqtt/index.ts';

export const MqttSchema = Section(
  {
    receiveMaximum: Type.Optional(Int(1, { description: 'Receive Maximum announced to v5 clients (inbound QoS 1/2 in flight).', default: DEFAULT_RECEIVE_MAXIMUM }, 65535)),
    topicAliasMaximum: Type.Optional(Int(0, { description: 'Topic Alias Maximum announced to v5 clients.', default: 64 }, 65535)),
    serverKeepAlive: Type.Optional(Int(0, { description: "v5 Server Keep Alive, seconds: replaces the client's keep alive (default: the client's)." }, 65535)),
    maxKeepAlive: Type.Optional(Int(0, { description: "Longest keep alive a client may ask for, seconds: v5 clients asking for more (or 0) get it as Server Keep Alive, 3.1/3.1.1 clients are refused (CONNACK 0x02). 0 = no maximum.", default: 0 }, 65535)),
    maxSessionExpiry: Type.Optional(Int(0, { description: 'Upper bound on session expiry, seconds (default: none).' })),
    v3SessionExpiry: Type.Optional(Int(0, { description: 'Expiry of MQTT 3.x persistent sessions, seconds.', default: DEFAULT_V3_SESSION_EXPIRY })),
    maxQueuedMessages: Type.Optional(Int(0, { description: 'QoS 1/2 messages kept per session while offline or past its window.', default: 10_000 })),
    maxQueuedBytes: Type.Optional(Int(0, { description: 'Bytes of those messages kept per session.', default: DEFAULT_MAX_QUEUED_BYTES })),
    sessionSweepMs: Type.Optional(Int(1, { description: 'How often stored sessions are checked for expiry.', default: 600_000 })),
    connectTimeoutMs: Type.Optional(Int(1, { description: 'Time a new connection has to send CONNECT.', default: 10_000 })),
    maxPacketSize: Type.Optional(Int(1, { description: 'Largest packet accepted from clients (default: limits.maxMessageBytes).' })),
  },
  { description: 'MQTT gate options.' },
);

export const ConnectionsSchema = Section(
  {
    maxConnections: Type.Optional(Int(1, { description: 'Open connections on all ports together; past it HTTP gets 503, MQTT CONNACK 3 / 0x89. Default 50,000, or 90% of the open-files limit less 100 when lower.' })),
    maxPerAddress: Type.Optional(Int(1, { description: 'Open connections from one IP address; past it HTTP gets 429, MQTT CONNACK 3 / 0x97. Default 10,000 (at most maxConnections).' })),
    exemptAddresses: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Addresses the per-address limit does not apply to.', default: [] })),
    sniffTimeoutMs: Type.Optional(Int(1, { description: 'A connection to the shared port that sends nothing for this long is closed.', default: 10_000 })),
    headersTimeoutMs: Type.Optional(Int(1, { description: 'Time an HTTP request has to send its headers; else 408.', default: 20_000 })),
    requestTimeoutMs: Type.Optional(Int(1, { description: 'Time an HTTP request has to send its body after its headers; else 408.', default: 60_000 })),
    keepAliveTimeoutMs: Type.Optional(Int(1, { description: 'An idle keep-alive HTTP connection is closed after this long.', default: 5_000 })),
  },
  { description: 'Connection limits and timeouts on every port.' },
);

export const WebSocketSchema = Section(
  {
    closeTimeoutMs: Type.Optional(Int(1, { description: 'How long a peer has to end the TCP connection after the close handshake.', default: DEFAULT_CLOSE_TIMEOUT_MS })),
    maxFragments: Type.Optional(Int(1, { description: 'Most frames one fragmented message may take.', default: DEFAULT_MAX_FRAGMENTS })),
    allowedOrigins: Type.Optional(Type.Array(Type.String(), { description: 'Browser Origins allowed to open a WebSocket (default: any). Requests without Origin pass.' })),
    compression: Type.Optional(
      Type.Union([Type.Literal(false), Section({ threshold: Type.Optional(Int(0, { description: 'Messages below this many bytes go out uncompressed.', default: 1024 })) })], {
        description: 'permessage-deflate: false (off), or {"threshold": bytes}.',
        default: false,
      }),
    ),
    engine: Type.Optional(OneOf(['kitsune', 'ws'] as const, { description: "The stack serving WAMP and MQTT over WebSocket (ws is kept for the benchmarks' comparison).", default: 'kitsune' })),
    paths: Type.Optional(
      // A record whose keys must be paths: TypeBox's Record ignores a pattern on its key, so spell it out.
      Type.Unsafe<Record<string, 'wamp' | 'mqtt'>>({
        type: 'object',
        patternProperties: { '^/[^?#\\s]*$': OneOf(['wamp', 'mqtt'] as const) },
        additionalProperties: false,
        description: 'Paths that serve one protocol only ({"/path": "wamp" | "mqtt"}); other paths that are not an endpoint go by the offered subprotocol. {} dedicates none.',
        default: { '/ws': 'wamp', '/mqtt': 'mqtt' },
      }),
    ),
  },
  { description: 'Limits and options of every WebSocket (WAMP, MQTT, esub).' },
);

export const CorsSchema = Section(
  {
    allowedOrigins: Type.Array(Type.String({ minLength: 1 }), { description: 'Origins (scheme://host[:port]) whose browsers may call the HTTP bridges; "*" allows any.' }),
    allowCredentials: Type.Optional(Type.Boolean({ description: 'Let browsers send credentials (basic auth); needs explicit origins.', default: false })),
    maxAgeSec: Type.Optional(Int(0, { description: 'How long browsers may cache a preflight answer, seconds.', default: 600 })),
  },
  { description: 'CORS for the HTTP bridges (/hustmq, /hustdb, /esub and their ports). Off when absent.' },
);

export type MqttFromSchema = Assignable<Static<typeof MqttSchema>, Omit<MqttGateOptions, 'defaultRealm' | 'logger'>>;
export type ConnectionsFromSchema = Assignable<Static<typeof ConnectionsSchema>, Partial<ConnectionSettings>>;
export type CorsConfig = Static<typeof CorsSchema>;
// ...and has an entry for every option those interfaces have.
export type MqttKeysCovered = Covers<keyof Static<typeof MqttSchema>, Exclude<keyof MqttGateOptions, 'defaultRealm' | 'logger'>>;
export type ConnectionKeysCovered = Covers<keyof Static<typeof ConnectionsSchema>, keyof ConnectionSettings>;
export type WebSocketKeysCovered = Covers<keyof Static<typeof WebSocketSchema>, Exclude<keyof WebSocketSettings, 'handshakeTimeoutMs'>>;

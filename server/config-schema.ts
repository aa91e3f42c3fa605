// The configuration's one schema: every key of the JSON file, what the command line and KITSUNE_*
// variables may set, their types, bounds and defaults. A new key is one edit here (plus its doc in
// docs/configuration.md); `kitsune --print-config-schema` publishes it. Sections live in
// config-schema-{router,gates,bridges}.ts; each is checked at compile time against the interface
// the code takes, both ways (Assignable: nothing the code cannot take; Covers: every option of the
// interface has its entry), and test/server/config-docs.test.ts fails until the docs have its row.
import { type Static, Type } from '@sinclair/typebox';
import { EsubSchema, HustdbSchema, HustmqSchema } from './config-schema-bridges.ts';
import { ConnectionsSchema, CorsSchema, HttpSchema, MqttSchema, WebSocketSchema } from './config-schema-gates.ts';
import { RouterSchemaProperties } from './config-schema-router.ts';
import { TlsSchema } from './config-schema-tls.ts';
import { NullableString, OneOf, OptionalPort, Port, Section } from './config-schema-types.ts';
import { DashboardSchema } from './config-schema-dashboard.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * The server's own scalar keys: each is also a flag (`mqttPort` is `--mqtt-port`) and an environment
 * variable (`KITSUNE_MQTT_PORT`), and its default is the server's.
 */
export const ServerScalarsSchema = Section({
  host: Type.String({ minLength: 1, description: 'Address every listener binds to.', default: '127.0.0.1' }),
  port: Port({ description: 'The shared port: WAMP (WebSocket /ws, RawSocket), MQTT (sniffed, /mqtt), HTTP bridges, /healthz, /metrics. 0 = ephemeral.', default: 8080 }),
  mqttPort: OptionalPort({ description: 'Dedicated MQTT TCP port; null = none.', default: 1883 }),
  mqttsPort: OptionalPort({ description: 'Dedicated MQTT over TLS port (needs tls.mqttsPort; 8883 when that is set and this is null); null = none.', default: null }),
  dataDir: Type.String({ minLength: 1, description: 'Directory of the SQLite store.', default: './data' }),
  memory: Type.Boolean({ description: 'Keep all state in memory (nothing survives a restart).', default: false }),
  redis: NullableString({ description: 'Redis URL: this node joins the others on that Redis (a preview: needs cluster.preview, see Several nodes).', default: null }),
  hustmqPort: OptionalPort({ description: 'Dedicated port serving the hustmq API at the root; null = none.', default: null }),
  hustdbPort: OptionalPort({ description: 'Dedicated port serving the hustdb API at the root; null = none.', default: null }),
  esubPort: OptionalPort({ description: 'Dedicated port serving the esub API at the root (ESUB_PORT overrides); null = none.', default: null }),
  logLevel: OneOf(LOG_LEVELS, { description: 'Log level (LOG_LEVEL works too); debug adds per-message tracing.', default: 'info' }),
});

export type ServerScalars = Static<typeof ServerScalarsSchema>;
export type ServerScalarKey = keyof ServerScalars;

/** The JSON configuration file: every key optional, unknown keys refused. */
export const ConfigFileSchema = Section(
  {
    ...Type.Partial(ServerScalarsSchema).properties,
    ...RouterSchemaProperties,
    mqtt: Type.Optional(MqttSchema),
    connections: Type.Optional(ConnectionsSchema),
    dashboard: Type.Optional(DashboardSchema),
    websocket: Type.Optional(WebSocketSchema),
    cors: Type.Optional(CorsSchema),
    http: Type.Optional(HttpSchema),
    hustmq: Type.Optional(HustmqSchema),
    hustdb: Type.Optional(HustdbSchema),
    esub: Type.Optional(EsubSchema),
    tls: Type.Optional(TlsSchema),
  },
  { title: 'kitsune configuration file', description: 'Every key is optional; command-line flags and KITSUNE_* variables override the server keys.' },
);

export type ConfigFile = Static<typeof ConfigFileSchema>;

// Server configuration: the schema's defaults, then the JSON file, then KITSUNE_* variables, then
// flags — each source checked against the schema (config-schema.ts) before it is used, so a bad
// value stops the server at start with a message naming it, and a bad reload changes nothing.
import { readFileSync } from 'node:fs';
import type { HustmqOptions } from '../bridge/hustmq/index.ts';
import type { HustdbOptions } from '../bridge/hustdb/index.ts';
import type { EsubOptions } from '../bridge/esub/index.ts';
import { isReservedAuthid, principalNames, RESERVED_AUTHID_PREFIXES } from '../lib/core/auth/principals.ts';
import { parseSecret } from '../lib/core/auth/secret.ts';
import { openRealm, type RealmAuthConfig, type RealmConfig, type RouterConfig } from '../lib/core/config.ts';
import { TRUSTED_ROLE } from '../lib/core/permissions.ts';
import type { MqttGateOptions } from '../lib/mqtt/index.ts';
import type { DashboardConfig } from './config-schema-dashboard.ts';
import type { ConnectionSettings } from './admission.ts';
import type { ClusterSettings } from './cluster.ts';
import type { WebSocketSettings } from '../lib/transport/websocket-limits.ts';
import type { WebSocketProtocol } from './upgrade-routes.ts';
import { configChecks } from './config-checks.ts';
import type { ConfigFile, ServerScalars } from './config-schema.ts';
import type { CorsConfig, HttpConfig } from './config-schema-gates.ts';
import { ConfigError, join, validate } from './config-validate.ts';
import { addressProblem } from './http-access.ts';
import type { TlsConfig } from './tls.ts';

export { ConfigError } from './config-validate.ts';

/** The `websocket` section: the limits of every WebSocket (WAMP, MQTT, esub), the stack and the dedicated paths. */
export interface WebSocketConfig extends Omit<WebSocketSettings, 'handshakeTimeoutMs'> {
  /** The stack serving WAMP and MQTT over WebSocket: ours (default) or ws (kept for the bench's comparison). */
  engine?: 'kitsune' | 'ws';
  /** Paths serving one protocol only (default {"/ws": "wamp", "/mqtt": "mqtt"}); other paths go by subprotocol. */
  paths?: Record<string, WebSocketProtocol>;
}

/** The MQTT gate options a config file may set (all numbers; see MqttGateOptions), and the server's $SYS interval. */
export type MqttSettings = Omit<MqttGateOptions, 'defaultRealm' | 'logger'> & {
  /** Seconds between $SYS/broker/... updates (sys-topics.ts); 0 = none. */
  sysInterval?: number;
};

/** The running configuration: the schema's scalar keys (host, ports, store, log level) plus the sections. */
export interface ServerConfig extends ServerScalars {
  /** MQTT gate options (Receive Maximum, Server Keep Alive, session limits...). */
  mqtt?: MqttSettings;
  /** hustmq bridge options (timeouts, limits, basic auth...); realm defaults to the first realm. */
  hustmq?: Partial<HustmqOptions>;
  /** hustdb bridge options (auth users, value and cache limits); realm defaults to the first realm. */
  hustdb?: Partial<HustdbOptions>;
  /** esub bridge options (modes, timeouts, limits, store, cluster token); ESUB_* env vars override them. */
  esub?: EsubOptions;
  /** The live dashboard at /dashboard (on unless enabled is false). */
  dashboard?: DashboardConfig;
  router: RouterConfig;
  /** Connection limits and timeouts on every port; what is missing takes defaultConnectionSettings(). */
  connections?: Partial<ConnectionSettings>;
  /** WebSocket limits and options (close and handshake timeouts, fragments, Origins, compression). */
  websocket?: WebSocketConfig;
  /** CORS for the HTTP bridges; absent = off. */
  cors?: CorsConfig;
  /** Who may read the server's own endpoints (/metrics, /healthz...); absent = loopback only. */
  http?: HttpConfig;
  /** TLS per listener; absent = plain everywhere. */
  tls?: TlsConfig;
  /** Several nodes on one Redis (with `redis`). */
  cluster?: ClusterSettings;
}

/** The scalars' defaults, read from the schema. */
function scalarDefaults(): ServerScalars {
  return Object.fromEntries(Object.entries(configChecks.scalarsSchema.properties).map(([k, s]) => [k, (s as { default: unknown }).default])) as ServerScalars;
}

export function defaultConfig(): ServerConfig {
  return { ...scalarDefaults(), router: { realms: [openRealm('realm1')] } };
}

/** Reads and parses a JSON file; unreadable or malformed is a ConfigError naming the file. */
export function parseConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read config file ${path}: ${(err as Error).message}`]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigError([`${path}: not valid JSON: ${(err as Error).message}`]);
  }
}

/** Checks a parsed file against the schema and the rules a schema cannot say; problems are prefixed with the file name. */
export function checkConfigFile(raw: unknown, path: string): ConfigFile {
  try {
    validate(configChecks.file, raw);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.problems.map((p) => `${path}: ${p}`));
    throw err;
  }
  const file = raw as ConfigFile;
  const problems = crossChecks(file);
  if (problems.length) throw new ConfigError(problems.map((p) => `${path}: ${p}`));
  return file;
}

/** Reads a JSON config file onto `base`: server keys at the top level, plus `realms`, `limits`, `autoCreateRealms`. */
export function readConfigFile(path: string, base: ServerConfig): ServerConfig {
  return applyFile(checkConfigFile(parseConfigFile(path), path), base);
}

export function applyFile(file: ConfigFile, base: ServerConfig): ServerConfig {
  const { realms, limits, autoCreateRealms, ...rest } = file;
  const cfg: ServerConfig = { ...base, ...rest, router: { ...base.router } };
  if (realms) cfg.router.realms = realms;
  if (limits) cfg.router.limits = limits;
  if (autoCreateRealms !== undefined) cfg.router.autoCreateRealms = autoCreateRealms;
  return cfg;
}

/** Principal names the router reserves, hashed tickets that do not parse, unknown users without anonymous. */
function authProblems(auth: RealmAuthConfig): string[] {
  const problems: string[] = [];
  for (const { method, authid } of principalNames(auth)) {
    if (isReservedAuthid(authid)) problems.push(`${join(method, authid)}: principal names may not start with ${RESERVED_AUTHID_PREFIXES.map((p) => `"${p}"`).join(' or ')} (reserved for anonymous clients)`);
  }
  for (const [id, p] of Object.entries(auth.ticket ?? {})) {
    try {
      parseSecret(p.ticket);
    } catch (err) {
      problems.push(`${join('ticket', id)}.ticket: not a valid hashed secret: ${(err as Error).message}`);
    }
  }
  if (auth.unknownUsers === 'anonymous' && !auth.anonymous) problems.push('unknownUsers: "anonymous" needs auth.anonymous (the role unknown users get)');
  return problems;
}

/** What ties keys together: unique realm names, roles and principals that exist, bridge realms that are configured. */
function crossChecks(file: ConfigFile): string[] {
  const problems: string[] = [];
  const realms = file.realms ?? [];
  const byName = new Map<string, RealmConfig>();
  realms.forEach((realm, i) => {
    if (byName.has(realm.name)) problems.push(`realms[${i}].name: "${realm.name}" is defined twice`);
    byName.set(realm.name, realm);
    const roles = new Set([...realm.roles.map((r) => r.name), TRUSTED_ROLE]);
    const roleRef = (where: string, role: string): void => {
      if (!roles.has(role)) problems.push(`realms[${i}].auth.${where}.role: "${role}" is not a role of realm "${realm.name}" (roles: ${[...roles].join(', ')})`);
    };
    if (realm.auth.anonymous) roleRef('anonymous', realm.auth.anonymous.role);
    for (const [id, p] of Object.entries(realm.auth.ticket ?? {})) roleRef(join('ticket', id), p.role);
    for (const [id, p] of Object.entries(realm.auth.wampcra ?? {})) roleRef(join('wampcra', id), p.role);
    for (const [id, p] of Object.entries(realm.auth.cryptosign ?? {})) roleRef(join('cryptosign', id), p.role);
    for (const [id, p] of Object.entries(realm.auth.tls ?? {})) roleRef(join('tls', id), p.role);
    problems.push(...authProblems(realm.auth).map((p) => `realms[${i}].auth.${p}`));
  });
  if (!file.autoCreateRealms && file.realms) {
    for (const bridge of ['hustmq', 'hustdb', 'esub'] as const) {
      const realm = file[bridge]?.realm;
      if (realm !== undefined && !byName.has(realm)) problems.push(`${bridge}.realm: "${realm}" is not a configured realm (realms: ${[...byName.keys()].join(', ')})`);
    }
    const dashboardRealm = file.dashboard?.realm;
    if (dashboardRealm !== undefined && !byName.has(dashboardRealm)) problems.push(`dashboard.realm: "${dashboardRealm}" is not a configured realm (realms: ${[...byName.keys()].join(', ')})`);
  }
  (file.http?.access?.addresses ?? []).forEach((entry, i) => {
    const problem = addressProblem(entry);
    if (problem) problems.push(`http.access.addresses[${i}]: ${problem}`);
  });
  const hustmqRealm = byName.get(file.hustmq?.realm ?? realms[0]?.name ?? '');
  for (const [user, u] of Object.entries(file.hustmq?.auth?.users ?? {})) {
    if (typeof u === 'string' || u.principal === undefined || !hustmqRealm) continue;
    if (!hustmqRealm.auth.ticket?.[u.principal] && !hustmqRealm.auth.wampcra?.[u.principal]) {
      problems.push(`${join('hustmq.auth.users', user)}.principal: "${u.principal}" is not a ticket or wampcra principal of realm "${hustmqRealm.name}"`);
    }
  }
  const hustdbRealm = byName.get(file.hustdb?.realm ?? realms[0]?.name ?? '');
  for (const [user, u] of Object.entries(file.hustdb?.auth ?? {})) {
    if (hustdbRealm && !hustdbRealm.auth.ticket?.[u.principal] && !hustdbRealm.auth.wampcra?.[u.principal]) {
      problems.push(`${join('hustdb.auth', user)}.principal: "${u.principal}" is not a ticket or wampcra principal of realm "${hustdbRealm.name}"`);
    }
  }
  return problems;
}

/** Flag or variable text as the value the schema expects; what does not convert stays text, for the schema to refuse by name. */
export function scalarFromText(key: keyof ServerScalars, text: string | boolean): unknown {
  if (typeof text === 'boolean') return text;
  const schema = configChecks.scalarsSchema.properties[key] as { type: string | string[] };
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes('integer') && /^-?\d+$/.test(text.trim())) return Number(text);
  if (types.includes('boolean')) {
    if (/^(1|true|yes|on)$/i.test(text)) return true;
    if (/^(0|false|no|off|)$/i.test(text)) return false;
  }
  if (types.includes('null') && /^(none|null)$/i.test(text)) return null;
  return text;
}

/** Checks scalar overrides (from flags or the environment); `label` names each key as its source spells it. */
export function checkScalars(values: Partial<Record<keyof ServerScalars, unknown>>, label: (key: string) => string): Partial<ServerScalars> {
  validate(configChecks.scalars, values, label);
  return values as Partial<ServerScalars>;
}

/** `--realm NAME`: serve that open realm, unless the configuration defines it already. */
export function withRealm(cfg: ServerConfig, realm: string): ServerConfig {
  if (cfg.router.realms.some((r) => r.name === realm)) return cfg;
  return { ...cfg, router: { ...cfg.router, realms: [...cfg.router.realms.filter((r) => r.name !== 'realm1'), openRealm(realm)] } };
}

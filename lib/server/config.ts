// Server configuration: defaults, the optional JSON config file, then command-line flags on top.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { HustmqOptions } from '../../bridge/hustmq/index.ts';
import type { HustdbOptions } from '../../bridge/hustdb/index.ts';
import type { EsubOptions } from '../../bridge/esub/index.ts';
import { openRealm, type RouterConfig } from '../core/config.ts';
import type { MqttGateOptions } from '../mqtt/index.ts';
import { CONNECTION_SETTING_KEYS, type ConnectionSettings } from './admission.ts';
import type { WebSocketSettings } from '../transport/websocket-limits.ts';

/** The `websocket` section: the limits of every WebSocket (/ws, /mqtt, esub), and which stack serves /ws. */
export interface WebSocketConfig extends Omit<WebSocketSettings, 'handshakeTimeoutMs'> {
  /** The stack serving WAMP's /ws: ours (default) or ws (kept for the bench's comparison). */
  engine?: 'kitsune' | 'ws';
}
const WEBSOCKET_NUMBERS = ['closeTimeoutMs', 'maxFragments'] as const;

/** The MQTT gate options a config file may set (all numbers; see MqttGateOptions). */
export type MqttSettings = Omit<MqttGateOptions, 'defaultRealm' | 'logger'>;
const MQTT_SETTINGS: readonly (keyof MqttSettings)[] = ['receiveMaximum', 'topicAliasMaximum', 'serverKeepAlive', 'maxKeepAlive', 'maxSessionExpiry', 'v3SessionExpiry', 'maxQueuedMessages', 'maxQueuedBytes', 'sessionSweepMs', 'connectTimeoutMs', 'maxPacketSize'];

export interface ServerConfig {
  host: string;
  /** The shared port: WAMP (WebSocket /ws and RawSocket), MQTT (sniffed and /mqtt), HTTP bridges. */
  port: number;
  /** Dedicated MQTT TCP port; null = none. */
  mqttPort: number | null;
  /** MQTT gate options (Receive Maximum, Server Keep Alive, session limits...). */
  mqtt?: MqttSettings;
  dataDir: string;
  memory: boolean;
  redis: string | null;
  hustmqPort: number | null;
  /** hustmq bridge options (timeouts, limits, basic auth...); realm defaults to the first realm. */
  hustmq?: Partial<HustmqOptions>;
  hustdbPort: number | null;
  /** hustdb bridge options (auth users, value and cache limits); realm defaults to the first realm. */
  hustdb?: Partial<HustdbOptions>;
  esubPort: number | null;
  /** esub bridge options (modes, timeouts, limits, store, cluster token); ESUB_* env vars override them. */
  esub?: EsubOptions;
  logLevel: string;
  router: RouterConfig;
  /** Connection limits and timeouts on every port; what is missing takes defaultConnectionSettings(). */
  connections?: Partial<ConnectionSettings>;
  /** WebSocket limits and options (close and handshake timeouts, fragments, Origins, compression). */
  websocket?: WebSocketConfig;
}

export const usage = `kitsune [--config FILE] [--host H] [--port P] [--mqtt-port P] [--data-dir DIR | --memory]
        [--redis URL] [--realm NAME] [--hustmq-port P] [--hustdb-port P] [--esub-port P]`;

export function defaultConfig(): ServerConfig {
  return {
    host: '127.0.0.1',
    port: 8080,
    mqttPort: 1883,
    dataDir: './data',
    memory: false,
    redis: null,
    hustmqPort: null,
    hustdbPort: null,
    esubPort: null,
    logLevel: 'info',
    router: { realms: [openRealm('realm1')] },
  };
}

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} must be a port number (0-65535), got '${value}'`);
  return n;
}

/** Reads a JSON config file: server keys at the top level, and `realms`, `limits`, `autoCreateRealms`. */
export function readConfigFile(path: string, base: ServerConfig): ServerConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  const cfg: ServerConfig = { ...base, router: { ...base.router } };
  for (const key of ['host', 'port', 'mqttPort', 'dataDir', 'memory', 'redis', 'hustmqPort', 'hustdbPort', 'esubPort', 'logLevel', 'hustmq', 'hustdb', 'esub'] as const) {
    if (key in raw) (cfg as unknown as Record<string, unknown>)[key] = raw[key];
  }
  if ('mqtt' in raw) cfg.mqtt = mqttSettings(raw.mqtt, path);
  if ('connections' in raw) cfg.connections = connectionSettings(raw.connections, path);
  if ('websocket' in raw) cfg.websocket = websocketSettings(raw.websocket, path);
  if (Array.isArray(raw.realms)) cfg.router.realms = raw.realms as RouterConfig['realms'];
  if (raw.limits && typeof raw.limits === 'object') cfg.router.limits = raw.limits as RouterConfig['limits'];
  if (typeof raw.autoCreateRealms === 'boolean') cfg.router.autoCreateRealms = raw.autoCreateRealms;
  return cfg;
}

/** The `mqtt` section: known keys only, each a non-negative integer. */
function mqttSettings(value: unknown, path: string): MqttSettings {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path}: "mqtt" must be an object`);
  const out: MqttSettings = {};
  for (const [key, v] of Object.entries(value)) {
    if (!(MQTT_SETTINGS as readonly string[]).includes(key)) throw new Error(`${path}: unknown mqtt option "${key}" (known: ${MQTT_SETTINGS.join(', ')})`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${path}: mqtt option "${key}" must be a non-negative integer`);
    out[key as keyof MqttSettings] = v;
  }
  return out;
}

/** The `connections` section: known keys only; counts and times are positive integers, exemptAddresses a list of addresses. */
function connectionSettings(value: unknown, path: string): Partial<ConnectionSettings> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path}: "connections" must be an object`);
  const out: Partial<ConnectionSettings> = {};
  for (const [key, v] of Object.entries(value)) {
    if (!(CONNECTION_SETTING_KEYS as readonly string[]).includes(key)) throw new Error(`${path}: unknown connections option "${key}" (known: ${CONNECTION_SETTING_KEYS.join(', ')})`);
    if (key === 'exemptAddresses') {
      if (!Array.isArray(v) || !v.every((a) => typeof a === 'string')) throw new Error(`${path}: connections option "exemptAddresses" must be a list of IP addresses`);
      out.exemptAddresses = v as string[];
    } else {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${path}: connections option "${key}" must be a positive integer`);
      out[key as Exclude<keyof ConnectionSettings, 'exemptAddresses'>] = v;
    }
  }
  return out;
}

/** The `websocket` section: known keys only, each of its type. */
function websocketSettings(value: unknown, path: string): WebSocketConfig {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path}: "websocket" must be an object`);
  const out: WebSocketConfig = {};
  for (const [key, v] of Object.entries(value)) {
    if ((WEBSOCKET_NUMBERS as readonly string[]).includes(key)) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`${path}: websocket option "${key}" must be a positive integer`);
      out[key as (typeof WEBSOCKET_NUMBERS)[number]] = v;
    } else if (key === 'allowedOrigins') {
      if (!Array.isArray(v) || !v.every((o) => typeof o === 'string')) throw new Error(`${path}: websocket option "allowedOrigins" must be an array of strings`);
      out.allowedOrigins = v as string[];
    } else if (key === 'compression') {
      if (v === false) out.compression = false;
      else if (v && typeof v === 'object' && Object.entries(v).every(([k, n]) => k === 'threshold' && typeof n === 'number' && n >= 0)) out.compression = v as { threshold?: number };
      else throw new Error(`${path}: websocket option "compression" must be false or {"threshold": bytes}`);
    } else if (key === 'engine') {
      if (v !== 'kitsune' && v !== 'ws') throw new Error(`${path}: websocket option "engine" must be "kitsune" or "ws"`);
      out.engine = v;
    } else {
      throw new Error(`${path}: unknown websocket option "${key}" (known: ${[...WEBSOCKET_NUMBERS, 'allowedOrigins', 'compression', 'engine'].join(', ')})`);
    }
  }
  return out;
}

export function configFromArgs(argv: string[]): ServerConfig {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'mqtt-port': { type: 'string' },
      'data-dir': { type: 'string' },
      memory: { type: 'boolean' },
      redis: { type: 'string' },
      realm: { type: 'string' },
      'hustmq-port': { type: 'string' },
      'hustdb-port': { type: 'string' },
      'esub-port': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) throw new Error(usage);
  let cfg = defaultConfig();
  if (values.config) cfg = readConfigFile(values.config, cfg);
  if (values.host) cfg.host = values.host;
  if (values.port) cfg.port = port(values.port, '--port');
  if (values['mqtt-port']) cfg.mqttPort = port(values['mqtt-port'], '--mqtt-port');
  if (values['data-dir']) cfg.dataDir = values['data-dir'];
  if (values['data-dir'] && values.memory) throw new Error('--data-dir and --memory exclude each other');
  if (values.memory) cfg.memory = true;
  if (values.redis) cfg.redis = values.redis;
  if (values['hustmq-port']) cfg.hustmqPort = port(values['hustmq-port'], '--hustmq-port');
  if (values['hustdb-port']) cfg.hustdbPort = port(values['hustdb-port'], '--hustdb-port');
  if (values['esub-port']) cfg.esubPort = port(values['esub-port'], '--esub-port');
  if (values['log-level']) cfg.logLevel = values['log-level'];
  if (values.realm && !cfg.router.realms.some((r) => r.name === values.realm)) {
    cfg.router = { ...cfg.router, realms: [...cfg.router.realms.filter((r) => r.name !== 'realm1'), openRealm(values.realm)] };
  }
  return cfg;
}

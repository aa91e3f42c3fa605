// esub bridge options: defaults, and the original server's environment variables as overrides.
import type { Logger, WebSocketSettings } from '../../lib/index.ts';

/** Which reps are kept for GET /rsub (phase 2): none, those that found no listener, or every one. */
export type StoreMode = 'none' | 'unclaimed' | 'all';

export interface EsubOptions {
  /** Realm the bridge's sessions join (default 'realm1'). */
  realm?: string;
  /**
   * Role of requests without credentials (default: the realm's anonymous role; none = such requests
   * get 401). Requests with credentials (Basic, or a bearer ticket) act as their principal.
   */
  authrole?: string;
  /** Path the app is served under (e.g. '/esub'), for redirects and Location headers. Default ''. */
  basePath?: string;
  /** `name` in /info; default the OS hostname. */
  nodeName?: string;
  /** `ip` in /info (ESUB_NODE_IP); default the first non-loopback IPv4 address. */
  nodeIp?: string;
  /** This node's advertised base URL (ESUB_NODE_URL), for /members and HEAD Locations; default from the Host header. */
  nodeUrl?: string;
  /** Read receipts (ESUB_CONFIRM_RECEIPT): each psub message must be answered by the client. */
  confirmReceipt?: boolean;
  /** How long a psub client has to send its read receipt, ms (default 1000). */
  receiptTimeoutMs?: number;
  /** Keepalive period (ESUB_PING_FREQUENCY, whole seconds there), ms (default 60000). */
  pingFrequencyMs?: number;
  /** ESUB_CLOSE_CONNECTIONS: send `Connection: close` on every HTTP response. */
  closeConnections?: boolean;
  /** Prometheus metric prefix (ESUB_METRIC_PREFIX, default 'esub'). */
  metricPrefix?: string;
  /** Longest key accepted, in UTF-8 bytes (default 1024). */
  maxKeyBytes?: number;
  /** Largest rep body (and /prep data) accepted, bytes (default 16 MiB). */
  maxBodyBytes?: number;
  /** A sub waiting longer gets 500 `... context deadline exceeded`; 0 = wait forever (the original). */
  subTimeoutMs?: number;
  /** Most time a rep may take, including queueing, receipts and redirects, ms (default 30000). */
  repTimeoutMs?: number;
  /** Phase 2 (ESUB_STORE): which reps are stored for /rsub (default 'unclaimed'). */
  storeMode?: StoreMode;
  /** How long stored reps are kept, ms (ESUB_STORE_TTL in seconds; default 1 hour). */
  storeTtlMs?: number;
  /** Shared cluster token for /join, /members, /announce (ESUB_CLUSTER_TOKEN); null = those routes refuse. */
  clusterToken?: string | null;
  /** /keys answers `{node: [keys]}` instead of a flat list (ESUB_KEYS_BY_NODE); `?nodes=1` asks for it per request. */
  keysByNode?: boolean;
  logger?: Logger;
  /** Limits of the psub and prep WebSockets (close/handshake timeouts, fragments, Origins, compression). */
  websocket?: WebSocketSettings;
}

export type ResolvedEsubOptions = Required<Omit<EsubOptions, 'authrole' | 'nodeName' | 'nodeIp' | 'nodeUrl' | 'clusterToken'>> & {
  authrole: string | undefined;
  nodeName: string | undefined;
  nodeIp: string | undefined;
  nodeUrl: string | undefined;
  clusterToken: string | null;
};

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export function resolveEsubOptions(o: EsubOptions = {}): ResolvedEsubOptions {
  const r: ResolvedEsubOptions = {
    realm: o.realm ?? 'realm1',
    authrole: o.authrole,
    basePath: (o.basePath ?? '').replace(/\/+$/, ''),
    nodeName: o.nodeName,
    nodeIp: o.nodeIp,
    nodeUrl: o.nodeUrl?.replace(/\/+$/, ''),
    confirmReceipt: o.confirmReceipt ?? false,
    receiptTimeoutMs: o.receiptTimeoutMs ?? 1000,
    pingFrequencyMs: o.pingFrequencyMs ?? 60_000,
    closeConnections: o.closeConnections ?? false,
    metricPrefix: o.metricPrefix ?? 'esub',
    maxKeyBytes: o.maxKeyBytes ?? 1024,
    maxBodyBytes: o.maxBodyBytes ?? 16 * 1024 * 1024,
    subTimeoutMs: o.subTimeoutMs ?? 0,
    repTimeoutMs: o.repTimeoutMs ?? 30_000,
    storeMode: o.storeMode ?? 'unclaimed',
    storeTtlMs: o.storeTtlMs ?? 3_600_000,
    clusterToken: o.clusterToken ?? null,
    keysByNode: o.keysByNode ?? false,
    logger: o.logger ?? silent,
    websocket: o.websocket ?? {},
  };
  for (const k of ['receiptTimeoutMs', 'pingFrequencyMs', 'maxKeyBytes', 'maxBodyBytes', 'repTimeoutMs', 'storeTtlMs'] as const) {
    if (!(Number.isFinite(r[k]) && r[k] > 0)) throw new RangeError(`esub option ${k} must be a number > 0, got ${r[k]}`);
  }
  if (!(Number.isFinite(r.subTimeoutMs) && r.subTimeoutMs >= 0)) throw new RangeError(`esub option subTimeoutMs must be >= 0, got ${r.subTimeoutMs}`);
  if (!['none', 'unclaimed', 'all'].includes(r.storeMode)) throw new RangeError(`esub option storeMode must be none, unclaimed or all, got '${r.storeMode}'`);
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(r.metricPrefix)) throw new RangeError(`esub metric prefix '${r.metricPrefix}' is not a valid Prometheus name`);
  return r;
}

function wholeSeconds(name: string, value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) <= 0) throw new Error(`${name} must be a whole number of seconds > 0, got '${value}'`);
  return Number(value) * 1000;
}

/**
 * The original esub server's environment variables (and kitsune's additions) as option overrides.
 * ESUB_PORT is the server's (`esubPortFromEnv`). A malformed number throws, naming the variable.
 */
export function esubOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): EsubOptions {
  const o: EsubOptions = {};
  const set = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  if (set('ESUB_NODE_IP')) o.nodeIp = env.ESUB_NODE_IP;
  if (set('ESUB_NODE_URL')) o.nodeUrl = env.ESUB_NODE_URL;
  if (env.ESUB_CONFIRM_RECEIPT !== undefined) o.confirmReceipt = env.ESUB_CONFIRM_RECEIPT !== '' && env.ESUB_CONFIRM_RECEIPT !== '0';
  if (env.ESUB_CLOSE_CONNECTIONS !== undefined) o.closeConnections = env.ESUB_CLOSE_CONNECTIONS !== '';
  const ping = set('ESUB_PING_FREQUENCY');
  if (ping) o.pingFrequencyMs = wholeSeconds('ESUB_PING_FREQUENCY', ping);
  if (set('ESUB_METRIC_PREFIX')) o.metricPrefix = env.ESUB_METRIC_PREFIX;
  const mode = set('ESUB_STORE');
  if (mode) {
    if (mode !== 'none' && mode !== 'unclaimed' && mode !== 'all') throw new Error(`ESUB_STORE must be none, unclaimed or all, got '${mode}'`);
    o.storeMode = mode;
  }
  const ttl = set('ESUB_STORE_TTL');
  if (ttl) o.storeTtlMs = wholeSeconds('ESUB_STORE_TTL', ttl);
  if (env.ESUB_CLUSTER_TOKEN !== undefined) o.clusterToken = env.ESUB_CLUSTER_TOKEN;
  if (env.ESUB_KEYS_BY_NODE !== undefined) o.keysByNode = env.ESUB_KEYS_BY_NODE !== '' && env.ESUB_KEYS_BY_NODE !== '0';
  return o;
}

/** ESUB_PORT as a port number, or undefined when unset. */
export function esubPortFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env.ESUB_PORT;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new Error(`ESUB_PORT must be a port number (0-65535), got '${v}'`);
  return n;
}

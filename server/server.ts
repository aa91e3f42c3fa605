// The server: the router, its gates and every listener, started and stopped as one.
import http from 'node:http';
import { createHustmqBridge } from '../bridge/hustmq/index.ts';
import { createHustdbBridge } from '../bridge/hustdb/index.ts';
import type { Router } from '../lib/core/router.ts';
import { KitsuneRouter } from '../lib/index.ts';
import type { Logger } from '../lib/core/log.ts';
import type { Store } from '../lib/core/store.ts';
import { openStore } from '../lib/store/open.ts';
import { createWampGate } from '../lib/wamp/gate.ts';
import { acceptRawSocket } from '../lib/wamp/rawsocket.ts';
import { createWampWebSocketServer } from '../lib/wamp/websocket.ts';
import { Admission, defaultConnectionSettings } from './admission.ts';
import type { ServerConfig } from './config.ts';
import { HttpMounts } from './http-mounts.ts';
import { listenHttpPort, type HttpPort, type HttpPortOptions } from './http-port.ts';
import { createSharedListener } from './listener.ts';
import { withCors } from './cors.ts';
import { createDashboard, DASHBOARD_PATH } from './dashboard.ts';
import { createHealthHandler } from './healthz.ts';
import { createHttpAccess, guarded, type HttpAccess } from './http-access.ts';
import { openCluster } from './cluster.ts';
import { createMetricsHandler, type LabelledRows } from './metrics.ts';
import { createMqttListeners } from './mqtt-listeners.ts';
import { DEFAULT_SYS_INTERVAL_SECONDS, startSysTopics } from './sys-topics.ts';
import { packageVersion } from './version.ts';
import type { TlsEndpoint, TlsListenerName } from './tls.ts';
import { DEFAULT_WEBSOCKET_PATHS, type UpgradeRefusalReason, type WebSocketProtocol } from './upgrade-routes.ts';
import { createEsubBridge, esubOptionsFromEnv, esubPortFromEnv } from '../bridge/esub/index.ts';

export interface RunningServer {
  router: Router;
  /** The URL of every listener, by name. */
  urls: Record<string, string>;
  http: HttpMounts;
  /** The guard of the server's own endpoints (http.access): wrap a handler with guarded() to use it. */
  httpAccess: HttpAccess;
  /** Every TLS listener's endpoint, by the port key it secures (their certificates reload on SIGHUP). */
  tls: Map<TlsListenerName, TlsEndpoint>;
  close(): Promise<void>;
}

/** How long shutdown waits for clients to answer GOODBYE before closing sockets. */
const SHUTDOWN_GRACE_MS = 300;
/** How often history is pruned and expired records are swept. */
const MAINTENANCE_INTERVAL_MS = 60_000;

/** Opens the configured store; an unusable data directory stops the server with a message naming it. */
async function openConfiguredStore(config: ServerConfig): Promise<Store> {
  if (config.memory) return openStore({ memory: true });
  return openStore({ dataDir: config.dataDir });
}

/** Where the HTTP endpoints are mounted on the shared port; they own these paths for WebSocket upgrades too. */
const HTTP_ENDPOINTS = { health: '/healthz', metrics: '/metrics', hustmq: '/hustmq', hustdb: '/hustdb', esub: '/esub', dashboard: DASHBOARD_PATH } as const;

export async function startServer(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  // `paths` is the listener's business; the rest (limits, engine) every WebSocket server's
  const { paths = DEFAULT_WEBSOCKET_PATHS, ...websocket } = config.websocket ?? {};
  for (const path of Object.keys(paths)) {
    const endpoint = Object.values(HTTP_ENDPOINTS).find((p) => path === p || path.startsWith(p + '/'));
    if (endpoint) throw new Error(`websocket path ${path} is under the HTTP endpoint ${endpoint}; pick another`);
  }
  const cluster = openCluster(config.redis, config.cluster, process.env, logger);
  const store = await openConfiguredStore(config);
  const router = new KitsuneRouter(config.router, { store, logger, cluster });
  try {
    await router.open();
  } catch (err) {
    await cluster.close().catch(() => undefined);
    throw err;
  }
  const maxMessageBytes = router.limits.maxMessageBytes;
  // One admission for every port: the limits count connections on all of them together.
  const connections = { ...defaultConnectionSettings(), ...config.connections };
  const admission = new Admission(connections);
  const acceptWamp = createWampGate(router, logger);
  const wampWs = createWampWebSocketServer(acceptWamp, {
    maxMessageBytes,
    maxBufferedBytes: router.limits.sendBufferHardBytes,
    ...websocket,
    onError: (err) => logger.error({ err }, 'WAMP WebSocket handler error'),
  });
  const mounts = new HttpMounts();
  const listeners = new Map<string, { url: string; up: boolean }>();
  const firstRealm = config.router.realms[0]?.name ?? 'realm1';
  const accessRefused = new Map<401 | 403, number>();
  const httpAccess = createHttpAccess(router, firstRealm, config.http?.access, (status) => void accessRefused.set(status, (accessRefused.get(status) ?? 0) + 1));
  if (config.dashboard?.enabled !== false) {
    const dashboard = createDashboard({ realm: config.dashboard?.realm ?? firstRealm, wamp: (req, socket, head) => wampWs.handleUpgrade(req, socket, head), onMissing: (reason) => logger.error({ event: 'dashboard.missing' }, reason) });
    // the page's files follow http.access like /metrics; what it shows comes over WAMP, under the realm's permissions
    mounts.mount(HTTP_ENDPOINTS.dashboard, guarded(httpAccess, DASHBOARD_PATH, dashboard.handler), false, dashboard.onUpgrade);
  }
  mounts.mount(HTTP_ENDPOINTS.health, guarded(httpAccess, '/healthz', createHealthHandler({ router, store, storeEngine: config.memory ? 'memory' : 'sqlite', listeners, cluster })));
  const upgradesRefused = new Map<UpgradeRefusalReason, number>();
  const hustmq = createHustmqBridge(router, { realm: firstRealm, ...config.hustmq }, { access: httpAccess });
  mounts.mount(HTTP_ENDPOINTS.hustmq, withCors(hustmq.callback, config.cors), true);
  const hustdb = createHustdbBridge(router, { realm: firstRealm, ...config.hustdb });
  mounts.mount(HTTP_ENDPOINTS.hustdb, withCors(hustdb.callback, config.cors), true);
  const upgradeRows = (): ReturnType<LabelledRows> => [...upgradesRefused].map(([reason, value]) => ({ labels: { reason }, value }));
  // esub: at /esub on the shared port, and at the root of --esub-port (ESUB_* env vars override).
  const esub = createEsubBridge(
    router,
    {
      realm: firstRealm,
      ...config.esub,
      ...esubOptionsFromEnv(),
      logger,
      websocket: { ...websocket, ...config.esub?.websocket },
    },
    { access: httpAccess },
  );
  const esubShared = esub.at(HTTP_ENDPOINTS.esub);
  mounts.mount(HTTP_ENDPOINTS.esub, withCors(esubShared.callback, config.cors), true, (req, socket, head) => esubShared.handleUpgrade(req, socket, head));
  const { sysInterval = DEFAULT_SYS_INTERVAL_SECONDS, ...mqttSettings } = config.mqtt ?? {};
  const mqtt = createMqttListeners(router, firstRealm, logger, mqttSettings, websocket, admission);
  const mqttQueued = (): Map<string, number> => {
    const byRealm = new Map<string, number>();
    for (const s of mqtt.gate.sessions.all()) byRealm.set(s.realm, (byRealm.get(s.realm) ?? 0) + s.queued);
    return byRealm;
  };
  mounts.mount(HTTP_ENDPOINTS.metrics, guarded(httpAccess, '/metrics', createMetricsHandler(router, admission, upgradeRows, { hustmq: hustmq.refused, hustdb: hustdb.refused }, mqttQueued, () =>
        [...accessRefused].map(([status, value]) => ({ labels: { status: String(status) }, value })),
      )));
  const tlsFailure =
    (listener: string) =>
    (reason: string, err: Error): void =>
      logger.debug({ event: 'tls.failed', listener, reason, err: err.message }, 'TLS handshake failed');
  const httpServer = http.createServer(mounts.handler);
  // One options object for every RawSocket connection (each keeps a reference to it).
  const rawSocketOptions = { maxMessageBytes, maxBufferedBytes: router.limits.sendBufferHardBytes, onError: (err: unknown) => logger.error({ err }, 'WAMP RawSocket handler error') };
  const shared = createSharedListener({
    host: config.host,
    port: config.port,
    onHttp: httpServer,
    websocket: {
      wamp: (req, socket, head) => wampWs.handleUpgrade(req, socket, head),
      mqtt: mqtt.onUpgrade,
      paths,
      mounted: (path) => mounts.upgradeHandler(path),
      onRefused: (reason) => void upgradesRefused.set(reason, (upgradesRefused.get(reason) ?? 0) + 1),
    },
    onMqtt: mqtt.onSniffed,
    onRawSocket: (socket, first) => acceptRawSocket(socket, first, acceptWamp, rawSocketOptions),
    onError: (err) => logger.error({ err }, 'listener handler error'),
    admission,
    httpTimeouts: connections,
    sniffTimeoutMs: connections.sniffTimeoutMs,
    tls: config.tls?.port,
    onTlsFailure: tlsFailure('shared'),
  });
  const { port } = await shared.listen();
  const tls = new Map<TlsListenerName, TlsEndpoint>();
  if (shared.tls) tls.set('port', shared.tls);
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  // a path configured for the protocol, else one not configured at all (any such path works)
  const pathFor = (p: WebSocketProtocol): string => Object.keys(paths).find((k) => paths[k] === p) ?? (Object.hasOwn(paths, '/') ? `/${p}` : '/');
  const urls: Record<string, string> = {
    wamp: `ws://${host}:${port}${pathFor('wamp')}`,
    rawsocket: `tcp://${host}:${port}`,
    http: `http://${host}:${port}`,
    mqttWs: `ws://${host}:${port}${pathFor('mqtt')}`,
  };
  if (shared.tls) {
    urls.wss = `wss://${host}:${port}${pathFor('wamp')}`;
    urls.rawsocketTls = `tls://${host}:${port}`;
    urls.https = `https://${host}:${port}`;
    urls.mqttWss = `wss://${host}:${port}${pathFor('mqtt')}`;
  }
  const mqttPort = await mqtt.listen(config.host, config.mqttPort);
  if (mqttPort !== null) urls.mqtt = `mqtt://${host}:${mqttPort}`;
  if (config.mqttsPort !== null && config.tls?.mqttsPort) {
    const mqtts = await mqtt.listenTls(config.host, config.mqttsPort, config.tls.mqttsPort, connections.sniffTimeoutMs);
    tls.set('mqttsPort', mqtts.endpoint);
    urls.mqtts = `mqtts://${host}:${mqtts.port}`;
  }
  urls.hustmq = `${urls.http}/hustmq`;
  // A bridge's own port: the same admission and HTTP deadlines as the shared port.
  const bridgePort = async (name: 'hustmq' | 'hustdb' | 'esub', port: number, handler: http.RequestListener, onUpgrade?: HttpPortOptions['onUpgrade']): Promise<HttpPort> => {
    const key = `${name}Port` as const;
    const served = await listenHttpPort({
      name,
      host: config.host,
      port,
      handler: withCors(handler, config.cors),
      onUpgrade,
      admission,
      timeouts: connections,
      onError: (err) => logger.error({ err, listener: name }, 'listener error'),
      tls: config.tls?.[key],
      onTlsFailure: tlsFailure(name),
    });
    if (served.tls) tls.set(key, served.tls);
    urls[key] = `${served.tls ? 'https' : 'http'}://${host}:${served.port}`;
    return served;
  };
  let hustmqServer: HttpPort | undefined;
  if (config.hustmqPort !== null) hustmqServer = await bridgePort('hustmq', config.hustmqPort, hustmq.callback);

  urls.hustdb = `${urls.http}/hustdb`;
  let hustdbServer: HttpPort | undefined;
  if (config.hustdbPort !== null) hustdbServer = await bridgePort('hustdb', config.hustdbPort, hustdb.callback);

  urls.esub = `${urls.http}/esub`;
  const esubPort = esubPortFromEnv() ?? config.esubPort;
  let esubServer: HttpPort | undefined;
  if (esubPort !== null) esubServer = await bridgePort('esub', esubPort, esub.callback, esub.handleUpgrade);

  // Every listener is up once here; close() marks them down first, so /healthz says so while stopping.
  const listenerUrls: Record<string, string | undefined> = { shared: urls.http, mqtt: urls.mqtt, mqtts: urls.mqtts, hustmqPort: urls.hustmqPort, hustdbPort: urls.hustdbPort, esubPort: urls.esubPort };
  for (const [name, url] of Object.entries(listenerUrls)) if (url) listeners.set(name, { url, up: true });
  if (config.dashboard?.enabled !== false) urls.dashboard = `${urls.http}${DASHBOARD_PATH}/`;

  const sys = startSysTopics(router, { intervalSeconds: sysInterval, version: packageVersion(), logger });
  const upkeep = setInterval(() => {
    router.maintain().catch((err: unknown) => logger.error({ err }, 'store maintenance failed'));
  }, MAINTENANCE_INTERVAL_MS);
  upkeep.unref();

  let closed = false;
  return {
    router,
    urls,
    http: mounts,
    httpAccess,
    tls,
    async close() {
      if (closed) return;
      closed = true;
      for (const l of listeners.values()) l.up = false;
      clearInterval(upkeep);
      sys?.stop();
      await hustmq.close();
      await hustmqServer?.close();
      await hustdb.close();
      await hustdbServer?.close();
      await esub.close();
      await esubServer?.close();
      await mqtt.close();
      router.close();
      await new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS).unref());
      wampWs.close();
      await shared.close();
      await cluster.close();
      await store.close();
    },
  };
}

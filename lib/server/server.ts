// The server: the router, its gates and every listener, started and stopped as one.
import http from 'node:http';
import { Router } from '../core/router.ts';
import type { Logger } from '../core/log.ts';
import type { Store } from '../core/store.ts';
import { openStore } from '../store/open.ts';
import { createWampGate } from '../wamp/gate.ts';
import { acceptRawSocket } from '../wamp/rawsocket.ts';
import { createWampWebSocketServer } from '../wamp/websocket.ts';
import type { ServerConfig } from './config.ts';
import { HttpMounts } from './http-mounts.ts';
import { createSharedListener } from './listener.ts';
import { createMetricsHandler } from './metrics.ts';

export interface RunningServer {
  router: Router;
  /** The URL of every listener, by name. */
  urls: Record<string, string>;
  http: HttpMounts;
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

export async function startServer(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  const store = await openConfiguredStore(config);
  const router = new Router(config.router, { store, logger });
  await router.open();
  const maxMessageBytes = router.limits.maxMessageBytes;
  const acceptWamp = createWampGate(router, logger);
  const wampWs = createWampWebSocketServer(acceptWamp, { maxMessageBytes, onError: (err) => logger.error({ err }, 'WAMP WebSocket handler error') });
  const mounts = new HttpMounts();
  mounts.mount('/healthz', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', sessions: router.sessionCount }));
  });
  mounts.mount('/metrics', createMetricsHandler(router));
  const httpServer = http.createServer(mounts.handler);
  const shared = createSharedListener({
    host: config.host,
    port: config.port,
    onHttp: httpServer,
    onWampUpgrade: (req, socket, head) => wampWs.handleUpgrade(req, socket, head),
    onRawSocket: (socket, first) => acceptRawSocket(socket, first, acceptWamp, { maxMessageBytes, onError: (err) => logger.error({ err }, 'WAMP RawSocket handler error') }),
    onError: (err) => logger.error({ err }, 'listener handler error'),
  });
  const { port } = await shared.listen();
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const urls: Record<string, string> = {
    wamp: `ws://${host}:${port}/ws`,
    rawsocket: `tcp://${host}:${port}`,
    http: `http://${host}:${port}`,
  };

  const upkeep = setInterval(() => {
    router.maintain().catch((err: unknown) => logger.error({ err }, 'store maintenance failed'));
  }, MAINTENANCE_INTERVAL_MS);
  upkeep.unref();

  let closed = false;
  return {
    router,
    urls,
    http: mounts,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(upkeep);
      router.close();
      await new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS).unref());
      wampWs.close();
      await shared.close();
      await store.close();
    },
  };
}

// GET /healthz: whether the server is serving. Counts client sessions only (WAMP and MQTT: the
// bridges' own sessions are part of the server), lists each listener and whether it is up, and
// asks the store one read, so a store that stopped answering turns the answer into 503.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cluster } from '../lib/core/cluster.ts';
import type { Router } from '../lib/core/router.ts';
import type { Store } from '../lib/core/store.ts';

/** A store slower than this to answer one read counts as down. */
const STORE_PROBE_MS = 2_000;

export interface HealthSources {
  router: Router;
  store: Store;
  storeEngine: 'sqlite' | 'memory';
  /** Listener name → its URL and whether it accepts connections. */
  listeners: Map<string, { url: string; up: boolean }>;
  /** With several nodes, their status is shown; a node cut off from Redis is degraded. */
  cluster?: Cluster;
}

function clientSessions(router: Router): { wamp: number; mqtt: number } {
  const counts = { wamp: 0, mqtt: 0 };
  for (const realm of router.realms.values()) {
    for (const session of realm.sessions.values()) {
      const p = session.identity.protocol;
      if (p === 'wamp' || p === 'mqtt') counts[p]++;
    }
  }
  return counts;
}

async function storeUp(store: Store): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, STORE_PROBE_MS, false)));
  const probe = store.getRetained('', '\u0000healthz').then(
    () => true,
    () => false,
  );
  const up = await Promise.race([probe, timeout]);
  clearTimeout(timer);
  return up;
}

export function createHealthHandler(sources: HealthSources): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    void storeUp(sources.store).then((up) => {
      const byProtocol = clientSessions(sources.router);
      const listeners = Object.fromEntries(sources.listeners);
      const cluster = sources.cluster?.multiNode ? sources.cluster.status() : undefined;
      const healthy = up && [...sources.listeners.values()].every((l) => l.up) && cluster?.connected !== false;
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(
        JSON.stringify({
          status: healthy ? 'ok' : 'degraded',
          sessions: byProtocol.wamp + byProtocol.mqtt,
          sessionsByProtocol: byProtocol,
          listeners,
          store: { engine: sources.storeEngine, up },
          ...(cluster ? { cluster } : {}),
        }),
      );
    });
  };
}

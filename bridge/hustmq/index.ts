// The hustmq HTTP bridge: hustmq ha's API (queues, push queues, RPC) as a Koa app, a client of the
// router's public API. Queue Q is a durable queue whose items are also published on `hustmq.Q`;
// push queue Q is the indexed stream `hustmq.push.Q` (history); do_get/do_post are calls and
// one-shot registrations of `hustmq.do.Q`.
import Koa from 'koa';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KitsuneRouter } from '../../lib/index.ts';
import { errorBoundary, noRoute } from '../http/boundary.ts';
import type { AccessGuard } from '../http/access.ts';
import { RouteTable } from '../http/route-table.ts';
import { BridgeSessions } from '../http/sessions.ts';
import { validQueueName } from './args.ts';
import { basicAuth } from './auth.ts';
import type { Hustmq } from './context.ts';
import { type HustmqOptions, resolveOptions } from './options.ts';
import { INDEX_WRAP, pushRoutes } from './push-routes.ts';
import { queueRoutes } from './queue-routes.ts';
import { RpcHub } from './rpc.ts';
import { rpcRoutes } from './rpc-routes.ts';
import { statusRoutes } from './status-routes.ts';

export type { HustmqOptions, HustmqAuth } from './options.ts';

export interface HustmqBridge {
  /** A Node.js request listener serving the API at the root (mount it with the prefix stripped). */
  callback: (req: IncomingMessage, res: ServerResponse) => void;
  /** Refusals answered, by status (for metrics). */
  refused: Map<number, number>;
  /** Answers parked requests, releases waiters and closes the bridge's sessions. */
  close(): Promise<void>;
}

/** What the embedding server lends the bridge: the guard of routes that reveal its state (stat_all). */
export interface BridgeHooks {
  access?: AccessGuard;
}

export function createHustmqBridge(router: KitsuneRouter, options: HustmqOptions, hooks: BridgeHooks = {}): HustmqBridge {
  const opts = resolveOptions(options);
  // The bridge's own session (trusted): it binds the queues and streams and runs them; each request
  // is authorized as its own identity first (auth.ts).
  const client = router.connect(opts.realm, { authid: opts.authid, protocol: 'http' });
  client.queues.bind(opts.topicPrefix, { validName: validQueueName, recheckMs: opts.autostIntervalMs });
  const ready = client.streams.bind(`${opts.topicPrefix}.push`, {
    defaultTtlMs: opts.pushDefaultTtlSec * 1000,
    maxTtlMs: opts.pushMaxTtlSec * 1000,
    maxItems: opts.pushMaxItems,
    maxStreams: opts.maxQueues,
    wrap: INDEX_WRAP,
    validName: validQueueName,
  });
  let isReady = false;
  ready.then(
    () => (isReady = true),
    () => undefined,
  );
  const users = Object.fromEntries(Object.entries(opts.auth?.users ?? {}).map(([user, u]) => [user, typeof u === 'string' ? { password: u } : u]));
  const sessions = new BridgeSessions(router, { realm: opts.realm, name: opts.authid, anonymousRole: opts.authrole, users });
  const h: Hustmq = { client, opts, rpc: new RpcHub(router, client, opts), parked: { evget: 0, evsub: 0 }, sessions, access: hooks.access };

  const refused = new Map<number, number>();
  const app = new Koa();
  app.silent = true;
  // every failure is a plain-text answer naming the problem (404 unless said otherwise), counted
  app.use(errorBoundary({ otherStatus: 404, refused }));
  // not an async function: a put or get is a handful of promises, and one more per request showed
  app.use((_ctx, next) => (isReady ? next() : ready.then(() => next())));
  if (opts.auth) app.use(basicAuth(h));
  const routes = new RouteTable();
  queueRoutes(routes, h);
  pushRoutes(routes, h);
  rpcRoutes(routes, h);
  statusRoutes(routes, h);
  app.use(routes.middleware());
  app.use(noRoute());

  let closed = false;
  return {
    callback: app.callback(),
    refused,
    async close() {
      if (closed) return;
      closed = true;
      h.rpc.close();
      client.queues.close();
      client.queues.unbind();
      client.streams.close();
      client.close();
      sessions.close();
    },
  };
}

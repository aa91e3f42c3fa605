// The hustdb HTTP bridge: hustdb ha's API (spec/hustdb.md, §11 is the contract) as a Koa app, a
// client of the router's public API. Plain keys and hash fields are retained topics
// (hustdb.kv.<K>, hustdb.hash.<T>.<K>), sets and sorted sets are indexed collections of the store
// whose writes are events on hustdb.set.<T> / hustdb.zset.<T>; the cache/* routes are a separate
// memory-only namespace.
import Koa from 'koa';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KitsuneRouter } from '../../lib/index.ts';
import { errorBoundary, noRoute } from '../http/boundary.ts';
import { BridgeSessions } from '../http/sessions.ts';
import { RouteTable } from '../http/route-table.ts';
import { LruCache } from './cache.ts';
import type { Hustdb } from './context.ts';
import { cacheRoutes } from './cache-routes.ts';
import { hashRoutes } from './hash-routes.ts';
import { kvRoutes } from './kv-routes.ts';
import { metaRoutes } from './meta-routes.ts';
import { indexListings } from './names.ts';
import { type HustdbOptions, resolveOptions } from './options.ts';
import { setRoutes } from './set-routes.ts';
import { statRoutes } from './stat-routes.ts';
import { zsetRoutes } from './zset-routes.ts';

export type { HustdbOptions, HustdbUser } from './options.ts';

export interface HustdbBridge {
  /** A Node.js request listener serving the API at the root (mount it with the prefix stripped). */
  callback: (req: IncomingMessage, res: ServerResponse) => void;
  /** Refusals answered, by status (for metrics). */
  refused: Map<number, number>;
  close(): Promise<void>;
}

export function createHustdbBridge(router: KitsuneRouter, options: HustdbOptions): HustdbBridge {
  const opts = resolveOptions(options);
  const h: Hustdb = { opts, sessions: new BridgeSessions(router, {
      realm: opts.realm,
      name: 'hustdb',
      users: opts.auth,
      anonymous: opts.auth === undefined,
      // from the first request on, every write keeps the listing indexes (existing values are indexed in slices)
      onSession: (c) => void indexListings(c).catch(() => undefined),
    }), cache: new LruCache(opts.cacheMaxBytes) };
  const refused = new Map<number, number>();
  const app = new Koa();
  app.silent = true;
  app.use(errorBoundary({ otherStatus: 404, failHeaders: { Version: '0' }, refused }));
  const routes = new RouteTable();
  metaRoutes(routes);
  kvRoutes(routes, h);
  hashRoutes(routes, h);
  setRoutes(routes, h);
  zsetRoutes(routes, h);
  statRoutes(routes, h);
  cacheRoutes(routes, h);
  app.use(routes.middleware());
  app.use(noRoute());
  return {
    callback: app.callback(),
    refused,
    async close() {
      h.sessions.close();
    },
  };
}

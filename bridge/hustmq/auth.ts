// Who a hustmq request acts as, and what it may do. Every route that touches a queue checks the
// request's identity (bridge/http/sessions.ts) against the realm's permissions on the URI the route
// works on, as a WAMP client doing the same would be checked:
//   put, lock, max, purge, timeout            publish    <prefix>.<Q>
//   get, evget, ack, worker, stat of Q        subscribe  <prefix>.<Q>
//   pub / sub, evsub, stat of a push queue    publish / subscribe  <prefix>.push.<Q>
//   do_get / do_post                          call / register      <prefix>.do.<Q> (do_post without a queue: <prefix>.do)
// The bridge's own Basic users (hustmq ha's http_basic_auth_file, option `auth`) still gate every
// route but the exempt ones (auth_filter), as before.
import type { Context, Middleware } from 'koa';
import type { Action } from '../../lib/index.ts';
import type { Hustmq } from './context.ts';

const DEFAULT_EXEMPT = ['get', 'sub', 'version'];

/** The route name of a path: '/get' → 'get'. */
function routeOf(path: string): string {
  return path.replace(/^\/+/, '').replace(/\/+$/, '');
}

/** With the bridge's own users configured: 401 on every route but the exempt ones without valid credentials. */
export function basicAuth(h: Hustmq): Middleware {
  const exempt = new Set(h.opts.auth?.exempt ?? DEFAULT_EXEMPT);
  return async (ctx, next) => {
    if (!exempt.has(routeOf(ctx.path))) await h.sessions.identify(ctx.headers, false);
    return next();
  };
}

/** Rejects with 401 (no or wrong credentials) or 403 (the role forbids it, body naming the URI) unless the request may. */
export async function allow(ctx: Context, h: Hustmq, action: Action, uri: string): Promise<void> {
  (await h.sessions.of(ctx)).authorize(action, uri);
}

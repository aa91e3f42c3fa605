// Basic auth for the hustmq bridge, as hustmq ha's http_basic_auth_file: 401 with
// WWW-Authenticate on a missing or wrong credential, except on the routes of auth_filter.
import { timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { reply } from './http.ts';
import type { HustmqAuth } from './options.ts';

const DEFAULT_EXEMPT = ['get', 'sub', 'version'];

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The route name of a path: '/get' → 'get'. */
function routeOf(path: string): string {
  return path.replace(/^\/+/, '').replace(/\/+$/, '');
}

export function basicAuth(auth: HustmqAuth): Middleware {
  const exempt = new Set(auth.exempt ?? DEFAULT_EXEMPT);
  const users = new Map(Object.entries(auth.users));
  return async (ctx, next) => {
    if (exempt.has(routeOf(ctx.path))) return next();
    const header = ctx.get('Authorization');
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (m) {
      const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const password = colon < 0 ? undefined : users.get(decoded.slice(0, colon));
      if (password !== undefined && same(password, decoded.slice(colon + 1))) return next();
    }
    reply(ctx, 401, 'authentication required\n', { 'WWW-Authenticate': 'Basic realm="Authentication"' });
  };
}

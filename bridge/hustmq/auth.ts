// Basic auth for the hustmq bridge, as hustmq ha's http_basic_auth_file: 401 with
// WWW-Authenticate on a missing or wrong credential (a refusal the error boundary answers and
// counts), except on the routes of auth_filter.
import type { Middleware } from 'koa';
import { BASIC_CHALLENGE, basicCredentials, samePassword } from '../http/basic-auth.ts';
import { fail } from '../http/fail.ts';
import type { HustmqAuth } from './options.ts';

const DEFAULT_EXEMPT = ['get', 'sub', 'version'];

/** The route name of a path: '/get' → 'get'. */
function routeOf(path: string): string {
  return path.replace(/^\/+/, '').replace(/\/+$/, '');
}

export function basicAuth(auth: HustmqAuth): Middleware {
  const exempt = new Set(auth.exempt ?? DEFAULT_EXEMPT);
  const users = new Map(Object.entries(auth.users));
  return async (ctx, next) => {
    if (exempt.has(routeOf(ctx.path))) return next();
    const given = basicCredentials(ctx.get('Authorization'));
    const password = given && users.get(given.user);
    if (given && password !== undefined && samePassword(password, given.password)) return next();
    throw fail('authentication required', 401, BASIC_CHALLENGE);
  };
}

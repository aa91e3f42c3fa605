// esub's HTTP answers on top of bridge/http: Go's plain-text and error bodies, the original router's
// 404 / 405 / redirect answers, and query parameters the way Go reads them ('+' is a space).
import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { reply as plainReply } from '../http/reply.ts';

const GO_TEXT = { 'Content-Type': 'text/plain; charset=utf-8' };
const GO_ERROR = { ...GO_TEXT, 'X-Content-Type-Options': 'nosniff' };

/** A plain-text answer with exactly this body (Go's sniffing gives text/plain for all of them). */
export function reply(ctx: Context, status: number, body: string): void {
  plainReply(ctx, status, body, GO_TEXT);
}

/** Go's http.Error: text/plain, nosniff, the message plus a newline. */
export function goError(ctx: Context, status: number, message: string): void {
  plainReply(ctx, status, message + '\n', GO_ERROR);
}

/** The first value of a query parameter ('' when absent), as Go's Query().Get does. */
export function param(ctx: Context, name: string): string {
  const v = ctx.query[name];
  if (Array.isArray(v)) return v[0] ?? '';
  return v ?? '';
}

/** The path each request came in under, when the app is mounted below the root (set by index.ts). */
export const requestBase = new WeakMap<IncomingMessage, string>();

export function basePath(ctx: Context): string {
  return requestBase.get(ctx.req) ?? '';
}

/**
 * After the router: what Go's router answers when no route took the request. A path that matches a
 * route once cleaned (trailing slash, case of the route name, `//`, `.`/`..`) is redirected there
 * (301 for GET, 307 otherwise); a known path with another method is 405 with `Allow`; anything
 * else is 404 `404 page not found`.
 */
export function fallback(router: Router, routeNames: ReadonlySet<string>) {
  const methodsFor = (p: string): string[] => {
    const m = router.match(p, 'GET');
    const set = new Set<string>();
    for (const layer of m.path) for (const method of layer.methods) set.add(method);
    return [...set];
  };
  return async (ctx: Context, next: Next): Promise<void> => {
    await next();
    if (ctx.status !== 404 || ctx.body !== undefined) return;
    const p = ctx.path;
    const allowed = methodsFor(p);
    if (allowed.length > 0) {
      const order = ['GET', 'HEAD', 'POST'];
      allowed.sort((a, b) => order.indexOf(a) - order.indexOf(b));
      goError(ctx, 405, 'Method Not Allowed');
      ctx.set('Allow', allowed.join(', '));
      return;
    }
    const fixed = cleanPath(p, routeNames);
    if (fixed !== p && methodsFor(fixed).length > 0) {
      const search = ctx.querystring ? `?${ctx.querystring}` : '';
      const location = basePath(ctx) + fixed + search;
      ctx.status = ctx.method === 'GET' ? 301 : 307;
      ctx.set('Location', location);
      if (ctx.method === 'GET' || ctx.method === 'HEAD') {
        ctx.body = `<a href="${escapeHtml(location)}">Moved Permanently</a>.\n\n`;
        ctx.set('Content-Type', 'text/html; charset=utf-8');
      } else {
        ctx.body = '';
      }
      return;
    }
    goError(ctx, 404, '404 page not found');
  };
}

function cleanPath(p: string, routeNames: ReadonlySet<string>): string {
  let c = path.posix.normalize(p);
  if (!c.startsWith('/')) c = '/' + c;
  if (c.length > 1 && c.endsWith('/')) c = c.slice(0, -1);
  const slash = c.indexOf('/', 1);
  const first = slash === -1 ? c.slice(1) : c.slice(1, slash);
  if (routeNames.has(first.toLowerCase())) c = '/' + first.toLowerCase() + (slash === -1 ? '' : c.slice(slash));
  return c;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

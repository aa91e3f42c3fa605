// HTTP plumbing shared by the routes: exact bodies and headers, the original router's 404 / 405 /
// redirect answers, query parameters the way Go reads them, and the bounded body reader.
import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';

/** A plain-text answer with exactly this body (Go's sniffing gives text/plain for all of them). */
export function reply(ctx: Context, status: number, body: string): void {
  ctx.status = status;
  ctx.body = body;
  ctx.set('Content-Type', 'text/plain; charset=utf-8');
}

/** Go's http.Error: text/plain, nosniff, the message plus a newline. */
export function goError(ctx: Context, status: number, message: string): void {
  ctx.status = status;
  ctx.body = message + '\n';
  ctx.set('Content-Type', 'text/plain; charset=utf-8');
  ctx.set('X-Content-Type-Options', 'nosniff');
}

/** The first value of a query parameter ('' when absent), as Go's Query().Get does. */
export function param(ctx: Context, name: string): string {
  const v = ctx.query[name];
  if (Array.isArray(v)) return v[0] ?? '';
  return v ?? '';
}

export class BodyTooLarge extends Error {}

/** Reads the request body, refusing more than `limit` bytes (checked on Content-Length first). */
export function readBody(ctx: Context, limit: number): Promise<Buffer> {
  const req = ctx.req;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      if (req.complete) return;
      cleanup();
      reject(new Error('client closed the connection'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
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

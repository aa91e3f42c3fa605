// HTTP helpers of the hustmq bridge: plain-text replies with an exact length, raw bodies with a
// size limit, a signal for a client that hangs up, and the absolute URL a 307 points to.
import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import { fail } from './args.ts';

// Plain-text replies with an exact Content-Length are shared with the other bridges.
export { reply } from '../http/reply.ts';

/** The request body (empty when none); bodies over `limit` bytes fail with `status` (413 by default). */
export async function readBody(ctx: Context, limit: number, status = 413): Promise<Buffer> {
  const req = ctx.req;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw fail(`request body larger than ${limit} bytes`, status);
  }
  if (declared === 0 || (!req.headers['transfer-encoding'] && req.headers['content-length'] === undefined)) return EMPTY;
  return new Promise<Buffer>((resolve, reject) => {
    // Inline listeners, left attached once settled (the request ends with this exchange): no
    // per-request cleanup, and no named closures to create (tsx's keepNames names each one).
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        settled = true;
        req.resume();
        reject(fail(`request body larger than ${limit} bytes`, status));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    req.on('error', (err: Error) => {
      if (settled) return;
      settled = true;
      reject(fail(`cannot read the request body: ${err.message}`, 400));
    });
    req.on('close', () => {
      // the client went away before the body was complete
      if (settled || req.complete) return;
      settled = true;
      reject(fail('cannot read the request body: connection closed', 400));
    });
  });
}

const EMPTY = Buffer.alloc(0);

/** Aborted when the client goes away before the reply is sent (parked requests free their slot at once). */
export function clientGone(ctx: Context): AbortSignal {
  const controller = new AbortController();
  const res = ctx.res;
  const onClose = (): void => {
    if (!res.writableFinished) controller.abort();
  };
  res.once('close', onClose);
  if (res.destroyed || ctx.req.socket?.destroyed) controller.abort();
  return controller.signal;
}

/** Registers a callback for a client that goes away before the reply is sent. */
export type Hangup = (callback: () => void) => void;

/** Like clientGone, without an AbortController (cheaper for the RPC routes). */
export function hangup(ctx: Context): Hangup {
  const res = ctx.res;
  return (callback) => {
    if (res.destroyed && !res.writableFinished) {
      queueMicrotask(callback);
      return;
    }
    res.once('close', () => {
      if (!res.writableFinished) callback();
    });
  };
}

/** The path prefix the bridge is mounted under on this request ('' at the root of a dedicated port). */
export function mountPrefix(ctx: Context): string {
  const req = ctx.req as IncomingMessage & { originalUrl?: string };
  const original = req.originalUrl;
  const url = ctx.originalUrl;
  if (!original || original === url || !original.endsWith(url)) return '';
  return original.slice(0, original.length - url.length);
}

/** The absolute URL of a route, as nginx builds a 307 Location from the Host header. */
export function locationOf(ctx: Context, route: string): string {
  const path = `${mountPrefix(ctx)}/${route}?${ctx.querystring}`;
  const host = ctx.get('Host');
  return host ? `http://${host}${path}` : path;
}

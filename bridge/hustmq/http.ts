// HTTP helpers of the hustmq bridge (beyond bridge/http): a signal for a client that hangs up,
// and the absolute URL a 307 points to.
import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';

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

// GET /sub/:key — a one-shot subscription: a session of its own registers `esub.<key>` for one
// invocation (`once`), with `force_reregister` so a newer sub takes the key over. The displaced sub
// hears of it from the router (Peer.unregistered) and gets the original's 500. Only the owner of
// the table entry removes it, so the displaced sub's cleanup never orphans the new one.
import type { Context } from 'koa';
import { type Client, ErrorUri, RouterError } from '../../lib/index.ts';
import { HttpFail } from '../http/fail.ts';
import { reply } from './http.ts';
import { procedureOf } from './keys.ts';
import { sniffContentType } from './sniff.ts';
import type { EsubState, SubEntry } from './state.ts';

export const SUB_CANCELED = 'Failed to fullfil sub: context canceled';
export const SUB_DEADLINE = 'Failed to fullfil sub: context deadline exceeded';

export async function handleSub(state: EsubState, ctx: Context, key: string, token: string): Promise<void> {
  const existing = state.subs.get(key);
  if (existing && existing.token !== '' && existing.token !== token) return reply(ctx, 403, 'Sub already exists, token mismatch');
  if (state.closing) return reply(ctx, 503, 'Shutting down');
  // 401 for missing or wrong credentials (thrown: the app's error handler answers it)
  const identity = await state.sessions.identify(ctx.headers);
  if (state.closing) return reply(ctx, 503, 'Shutting down');
  let client: Client;
  try {
    client = state.connect(identity);
  } catch (err) {
    if (err instanceof HttpFail) throw err;
    return reply(ctx, 503, `Cannot take more subs: ${(err as Error).message}`);
  }
  const entry: SubEntry = { key, token, client, cancel: () => {} };
  const res = ctx.res;

  return new Promise<void>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    /** Answers the sub once; false if it was answered already. */
    const settle = (answer: () => void): boolean => {
      if (settled) return false;
      settled = true;
      if (timer) clearTimeout(timer);
      res.off('close', onGone);
      if (state.subs.get(key) === entry) state.subs.delete(key);
      answer();
      resolve();
      return true;
    };
    const cancel = (body: string): void => {
      if (settle(() => reply(ctx, 500, body))) client.close();
    };
    entry.cancel = cancel;
    // The client went away (nobody reads this 500): the session ends and the key is free.
    const onGone = (): void => cancel(SUB_CANCELED);
    res.once('close', onGone);
    client.onUnregistered = () => cancel(SUB_CANCELED); // a newer sub took the key over
    client.onClose = () => cancel(SUB_CANCELED); // the router is shutting down
    if (state.opts.subTimeoutMs > 0) timer = setTimeout(() => cancel(SUB_DEADLINE), state.opts.subTimeoutMs);

    state.subs.set(key, entry);
    const deliver = (data: Uint8Array): Promise<void> => {
      const ok = settle(() => {
        ctx.status = 200;
        ctx.body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        ctx.set('Content-Type', sniffContentType(data));
      });
      if (!ok) return Promise.reject(new RouterError(ErrorUri.canceled, 'the sub is gone'));
      // The rep succeeds once the response is written; if the connection drops first, the caller
      // hears 'canceled' and the rep is answered (and stored) as unclaimed.
      return new Promise<void>((done, fail) => {
        const finished = (): void => {
          res.off('close', closed);
          done();
          setImmediate(() => client.close());
        };
        const closed = (): void => {
          res.off('finish', finished);
          fail(new RouterError(ErrorUri.canceled, 'the sub went away before the rep reached it'));
          client.close();
        };
        res.once('finish', finished);
        res.once('close', closed);
      });
    };
    client.register(procedureOf(key), (inv) => deliver(inv.payload.bytes), { once: true, force_reregister: true }).catch((err: unknown) => {
      const uri = err instanceof RouterError ? err.uri : '';
      const answer =
        uri === ErrorUri.notAuthorized
          ? () => reply(ctx, 403, (err as Error).message)
          : uri === ErrorUri.procedureAlreadyExists
          ? () => reply(ctx, 409, 'Key is served by a shared registration')
          : uri === ErrorUri.limitExceeded
            ? () => reply(ctx, 503, `Cannot take more subs: ${(err as Error).message}`)
            : () => reply(ctx, 500, `Failed to register sub: ${err instanceof Error ? err.message : String(err)}`);
      if (settle(answer)) client.close();
    });
  });
}

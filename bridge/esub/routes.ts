// The esub HTTP routes on Koa: phase 1 (ping, info, keys, sub, rep), the psub/prep WebSocket routes'
// plain-HTTP answers, phase 2 (rsub), phases 3/4 (members, join, announce, HEAD), and /metrics.
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import { announce, headHeld, headRep, join, members, nodeId } from './cluster.ts';
import type { Deliverer } from './deliver.ts';
import { ErrorUri, RouterError } from '../../lib/index.ts';
import { type AccessGuard, checkAccess } from '../http/access.ts';
import { readBody } from '../http/body.ts';
import { HttpFail } from '../http/fail.ts';
import { fallback, goError, param, reply } from './http.ts';
import { keyProblem, procedureOf } from './keys.ts';
import type { RouteLabel } from './metrics.ts';
import type { ReplayStore } from './replay.ts';
import { sniffContentType } from './sniff.ts';
import type { EsubState } from './state.ts';
import { handleSub } from './sub.ts';

const ROUTE_NAMES = new Set(['ping', 'info', 'keys', 'metrics', 'sub', 'rep', 'psub', 'prep', 'rsub', 'members', 'join', 'announce']);

/** The key of a `/:sub` route, or undefined after answering 400 for a bad one. */
function keyOf(state: EsubState, ctx: Context): string | undefined {
  const key = (ctx.params as { sub?: string }).sub ?? '';
  const problem = keyProblem(key, state.opts.maxKeyBytes);
  if (problem) {
    reply(ctx, 400, problem);
    return undefined;
  }
  return key;
}

/** gorilla/websocket's answer to a plain HTTP request on a WebSocket route. */
function notWebSocket(ctx: Context): void {
  goError(ctx, 400, 'Bad Request');
  ctx.set('Sec-Websocket-Version', '13');
}

export function buildApp(state: EsubState, deliverer: Deliverer, replay: ReplayStore, access?: AccessGuard): Koa {
  const app = new Koa();
  app.silent = true;
  const router = new Router({ strict: true, sensitive: true });
  const timed =
    (route: RouteLabel, fn: (ctx: Context) => unknown) =>
    async (ctx: Context): Promise<void> => {
      const started = performance.now();
      await fn(ctx);
      state.metrics.observe(route, ctx.method, started, ctx.status < 400, param(ctx, 'token') !== '');
    };

  router.get('/ping', (ctx) => reply(ctx, 200, 'OK'));
  router.get(
    '/info',
    timed('info', (ctx) => {
      ctx.body = JSON.stringify({ name: state.info.name, ip: state.info.ip });
      ctx.set('Content-Type', 'application/json');
    }),
  );
  router.get(
    '/keys',
    // every subscribed key: the same access as /metrics
    timed('keys', async (ctx) => {
      await checkAccess(access, ctx.req, '/keys');
      const keys = state.keys();
      if (keys.length === 0) {
        ctx.status = 204;
        return;
      }
      const byNode = state.opts.keysByNode || param(ctx, 'nodes') === '1';
      ctx.body = JSON.stringify(byNode ? { [nodeId(state)]: keys } : keys);
      ctx.set('Content-Type', 'application/json');
    }),
  );
  // the bridge's state (keys, traffic): the same access as the server's /metrics
  router.get('/metrics', async (ctx) => {
    await checkAccess(access, ctx.req, '/metrics');
    ctx.body = await state.metrics.text();
    ctx.set('Content-Type', state.metrics.contentType);
  });

  router.head('/sub/:sub', (ctx) => {
    const key = keyOf(state, ctx);
    if (key !== undefined) headHeld(state, ctx, 'sub', key, state.subs.has(key));
  });
  router.get(
    '/sub/:sub',
    timed('sub', (ctx) => {
      const key = keyOf(state, ctx);
      if (key !== undefined) return handleSub(state, ctx, key, param(ctx, 'token'));
    }),
  );

  router.head('/rep/:sub', async (ctx) => {
    const key = keyOf(state, ctx);
    if (key !== undefined) await headRep(state, ctx, key);
  });
  router.post(
    '/rep/:sub',
    timed('rep', async (ctx) => {
      const key = keyOf(state, ctx);
      if (key === undefined) return;
      const token = param(ctx, 'token');
      const caller = await state.sessions.of(ctx);
      let body: Buffer;
      try {
        body = await readBody(ctx, state.opts.maxBodyBytes);
      } catch (err) {
        if (err instanceof HttpFail && err.status === 413) {
          reply(ctx, 413, 'Body too large');
          ctx.set('Connection', 'close');
        } else {
          reply(ctx, 500, `Failed to read body: ${(err as Error).message}`);
        }
        return;
      }
      const outcome = await deliverer.deliver(key, token, param(ctx, 'psub') === '1', body, { caller });
      reply(ctx, outcome.status, outcome.body);
      if (outcome.stored) ctx.set('X-Esub-Stored', '1');
    }),
  );

  router.head('/psub/:sub', (ctx) => {
    const key = keyOf(state, ctx);
    if (key !== undefined) headHeld(state, ctx, 'psub', key, state.pools.has(key));
  });
  router.get('/psub/:sub', (ctx) => {
    if (keyOf(state, ctx) !== undefined) notWebSocket(ctx);
  });
  router.get('/prep', notWebSocket);

  router.head('/rsub/:sub', async (ctx) => {
    const key = keyOf(state, ctx);
    if (key !== undefined) headHeld(state, ctx, 'rsub', key, await replay.holds(key));
  });
  router.get(
    '/rsub/:sub',
    timed('rsub', async (ctx) => {
      const key = keyOf(state, ctx);
      if (key === undefined) return;
      const token = param(ctx, 'token');
      // taking stored reps is serving the key: the right to register it
      (await state.sessions.of(ctx)).authorize('register', procedureOf(key));
      const got = await replay.take(key, token);
      if (got.kind === 'none') return reply(ctx, 404, 'Unknown key');
      if (got.kind === 'token') return reply(ctx, 403, 'Invalid token');
      const data = got.data;
      ctx.status = 200;
      ctx.body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      ctx.set('Content-Type', sniffContentType(data));
      ctx.set('X-Esub-Remaining', String(got.remaining));
      // A response that never reaches its client goes back to the store.
      ctx.res.once('close', () => {
        if (!ctx.res.writableFinished) void replay.giveBack(key, token, data);
      });
    }),
  );

  router.get('/members', timed('cluster', (ctx) => members(state, ctx)));
  router.post('/join', timed('cluster', (ctx) => join(state, ctx)));
  router.post('/announce', timed('cluster', (ctx) => announce(state, ctx)));

  app.use(async (ctx, next) => {
    if (state.opts.closeConnections) ctx.set('Connection', 'close');
    try {
      await next();
    } catch (err) {
      // refusals: 401 (credentials) or 403 (the role forbids it), with a body naming why
      if (err instanceof HttpFail) {
        goError(ctx, err.status, err.message);
        for (const [k, v] of Object.entries(err.headers ?? {})) ctx.set(k, v);
        return;
      }
      if (err instanceof RouterError && err.uri === ErrorUri.notAuthorized) return goError(ctx, 403, err.message);
      state.opts.logger.error({ err, path: ctx.path }, 'esub: request failed');
      reply(ctx, 500, 'Internal error');
    }
  });
  app.use(fallback(router, ROUTE_NAMES));
  app.use(router.routes());
  return app;
}

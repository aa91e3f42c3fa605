// RPC routes: do_get (a client's task), do_post (a worker claims a task or reports a result),
// and their status counters.
import type { Context } from 'koa';
import { fail as httpFail } from '../http/fail.ts';
import { fail, queueArg } from './args.ts';
import { allow } from './auth.ts';
import { argsOf, type Hustmq, uriOf } from './context.ts';
import { readBody } from '../http/body.ts';
import { reply } from '../http/reply.ts';
import type { RouteTable } from '../http/route-table.ts';
import { hangup } from './http.ts';
import type { Reply } from './rpc.ts';

function postOnly(ctx: Context): void {
  if (ctx.method !== 'POST') throw httpFail(`${ctx.path.slice(1)} needs POST`, 405, { Allow: 'POST' });
}

function send(ctx: Context, r: Reply | null): void {
  if (r) reply(ctx, r.status, r.body ?? '', r.headers);
  else reply(ctx, 404, 'client gone\n');
}

export function rpcRoutes(r: RouteTable, h: Hustmq): void {
  const limit = h.opts.maxDoTaskBodyBytes;

  r.add('/do_get', async (ctx) => {
    postOnly(ctx);
    const queue = queueArg(argsOf(ctx));
    await allow(ctx, h, 'call', uriOf.task(h, queue));
    const body = await readBody(ctx, limit, 404);
    if (body.length === 0) throw fail('empty task: the body holds the task arguments');
    send(ctx, await h.rpc.doGet(queue, body, hangup(ctx)));
  });

  r.add('/do_post', async (ctx) => {
    postOnly(ctx);
    const args = argsOf(ctx);
    const token = args.get('token');
    if (token === undefined) {
      const queue = args.has('queue') ? queueArg(args) : undefined;
      await allow(ctx, h, 'register', uriOf.task(h, queue));
      await readBody(ctx, limit, 404);
      send(ctx, await h.rpc.claim(queue, hangup(ctx)));
      return;
    }
    const body = await readBody(ctx, limit, 404);
    if (body.length === 0) throw fail('empty result: the body holds the result');
    send(ctx, h.rpc.report(token, body));
  });

  r.add('/do_get_status', (ctx) => {
    reply(ctx, 200, JSON.stringify(h.rpc.getStatus()));
  });

  r.add('/do_post_status', async (ctx) => {
    reply(ctx, 200, JSON.stringify(await h.rpc.postStatus()));
  });
}

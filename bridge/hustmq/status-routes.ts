// Status routes: version, autost, stat, stat_all (real time: one node, no cache).
import { QUEUE_DEFAULT_TIMEOUT_MS } from '../../lib/index.ts';
import { fail, queueArg } from './args.ts';
import { checkAccess } from '../http/access.ts';
import { allow } from './auth.ts';
import { argsOf, type Hustmq, uriOf } from './context.ts';
import { reply } from '../http/reply.ts';
import type { RouteTable } from '../http/route-table.ts';
import { queueStatJson, streamStatJson } from './stat-json.ts';

export function statusRoutes(r: RouteTable, h: Hustmq): void {
  const { queues, streams } = h.client;
  const pushTimeout = Math.round(QUEUE_DEFAULT_TIMEOUT_MS / h.opts.minuteMs);

  r.add('/version', (ctx) => reply(ctx, 200, 'hustmqha 1.7\n'));

  // One node, always in sync: autost only runs the wake-up pass for parked evget requests.
  r.add('/autost', async (ctx) => {
    await queues.recheck();
    reply(ctx, 200);
  });

  r.add('/stat', async (ctx) => {
    const queue = queueArg(argsOf(ctx));
    const s = streams.stat(queue);
    await allow(ctx, h, 'subscribe', s ? uriOf.push(h, queue) : uriOf.queue(h, queue));
    if (s) return reply(ctx, 200, streamStatJson(s, pushTimeout));
    const q = await queues.stat(queue);
    if (!q) throw fail(`no queue '${queue}'`);
    reply(ctx, 200, queueStatJson(q, h.opts.minuteMs));
  });

  // every queue's name and state: the same access as the server's /metrics
  r.add('/stat_all', async (ctx) => {
    await checkAccess(h.access, ctx.req, 'stat_all');
    const items: [string, string][] = (await queues.statAll()).map((q) => [q.queue, queueStatJson(q, h.opts.minuteMs)]);
    for (const s of streams.statAll()) items.push([s.name, streamStatJson(s, pushTimeout)]);
    items.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    reply(ctx, 200, `[${items.map((i) => i[1]).join(',')}]`);
  });
}

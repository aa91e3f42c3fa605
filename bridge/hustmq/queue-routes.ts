// Normal (durable) queue routes: put, get, ack, timeout, lock, max, purge, worker, evget.
import type { Context } from 'koa';
import { parseQueueToken } from '../../lib/index.ts';
import { type Args, ackArg, fail, intArg, prioriArg, queueArg, workerArg } from './args.ts';
import { allow } from './auth.ts';
import { argsOf, type Hustmq, uriOf } from './context.ts';
import { readBody } from '../http/body.ts';
import { reply } from '../http/reply.ts';
import type { RouteTable } from '../http/route-table.ts';
import { clientGone, locationOf } from './http.ts';

const MAX_ITEMS = 5_000_000;

/** The item of put/pub: the body, else the `item` argument. */
export function itemOf(ctx: Context, args: Args, limit: number): Promise<Buffer> {
  return readBody(ctx, limit).then((body) => {
    if (body.length > 0) return body;
    const item = args.bytes('item');
    if (item === undefined || item.length === 0) throw fail("missing item: send a body or the 'item' argument");
    return item;
  });
}

function notPush(h: Hustmq, queue: string): void {
  if (h.client.streams.has(queue)) throw fail(`'${queue}' is a push queue (use pub/sub)`);
}

const PUT_REFUSED = { locked: 'is locked', full: 'is full', too_many_queues: 'cannot be created: too many queues' } as const;

/** atoi: leading digits (with sign), 0 when there are none. */
function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number(m[1]) : 0;
}

export function queueRoutes(r: RouteTable, h: Hustmq): void {
  const queues = h.client.queues;

  // put and get are promise chains, not async functions: the hottest routes, and each await showed
  r.add('/put', (ctx) => {
    const args = argsOf(ctx);
    const queue = queueArg(args);
    const priori = prioriArg(args, 0);
    return allow(ctx, h, 'publish', uriOf.queue(h, queue))
      .then(() => itemOf(ctx, args, h.opts.maxBodyBytes))
      .then((item) => {
        notPush(h, queue);
        return queues.put(queue, item, priori);
      })
      .then((result) => {
        if (result !== 'ok') throw fail(`queue '${queue}' ${PUT_REFUSED[result]}`);
        reply(ctx, 200);
      });
  });

  r.add('/get', (ctx) => {
    const args = argsOf(ctx);
    const queue = queueArg(args);
    const worker = workerArg(args);
    const ack = ackArg(args);
    return allow(ctx, h, 'subscribe', uriOf.queue(h, queue))
      .then(() => {
        notPush(h, queue);
        return queues.get(queue, { ack, worker });
      })
      .then((item) => {
        if (!item) throw fail(`no message ready in '${queue}'`);
        reply(ctx, 200, item.value, item.token !== undefined ? { 'Ack-Token': item.token, 'Ack-Peer': '0' } : undefined);
      });
  });

  r.add('/ack', async (ctx) => {
    const args = argsOf(ctx);
    const peer = args.get('peer');
    if (peer === undefined) throw fail("missing argument 'peer'");
    if (atoi(peer) !== 0) throw fail(`no peer ${peer}: this node is peer 0`);
    if (!args.has('queue')) throw fail("missing argument 'queue'");
    const queue = queueArg(args, 400);
    const token = args.get('token');
    if (token === undefined) throw fail("missing argument 'token'", 400);
    if (!parseQueueToken(token)) throw fail("bad argument 'token': <priori>:<seq>", 400);
    await allow(ctx, h, 'subscribe', uriOf.queue(h, queue));
    if (!(await queues.ack(queue, token))) throw fail(`token ${token} is not unacked in '${queue}'`, 412);
    reply(ctx, 200);
  });

  r.add('/timeout', async (ctx) => {
    const args = argsOf(ctx);
    const queue = queueArg(args);
    const minute = intArg(args, 'minute', 1, 255);
    await allow(ctx, h, 'publish', uriOf.queue(h, queue));
    notPush(h, queue);
    if (!(await queues.setTimeout(queue, minute * h.opts.minuteMs))) throw fail(`no queue '${queue}'`);
    reply(ctx, 200);
  });

  r.add('/lock', async (ctx) => {
    const args = argsOf(ctx);
    const queue = queueArg(args);
    const on = args.required('on');
    if (on !== '0' && on !== '1') throw fail("bad argument 'on': 0 or 1");
    await allow(ctx, h, 'publish', uriOf.queue(h, queue));
    notPush(h, queue);
    if (!(await queues.setLock(queue, on === '1'))) throw fail(`no queue '${queue}'`);
    reply(ctx, 200);
  });

  r.add('/max', async (ctx) => {
    const args = argsOf(ctx);
    const queue = queueArg(args);
    const num = intArg(args, 'num', 0, MAX_ITEMS);
    await allow(ctx, h, 'publish', uriOf.queue(h, queue));
    notPush(h, queue);
    const stat = await queues.stat(queue);
    if (!stat) throw fail(`no queue '${queue}'`);
    // as hustmq ha: a locked queue's max cannot be changed
    if (stat.locked) throw fail(`queue '${queue}' is locked`);
    await queues.setMax(queue, num);
    reply(ctx, 200);
  });

  r.add('/purge', async (ctx) => {
    const args = argsOf(ctx);
    const queue = queueArg(args);
    const priori = prioriArg(args);
    await allow(ctx, h, 'publish', uriOf.queue(h, queue));
    notPush(h, queue);
    if (!(await queues.purge(queue, priori))) throw fail(`no queue '${queue}'`);
    reply(ctx, 200);
  });

  r.add('/worker', async (ctx) => {
    const args = argsOf(ctx);
    const queue = queueArg(args);
    await allow(ctx, h, 'subscribe', uriOf.queue(h, queue));
    notPush(h, queue);
    const workers = await queues.listWorkers(queue);
    if (!workers) throw fail(`no queue '${queue}'`);
    reply(ctx, 200, JSON.stringify(workers.map((w) => ({ w: w.name, t: Math.floor(w.seenAt / 1000) }))));
  });

  r.add('/evget', async (ctx) => {
    const args = argsOf(ctx);
    const queue = queueArg(args);
    workerArg(args);
    ackArg(args);
    await allow(ctx, h, 'subscribe', uriOf.queue(h, queue));
    notPush(h, queue);
    if (h.parked.evget >= h.opts.maxTimerCount) throw fail(`too many parked evget requests (${h.opts.maxTimerCount})`);
    h.parked.evget++;
    let outcome;
    try {
      outcome = await queues.wait(queue, { signal: clientGone(ctx), timeoutMs: h.opts.longPollingTimeoutMs });
    } finally {
      h.parked.evget--;
    }
    if (outcome === 'ready') reply(ctx, 307, '', { Location: locationOf(ctx, 'get') });
    else throw fail(outcome === 'timeout' ? `no message in '${queue}' within ${h.opts.longPollingTimeoutMs} ms` : 'server shutting down');
  });
}

// Push queue routes: pub, sub, evsub — an indexed stream on `<prefix>.push.<Q>` kept in history.
import { Payload } from '../../lib/index.ts';
import { fail, intArg, optionalIntArg, queueArg } from './args.ts';
import { allow } from './auth.ts';
import { argsOf, type Hustmq, uriOf } from './context.ts';
import { reply } from '../http/reply.ts';
import type { RouteTable } from '../http/route-table.ts';
import { clientGone, locationOf } from './http.ts';
import { itemOf } from './queue-routes.ts';

/** Indexes wrap here (hustmq's push window). */
export const INDEX_WRAP = 11_000_000;
const MAX_IDX = 0xffffffff;

export function pushRoutes(r: RouteTable, h: Hustmq): void {
  const streams = h.client.streams;
  const queues = h.client.queues;

  r.add('/pub', async (ctx) => {
    const args = argsOf(ctx);
    const queue = queueArg(args);
    const ttl = optionalIntArg(args, 'ttl', 1, h.opts.pushMaxTtlSec) ?? h.opts.pushDefaultTtlSec;
    const idx = optionalIntArg(args, 'idx', 0, INDEX_WRAP - 1);
    await allow(ctx, h, 'publish', uriOf.push(h, queue));
    const item = await itemOf(ctx, args, h.opts.maxBodyBytes);
    if (!streams.has(queue) && (await queues.stat(queue))) throw fail(`'${queue}' is a normal queue (use put/get)`);
    try {
      await streams.publish(queue, Payload.fromBytes(item), { ttlMs: ttl * 1000, idx });
    } catch (err) {
      throw fail(`cannot publish to '${queue}': ${(err as Error).message}`);
    }
    reply(ctx, 200);
  });

  r.add('/sub', async (ctx) => {
    const args = argsOf(ctx);
    const queue = queueArg(args);
    const idx = intArg(args, 'idx', 0, MAX_IDX);
    await allow(ctx, h, 'subscribe', uriOf.push(h, queue));
    const got = await streams.read(queue, idx);
    if ('missing' in got) throw fail(got.missing);
    reply(ctx, 200, got.payload.bytes);
  });

  r.add('/evsub', async (ctx) => {
    const args = argsOf(ctx);
    const queue = queueArg(args);
    const idx = intArg(args, 'idx', 0, MAX_IDX);
    await allow(ctx, h, 'subscribe', uriOf.push(h, queue));
    if (!streams.has(queue)) {
      const stat = await queues.stat(queue);
      // a normal queue is never a push window: answer as hustmq does for a non-push queue
      if (stat) return reply(ctx, 403, '', { Index: `${stat.si}-${stat.ci}` });
    }
    if (h.parked.evsub >= h.opts.maxTimerCount) throw fail(`too many parked evsub requests (${h.opts.maxTimerCount})`);
    h.parked.evsub++;
    let result;
    try {
      result = await streams.wait(queue, idx, { signal: clientGone(ctx), timeoutMs: h.opts.subscribeTimeoutMs });
    } finally {
      h.parked.evsub--;
    }
    switch (result.outcome) {
      case 'ready':
        return reply(ctx, 307, '', { Location: locationOf(ctx, 'sub') });
      case 'outside':
        return reply(ctx, 403, '', { Index: `${result.si}-${result.ci}` });
      case 'timeout':
        throw fail(`no message ${idx} in '${queue}' within ${h.opts.subscribeTimeoutMs} ms`);
      default:
        throw fail('server shutting down');
    }
  });
}

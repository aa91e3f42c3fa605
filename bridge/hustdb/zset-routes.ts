// Sorted sets: zadd (opt 0 set, 1 add, -1 subtract), zrem, zscore, zscore2, zismember,
// zrangebyrank, zrangebyscore. A sorted set is an indexed collection of the store ordered by score
// then member; writes are events on hustdb.zset.<T>.
import type { Context } from 'koa';
import type { RouteTable } from '../http/route-table.ts';
import { HustdbArgs } from './args.ts';
import { memberItem, memberOf, members, versionOf } from './collection-args.ts';
import { type Hustdb, listing, notFound, ok } from './context.ts';
import { bucketOf, hashPrefix, zsetTopic } from './names.ts';
import { fail } from '../http/fail.ts';

async function zread(ctx: Context, h: Hustdb, withScore: boolean): Promise<void> {
  const args = new HustdbArgs(ctx);
  const tb = args.tb();
  const client = await h.sessions.of(ctx);
  const member = await memberOf(ctx, args, true);
  const m = await client.collections.get(zsetTopic(tb), 'zset', tb, member);
  if (m === null || m === 'wrong_type') throw notFound(m === null ? 'not a member' : `table '${tb}' is not a sorted set`);
  ok(ctx, m.version, withScore ? String(m.score) : '');
}

async function zrange(ctx: Context, h: Hustdb, byScore: boolean): Promise<void> {
  const args = new HustdbArgs(ctx);
  const tb = args.tb();
  const min = byScore ? (args.int('min', true) as number) : undefined;
  const max = byScore ? (args.int('max', true) as number) : undefined;
  if (min !== undefined && max !== undefined && min > max) throw fail("bad arguments 'min'/'max': need min <= max");
  const offset = args.offset();
  const size = args.size();
  const { start, end } = args.buckets();
  const noval = args.noval();
  const client = await h.sessions.of(ctx);
  // a sorted set lives in the one bucket of its table (spec §1): in the range, all of it; else none
  const b = bucketOf(tb);
  const page = b >= start && b < end ? members(await client.collections.range(zsetTopic(tb), 'zset', tb, { offset, limit: size, minScore: min, maxScore: max }), tb) : [];
  listing(
    ctx,
    page.map((m) => memberItem(m, !noval)),
  );
}

export function zsetRoutes(routes: RouteTable, h: Hustdb): void {
  routes.add('/zadd', async (ctx) => {
    const args = new HustdbArgs(ctx);
    const tb = args.tb();
    const score = args.int('score', true) as number;
    const scoreMode = args.opt();
    const ver = args.ver();
    const ttlMs = args.ttlMs();
    const client = await h.sessions.of(ctx);
    const member = await memberOf(ctx, args, true);
    const write = { kind: 'zset' as const, table: tb, member, score, scoreMode, expectVersion: ver, expiresAt: ttlMs === undefined ? undefined : Date.now() + ttlMs };
    // the store refuses the table's first write while it is a hash, in the same operation
    ok(ctx, versionOf(await client.collections.put(zsetTopic(tb), write, { excludesRetained: hashPrefix(tb) }), tb));
  });
  routes.add('/zrem', async (ctx) => {
    const args = new HustdbArgs(ctx);
    const tb = args.tb();
    const ver = args.ver();
    const client = await h.sessions.of(ctx);
    const member = await memberOf(ctx, args, true);
    ok(ctx, versionOf(await client.collections.delete(zsetTopic(tb), 'zset', tb, member, ver), tb));
  });
  routes.add('/zscore', (ctx) => zread(ctx, h, true));
  routes.add('/zscore2', (ctx) => zread(ctx, h, true));
  routes.add('/zismember', (ctx) => zread(ctx, h, false));
  routes.add('/zrangebyrank', (ctx) => zrange(ctx, h, false));
  routes.add('/zrangebyscore', (ctx) => zrange(ctx, h, true));
}

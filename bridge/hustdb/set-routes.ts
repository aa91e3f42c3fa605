// Sets: sadd, srem, sismember, sismember2 (POST only, the member is the body) and smembers.
// A set is an indexed collection of the store; writes are events on hustdb.set.<T>.
import type { Context } from 'koa';
import type { RouteTable } from '../http/route-table.ts';
import { HustdbArgs } from './args.ts';
import { memberItem, memberOf, members, versionOf } from './collection-args.ts';
import { type Hustdb, listing, notFound, ok } from './context.ts';
import { BUCKETS, hashPrefix, setTopic } from './names.ts';

const POST = ['POST'];

async function sismember(ctx: Context, h: Hustdb): Promise<void> {
  const args = new HustdbArgs(ctx);
  const tb = args.tb();
  const client = await h.sessions.of(ctx);
  const member = await memberOf(ctx, args, false);
  const m = await client.collections.get(setTopic(tb), 'set', tb, member);
  if (m === null || m === 'wrong_type') throw notFound(m === null ? 'not a member' : `table '${tb}' is not a set`);
  ok(ctx, m.version);
}

export function setRoutes(routes: RouteTable, h: Hustdb): void {
  routes.add(
    '/sadd',
    async (ctx) => {
      const args = new HustdbArgs(ctx);
      const tb = args.tb();
      const ver = args.ver();
      const client = await h.sessions.of(ctx);
      const member = await memberOf(ctx, args, false);
      // the store refuses the table's first write while it is a hash, in the same operation
      ok(ctx, versionOf(await client.collections.put(setTopic(tb), { kind: 'set', table: tb, member, expectVersion: ver }, { excludesRetained: hashPrefix(tb) }), tb));
    },
    POST,
  );
  routes.add(
    '/srem',
    async (ctx) => {
      const args = new HustdbArgs(ctx);
      const tb = args.tb();
      const ver = args.ver();
      const client = await h.sessions.of(ctx);
      const member = await memberOf(ctx, args, false);
      ok(ctx, versionOf(await client.collections.delete(setTopic(tb), 'set', tb, member, ver), tb));
    },
    POST,
  );
  routes.add('/sismember', (ctx) => sismember(ctx, h), POST);
  routes.add('/sismember2', (ctx) => sismember(ctx, h), POST);
  routes.add('/smembers', async (ctx) => {
    const args = new HustdbArgs(ctx);
    args.peer();
    const tb = args.tb();
    const offset = args.offset();
    const size = args.size();
    const buckets = args.buckets();
    const client = await h.sessions.of(ctx);
    // a set is spread over the buckets by member: a bucket range pages the store's bucket index
    const whole = buckets.start === 0 && buckets.end === BUCKETS;
    const page = members(await client.collections.range(setTopic(tb), 'set', tb, { offset, limit: size, buckets: whole ? undefined : buckets }), tb);
    listing(
      ctx,
      page.map((m) => memberItem(m, false)),
    );
  });
}

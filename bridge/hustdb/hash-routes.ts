// Hashes: hset, hget, hget2, hexist, hdel, hkeys, hincrby. Field K of table T is the retained topic
// hustdb.hash.<T>.<K>; a table that is a set or sorted set cannot be used as a hash (404), which
// the store decides with the write itself.
import type { Context } from 'koa';
import { reply } from '../http/reply.ts';
import type { RouteTable } from '../http/route-table.ts';
import { HustdbArgs } from './args.ts';
import { type Hustdb, notFound } from './context.ts';
import { deleteValue, listValues, readValue, writeValue, wrongType } from './kv-routes.ts';
import { hashPrefix, hashTopic } from './names.ts';

async function hincrby(ctx: Context, h: Hustdb): Promise<void> {
  const args = new HustdbArgs(ctx);
  const tb = args.tb();
  const key = args.key();
  const by = args.int('val', true) as number;
  const ttlMs = args.ttlMs();
  const ver = args.ver();
  const client = await h.sessions.of(ctx);
  const topic = hashTopic(tb, key);
  const cur = client.getRetained(topic);
  let n = 0;
  if (cur) {
    const text = Buffer.from(cur.payload.bytes).toString();
    if (!/^-?\d{1,16}$/.test(text)) throw notFound(`the value of '${key}' is not an integer`);
    n = Number(text);
  }
  const next = n + by;
  if (!Number.isSafeInteger(next)) throw notFound('the result is out of the integer range');
  // the revision read above must still hold, so a concurrent write is not lost
  const revision = await client.putRetained(topic, Buffer.from(String(next)), { ifRevision: ver ?? cur?.revision ?? 0, ttlMs, excludesCollection: tb }).catch(wrongType(tb));
  if (revision === null) throw notFound(ver === undefined ? 'concurrent write, try again' : `version mismatch: 'ver' is ${ver}`);
  reply(ctx, 200, String(next));
}

export function hashRoutes(routes: RouteTable, h: Hustdb): void {
  routes.add('/hset', async (ctx) => {
    const args = new HustdbArgs(ctx);
    return writeValue(ctx, h, args, hashTopic(args.tb(), args.key()), args.tb());
  });
  const hget = async (ctx: Context): Promise<void> => {
    const args = new HustdbArgs(ctx);
    readValue(ctx, await h.sessions.of(ctx), hashTopic(args.tb(), args.key()), true);
  };
  routes.add('/hget', hget);
  routes.add('/hget2', hget);
  routes.add('/hexist', async (ctx) => {
    const args = new HustdbArgs(ctx);
    readValue(ctx, await h.sessions.of(ctx), hashTopic(args.tb(), args.key()), false);
  });
  routes.add('/hdel', async (ctx) => {
    const args = new HustdbArgs(ctx);
    return deleteValue(ctx, await h.sessions.of(ctx), args, hashTopic(args.tb(), args.key()));
  });
  routes.add('/hkeys', async (ctx) => {
    const args = new HustdbArgs(ctx);
    const tb = args.tb();
    return listValues(ctx, await h.sessions.of(ctx), args, hashPrefix(tb));
  });
  routes.add('/hincrby', (ctx) => hincrby(ctx, h));
}

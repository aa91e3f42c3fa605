// Hashes: hset, hget, hget2, hexist, hdel, hkeys, hincrby. Field K of table T is the retained topic
// hustdb.hash.<T>.<K>; a table that is a set or sorted set cannot be used as a hash (404).
import type { Context } from 'koa';
import type { Client } from '../../lib/index.ts';
import { reply } from '../http/reply.ts';
import type { RouteTable } from '../http/route-table.ts';
import { HustdbArgs } from './args.ts';
import { type Hustdb, notFound } from './context.ts';
import { deleteValue, listValues, readValue, writeValue } from './kv-routes.ts';
import { hashPrefix, hashTopic } from './names.ts';

/** 404 when `tb` is a set or sorted set. */
async function checkHashTable(client: Client, tb: string): Promise<void> {
  const kind = await client.collections.kind(tb);
  if (kind !== null) throw notFound(`table '${tb}' is a ${kind === 'set' ? 'set' : 'sorted set'}, not a hash`);
}

async function hincrby(ctx: Context, h: Hustdb): Promise<void> {
  const args = new HustdbArgs(ctx);
  const tb = args.tb();
  const key = args.key();
  const by = args.int('val', true) as number;
  const ttlMs = args.ttlMs();
  const ver = args.ver();
  const client = h.sessions.of(ctx);
  await checkHashTable(client, tb);
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
  const revision = await client.putRetained(topic, Buffer.from(String(next)), { ifRevision: ver ?? cur?.revision ?? 0, ttlMs });
  if (revision === null) throw notFound(ver === undefined ? 'concurrent write, try again' : `version mismatch: 'ver' is ${ver}`);
  reply(ctx, 200, String(next));
}

export function hashRoutes(routes: RouteTable, h: Hustdb): void {
  routes.add('/hset', async (ctx) => {
    const args = new HustdbArgs(ctx);
    const topic = hashTopic(args.tb(), args.key());
    await checkHashTable(h.sessions.of(ctx), args.tb());
    return writeValue(ctx, h, args, topic);
  });
  const hget = (ctx: Context): void => {
    const args = new HustdbArgs(ctx);
    readValue(ctx, h.sessions.of(ctx), hashTopic(args.tb(), args.key()), true);
  };
  routes.add('/hget', hget);
  routes.add('/hget2', hget);
  routes.add('/hexist', (ctx) => {
    const args = new HustdbArgs(ctx);
    readValue(ctx, h.sessions.of(ctx), hashTopic(args.tb(), args.key()), false);
  });
  routes.add('/hdel', (ctx) => {
    const args = new HustdbArgs(ctx);
    return deleteValue(ctx, h.sessions.of(ctx), args, hashTopic(args.tb(), args.key()));
  });
  routes.add('/hkeys', (ctx) => {
    const args = new HustdbArgs(ctx);
    const tb = args.tb();
    listValues(ctx, h.sessions.of(ctx), args, hashPrefix(tb));
  });
  routes.add('/hincrby', (ctx) => hincrby(ctx, h));
}

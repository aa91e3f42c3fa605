// Plain keys: put, get, get2, del, exist, keys. Key K is the retained topic hustdb.kv.<K>.
import type { Context } from 'koa';
import type { RouteTable } from '../http/route-table.ts';
import { HustdbArgs } from './args.ts';
import { b64, FILE_COUNT, type Hustdb, listing, notFound, ok, requiredValue } from './context.ts';
import { BUCKETS, fromComponent, indexListings, KV_PREFIX, kvTopic, levelBucket } from './names.ts';
import { type Client, ErrorUri, type RetainedValue, RouterError } from '../../lib/index.ts';

/** get/get2/hget/hget2: the value with its version (one copy: get2 never answers 409). */
export function readValue(ctx: Context, client: Client, topic: string, withBody: boolean): void {
  const v = client.getRetained(topic);
  if (!v) throw notFound('not found');
  ok(ctx, v.revision, withBody ? v.payload.bytes : '');
}

/**
 * put/hset. `hashTable`: the hash table the field belongs to; the store refuses the write when a
 * set or sorted set of that name exists, in the same operation as the write (no race with a sadd).
 */
export async function writeValue(ctx: Context, h: Hustdb, args: HustdbArgs, topic: string, hashTable?: string): Promise<void> {
  const client = await h.sessions.of(ctx);
  const value = await requiredValue(ctx, args, h);
  const ttlMs = args.ttlMs();
  const ver = args.ver();
  const revision = await client.putRetained(topic, value, { ifRevision: ver, ttlMs, excludesCollection: hashTable }).catch(wrongType(hashTable));
  if (revision === null) throw notFound(`version mismatch: 'ver' is ${ver}`);
  ok(ctx, revision);
}

/** Turns the store's refusal of a hash field in a set or sorted set table into hustdb's 404. */
export function wrongType(table: string | undefined): (err: unknown) => never {
  return (err) => {
    if (err instanceof RouterError && err.uri === ErrorUri.wrongType) throw notFound(`table '${table}' is a set or sorted set, not a hash`);
    throw err;
  };
}

export async function deleteValue(ctx: Context, client: Client, args: HustdbArgs, topic: string): Promise<void> {
  const ver = args.ver();
  const revision = await client.deleteRetained(topic, { ifRevision: ver });
  if (revision === null) throw notFound(ver === undefined ? 'not found' : `not found or version mismatch: 'ver' is ${ver}`);
  ok(ctx, revision);
}

/**
 * keys/hkeys: one page of the values one level below `prefix`. The whole bucket range pages in
 * creation order; a narrower one pages the tree's (bucket, name) index: O(log n + offset + size).
 */
export async function listValues(ctx: Context, client: Client, args: HustdbArgs, prefix: string, extra?: Record<string, string>): Promise<void> {
  args.peer();
  const offset = args.offset();
  const size = args.size();
  const { start, end } = args.buckets();
  const noval = args.noval();
  const whole = start === 0 && end === BUCKETS;
  if (!whole) await indexListings(client);
  const page = client.listRetained(prefix, {
    offset,
    limit: size,
    ...(whole ? { filter: (level: string) => fromComponent(level) !== undefined } : { ranked: { rank: levelBucket, start, end } }),
  });
  listing(
    ctx,
    page.map(({ level, value }) => item(fromComponent(level) as string, value, noval, extra)),
  );
}

function item(name: string, v: RetainedValue, noval: boolean, extra?: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = { key: b64(Buffer.from(name)) };
  if (!noval) out.val = b64(v.payload.bytes);
  out.ver = v.revision;
  return { ...out, ...extra };
}

export function kvRoutes(routes: RouteTable, h: Hustdb): void {
  routes.add('/put', (ctx) => {
    const args = new HustdbArgs(ctx);
    return writeValue(ctx, h, args, kvTopic(args.key()));
  });
  const get = async (ctx: Context): Promise<void> => {
    const args = new HustdbArgs(ctx);
    readValue(ctx, await h.sessions.of(ctx), kvTopic(args.key()), true);
  };
  routes.add('/get', get);
  routes.add('/get2', get);
  routes.add('/exist', async (ctx) => {
    const args = new HustdbArgs(ctx);
    readValue(ctx, await h.sessions.of(ctx), kvTopic(args.key()), false);
  });
  routes.add('/del', async (ctx) => {
    const args = new HustdbArgs(ctx);
    return deleteValue(ctx, await h.sessions.of(ctx), args, kvTopic(args.key()));
  });
  routes.add('/keys', async (ctx) => {
    const args = new HustdbArgs(ctx);
    args.file(FILE_COUNT);
    return listValues(ctx, await h.sessions.of(ctx), args, KV_PREFIX);
  });
}

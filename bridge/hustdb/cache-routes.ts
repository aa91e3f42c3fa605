// The 14 cache/* routes: a memory-only namespace apart from the persistent store (no versions,
// never persisted), bounded by cacheMaxBytes with least-recently-used eviction. Plain key K and
// hash field (T, K) are separate entries of one LRU.
import type { Context } from 'koa';
import { fail } from '../http/fail.ts';
import { reply } from '../http/reply.ts';
import type { RouteTable } from '../http/route-table.ts';
import { HustdbArgs } from './args.ts';
import { type Hustdb, requiredValue } from './context.ts';

const kvKey = (key: string): string => `k\u0000${key}`;
const hashKey = (tb: string, key: string): string => `h\u0000${tb}\u0000${key}`;

const missing = (): Error => fail('not found', 404);

function store(h: Hustdb, key: string, value: Buffer, expiresAt?: number): void {
  if (!h.cache.set(key, value, expiresAt)) throw fail(`value larger than the cache (${h.opts.cacheMaxBytes} bytes)`, 413);
}

function read(ctx: Context, h: Hustdb, key: string, withBody: boolean): void {
  const e = h.cache.get(key);
  if (!e) throw missing();
  reply(ctx, 200, withBody ? e.value : '');
}

async function increment(ctx: Context, h: Hustdb, float: boolean): Promise<void> {
  const args = new HustdbArgs(ctx);
  const key = hashKey(args.tb(), args.key());
  const raw = args.q.text('val');
  if (raw === undefined) throw fail("missing argument 'val'");
  const by = float ? Number(raw) : /^-?\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (raw.trim() === '' || !Number.isFinite(by)) throw fail(`bad argument 'val': ${float ? 'a number' : 'an integer'}`);
  const cur = h.cache.get(key);
  let n = 0;
  if (cur) {
    const text = cur.value.toString();
    n = float ? Number(text) : /^-?\d{1,16}$/.test(text) ? Number(text) : NaN;
    if (text.trim() === '' || !Number.isFinite(n)) throw fail(`the value is not ${float ? 'a number' : 'an integer'}`, 404);
  }
  const next = n + by;
  if (!float && !Number.isSafeInteger(next)) throw fail('the result is out of the integer range', 404);
  const text = String(next);
  store(h, key, Buffer.from(text), cur?.expiresAt);
  reply(ctx, 200, text);
}

export function cacheRoutes(routes: RouteTable, h: Hustdb): void {
  const keyOf = (ctx: Context): string => kvKey(new HustdbArgs(ctx).key());
  const fieldOf = (ctx: Context): string => {
    const args = new HustdbArgs(ctx);
    return hashKey(args.tb(), args.key());
  };
  const auth = async (ctx: Context): Promise<void> => void (await h.sessions.of(ctx));

  routes.add('/cache/exist', async (ctx) => (await auth(ctx), read(ctx, h, keyOf(ctx), false)));
  routes.add('/cache/get', async (ctx) => (await auth(ctx), read(ctx, h, keyOf(ctx), true)));
  routes.add('/cache/ttl', async (ctx) => {
    await auth(ctx);
    const e = h.cache.get(keyOf(ctx));
    if (!e) throw missing();
    reply(ctx, 200, e.expiresAt === undefined ? '-1' : String(Math.max(0, Math.ceil((e.expiresAt - Date.now()) / 1000))));
  });
  routes.add('/cache/put', async (ctx) => {
    await auth(ctx);
    const args = new HustdbArgs(ctx);
    const key = kvKey(args.key());
    const ttlMs = args.ttlMs();
    const value = await requiredValue(ctx, args, h);
    store(h, key, value, ttlMs === undefined ? undefined : Date.now() + ttlMs);
    reply(ctx, 200);
  });
  routes.add('/cache/append', async (ctx) => {
    await auth(ctx);
    const args = new HustdbArgs(ctx);
    const key = kvKey(args.key());
    const value = await requiredValue(ctx, args, h);
    const cur = h.cache.get(key);
    const next = cur ? Buffer.concat([cur.value, value]) : value;
    if (next.length > h.opts.maxValueBytes) throw fail(`value larger than ${h.opts.maxValueBytes} bytes`, 413);
    store(h, key, next, cur?.expiresAt);
    reply(ctx, 200);
  });
  routes.add('/cache/del', async (ctx) => {
    await auth(ctx);
    if (!h.cache.delete(keyOf(ctx))) throw missing();
    reply(ctx, 200);
  });
  routes.add('/cache/expire', async (ctx) => {
    await auth(ctx);
    const args = new HustdbArgs(ctx);
    const key = kvKey(args.key());
    if (!args.q.has('ttl')) throw fail("missing argument 'ttl'");
    const ttlMs = args.ttlMs();
    if (!h.cache.expire(key, ttlMs === undefined ? undefined : Date.now() + ttlMs)) throw missing();
    reply(ctx, 200);
  });
  routes.add('/cache/persist', async (ctx) => {
    await auth(ctx);
    if (!h.cache.expire(keyOf(ctx), undefined)) throw missing();
    reply(ctx, 200);
  });
  routes.add('/cache/hexist', async (ctx) => (await auth(ctx), read(ctx, h, fieldOf(ctx), false)));
  routes.add('/cache/hget', async (ctx) => (await auth(ctx), read(ctx, h, fieldOf(ctx), true)));
  routes.add('/cache/hset', async (ctx) => {
    await auth(ctx);
    const args = new HustdbArgs(ctx);
    const key = hashKey(args.tb(), args.key());
    store(h, key, await requiredValue(ctx, args, h));
    reply(ctx, 200);
  });
  routes.add('/cache/hdel', async (ctx) => {
    await auth(ctx);
    if (!h.cache.delete(fieldOf(ctx))) throw missing();
    reply(ctx, 200);
  });
  routes.add('/cache/hincrby', async (ctx) => (await auth(ctx), increment(ctx, h, false)));
  routes.add('/cache/hincrbyfloat', async (ctx) => (await auth(ctx), increment(ctx, h, true)));
}

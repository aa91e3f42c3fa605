// stat and stat_all: counts per table and in total, as hustdb's JSON (capacity 0: no fixed size).
// They walk what they count, so they cost O(items); they are for operators, not hot paths.
import type { Context } from 'koa';
import type { Client } from '../../lib/index.ts';
import { reply } from '../http/reply.ts';
import type { RouteTable } from '../http/route-table.ts';
import { HustdbArgs } from './args.ts';
import { type Hustdb, notFound } from './context.ts';
import { fromComponent, HASH_PREFIX, hashPrefix, KV_PREFIX } from './names.ts';

interface Totals {
  count: number;
  size: number;
  capacity: number;
}

function retainedTotals(client: Client, prefix: string): Totals {
  const all = client.listRetained(prefix, { limit: Number.MAX_SAFE_INTEGER });
  let size = 0;
  for (const { value } of all) size += value.payload.bytes.length;
  return { count: all.length, size, capacity: 0 };
}

function hashTables(client: Client): string[] {
  return client.retainedBranches(HASH_PREFIX).flatMap((level) => {
    const name = fromComponent(level);
    return name === undefined ? [] : [name];
  });
}

async function tableStats(client: Client): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = hashTables(client).map((table) => ({ table, type: 'H', ...retainedTotals(client, hashPrefix(table)) }));
  for (const c of await client.collections.tables()) out.push({ table: c.table, type: c.kind === 'set' ? 'S' : 'Z', count: c.count, size: 0, capacity: 0 });
  return out;
}

function totalize(client: Client): Record<string, unknown> {
  const hashes = hashTables(client);
  return { TOTALIZE: { KVPAIR: retainedTotals(client, KV_PREFIX), HASHTABLE: { count: hashes.length, size: 0, capacity: 0 } } };
}

async function stat(ctx: Context, h: Hustdb): Promise<void> {
  const args = new HustdbArgs(ctx);
  args.peer();
  const tb = args.q.has('tb') ? args.tb() : undefined;
  const client = await h.sessions.of(ctx);
  if (tb === undefined) {
    reply(ctx, 200, JSON.stringify(totalize(client)));
    return;
  }
  const found = (await tableStats(client)).find((s) => s.table === tb);
  if (!found) throw notFound(`no table '${tb}'`);
  reply(ctx, 200, JSON.stringify(found));
}

export function statRoutes(routes: RouteTable, h: Hustdb): void {
  routes.add('/stat', (ctx) => stat(ctx, h));
  routes.add('/stat_all', async (ctx) => {
    new HustdbArgs(ctx).peer();
    const client = await h.sessions.of(ctx);
    reply(ctx, 200, JSON.stringify([totalize(client), ...(await tableStats(client))]));
  });
}

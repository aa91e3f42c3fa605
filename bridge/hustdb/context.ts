// What every route group of the hustdb bridge shares, and the replies they have in common.
import type { Context } from 'koa';
import { readBody } from '../http/body.ts';
import { fail } from '../http/fail.ts';
import { reply } from '../http/reply.ts';
import type { HustdbArgs } from './args.ts';
import type { LruCache } from './cache.ts';
import type { ResolvedOptions } from './options.ts';
import type { BridgeSessions } from '../http/sessions.ts';

export interface Hustdb {
  opts: ResolvedOptions;
  sessions: BridgeSessions;
  cache: LruCache;
}

/** Listing shards the store exposes (`file_count`); keys are spread over them by bucket. */
export const FILE_COUNT = 1;

/** The request body, or the query's `val` when the body is empty; 413 over maxValueBytes. */
export async function valueOf(ctx: Context, args: HustdbArgs, h: Hustdb, name = 'val'): Promise<Buffer | undefined> {
  const body = await readBody(ctx, h.opts.maxValueBytes);
  if (body.length > 0) return body;
  const v = args.q.bytes(name);
  if (v !== undefined && v.length > h.opts.maxValueBytes) throw fail(`value larger than ${h.opts.maxValueBytes} bytes`, 413);
  return v;
}

/** The value to write: 404 when empty or absent (as the original backend). */
export async function requiredValue(ctx: Context, args: HustdbArgs, h: Hustdb, name = 'val'): Promise<Buffer> {
  const v = await valueOf(ctx, args, h, name);
  if (v === undefined || v.length === 0) throw fail(`empty value: '${name}' (or the body) is required`, 404);
  return v;
}

export function ok(ctx: Context, version: number, body: string | Uint8Array = ''): void {
  reply(ctx, 200, body, { Version: String(version) });
}

/** The generic failure of hustdb: 404 with `Version: 0`. */
export function notFound(message: string): Error {
  return fail(message, 404, { Version: '0' });
}

/** A listing: JSON array with `Keys: n`. */
export function listing(ctx: Context, items: unknown[]): void {
  reply(ctx, 200, JSON.stringify(items), { Keys: String(items.length) });
}

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

// What the set and sorted-set routes share: the member (request body, or `key` for zsets), the
// outcomes of their writes and the pages they list.
import type { Context } from 'koa';
import type { CollectionMember, CollectionOutcome } from '../../lib/index.ts';
import { readBody } from '../http/body.ts';
import type { HustdbArgs } from './args.ts';
import { MAX_KEY_BYTES } from './args.ts';
import { b64, notFound } from './context.ts';

/** Longest member, bytes: members are index keys. */
export const MAX_MEMBER_BYTES = 4 * MAX_KEY_BYTES;

/** The member: the body, else (when allowed) the `key` argument; 404 when neither is given. */
export async function memberOf(ctx: Context, args: HustdbArgs, keyArg: boolean): Promise<Buffer> {
  const body = await readBody(ctx, MAX_MEMBER_BYTES);
  if (body.length > 0) return body;
  if (keyArg && args.q.has('key')) {
    const k = args.q.bytes('key') as Buffer;
    if (k.length > MAX_MEMBER_BYTES) throw notFound(`member larger than ${MAX_MEMBER_BYTES} bytes`);
    if (k.length > 0) return k;
  }
  throw notFound(keyArg ? 'empty member: send it as the body or as `key`' : 'empty member: send it as the body');
}

/** The version of a successful write, else 404 saying why. */
export function versionOf(out: CollectionOutcome, tb: string): number {
  if (typeof out === 'object') return out.version;
  if (out === 'wrong_type') throw notFound(`table '${tb}' holds another type (a hash, a set or a sorted set)`);
  if (out === 'version_mismatch') throw notFound('version mismatch');
  throw notFound('not found');
}

/** The members of a page, or 404 when the table holds another type. */
export function members(page: CollectionMember[] | 'wrong_type', tb: string): CollectionMember[] {
  if (page === 'wrong_type') throw notFound(`table '${tb}' holds another type`);
  return page;
}

export function memberItem(m: CollectionMember, withScore: boolean): Record<string, unknown> {
  return withScore ? { key: b64(m.member), val: String(m.score), ver: m.version } : { key: b64(m.member), ver: m.version };
}

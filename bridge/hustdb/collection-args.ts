// What the set and sorted-set routes share: the member (request body, or `key` for zsets), type
// checks against hash tables, and paging with a bucket filter.
import type { Context } from 'koa';
import type { Client, CollectionMember, CollectionOutcome } from '../../lib/index.ts';
import { readBody } from '../http/body.ts';
import type { HustdbArgs } from './args.ts';
import { MAX_KEY_BYTES } from './args.ts';
import { b64, notFound } from './context.ts';
import { BUCKETS, bucketOf, hashPrefix } from './names.ts';

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

/** True when `tb` is in use as a hash (a role that may not read hashes sees none). */
export function isHashTable(client: Client, tb: string): boolean {
  try {
    return client.listRetained(hashPrefix(tb), { limit: 1 }).length > 0;
  } catch {
    return false;
  }
}

/** The version of a successful write, else 404 saying why. */
export function versionOf(out: CollectionOutcome, tb: string): number {
  if (typeof out === 'object') return out.version;
  if (out === 'wrong_type') throw notFound(`table '${tb}' holds another type`);
  if (out === 'version_mismatch') throw notFound('version mismatch');
  throw notFound('not found');
}

type Fetch = (offset: number, limit: number) => Promise<CollectionMember[] | 'wrong_type'>;

/**
 * A page of members in the bucket range: a direct store page for the whole range, else chunks read
 * in order and filtered (O(members scanned)).
 */
export async function pageOf(fetch: Fetch, offset: number, size: number, start: number, end: number, tb: string): Promise<CollectionMember[]> {
  if (start === 0 && end === BUCKETS) {
    const page = await fetch(offset, size);
    if (page === 'wrong_type') throw notFound(`table '${tb}' holds another type`);
    return page;
  }
  const out: CollectionMember[] = [];
  let skip = offset;
  for (let at = 0; out.length < size; ) {
    const chunk = await fetch(at, 1000);
    if (chunk === 'wrong_type') throw notFound(`table '${tb}' holds another type`);
    for (const m of chunk) {
      const b = bucketOf(m.member);
      if (b < start || b >= end) continue;
      if (skip > 0) skip--;
      else if (out.length < size) out.push(m);
    }
    if (chunk.length < 1000) break;
    at += chunk.length;
  }
  return out;
}

export function memberItem(m: CollectionMember, withScore: boolean): Record<string, unknown> {
  return withScore ? { key: b64(m.member), val: String(m.score), ver: m.version } : { key: b64(m.member), ver: m.version };
}

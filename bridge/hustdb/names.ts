// How hustdb names map onto router topics (spec §11), and the §1 bucket hash that spreads keys
// over the 1024 buckets (`start`/`end` ranges of the listing routes).
import { type Client, LISTING_BUCKETS, listingBucket } from '../../lib/index.ts';

/** One URI component: encodeURIComponent with `.` also escaped (the esub bridge's rule). */
export function component(name: string): string {
  return encodeURIComponent(name).replace(/\./g, '%2E');
}

export function fromComponent(level: string): string | undefined {
  try {
    return decodeURIComponent(level);
  } catch {
    return undefined;
  }
}

export const KV_PREFIX = 'hustdb.kv';
export const HASH_PREFIX = 'hustdb.hash';

export const kvTopic = (key: string): string => `${KV_PREFIX}.${component(key)}`;
export const hashPrefix = (table: string): string => `${HASH_PREFIX}.${component(table)}`;
export const hashTopic = (table: string, key: string): string => `${hashPrefix(table)}.${component(key)}`;
export const setTopic = (table: string): string => `hustdb.set.${component(table)}`;
export const zsetTopic = (table: string): string => `hustdb.zset.${component(table)}`;

export const BUCKETS = LISTING_BUCKETS;

/** The §1 bucket of a name's UTF-8 bytes (the store's listing bucket). */
export function bucketOf(name: string | Uint8Array): number {
  return listingBucket(typeof name === 'string' ? Buffer.from(name) : name);
}

/** A level's §1 bucket, by the name it encodes; a level that is no component of ours ranks -1 (never listed). */
export function levelBucket(level: string): number {
  const name = fromComponent(level);
  return name === undefined ? -1 : bucketOf(name);
}

/**
 * The (bucket, name) indexes of plain keys and of every hash table, which the router's retained
 * tree keeps at write time (values already there are indexed in slices that yield): what a
 * keys/hkeys page over a bucket range walks. Resolves when both are ready; asking again is free.
 */
export function indexListings(client: Client): Promise<void> {
  return Promise.all([client.indexRetained(KV_PREFIX, levelBucket), client.indexRetained(`${HASH_PREFIX}.`, levelBucket, 'wildcard')]).then(() => undefined);
}

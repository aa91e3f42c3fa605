// Retained values as a key-value store for in-process clients (the hustdb bridge, embedding apps):
// read a value with its revision, page through the values one level below a topic, and write
// with a revision condition and an expiry. Every call is authorized as the session's role would
// be over WAMP: reads need 'subscribe', writes 'publish'.
import { ErrorUri, RouterError } from './errors.ts';
import { Payload } from './payload.ts';
import type { LevelRank } from './retained.ts';
import type { Session } from './session.ts';
import { wampLevels, wampPattern } from './topic.ts';

export interface RetainedValue {
  topic: string;
  payload: Payload;
  /** 1 on creation, +1 per write from any protocol; a delete or expiry forgets it. */
  revision: number;
  /** Absolute expiry, ms since epoch. */
  expiresAt?: number;
}

export interface RetainedPutOptions {
  /** Write only if the live revision is this (0 = only if absent). */
  ifRevision?: number;
  /** Expiry from now, ms (absent = none: a rewrite without it makes the value permanent). */
  ttlMs?: number;
  /**
   * Refused with kitsune.error.wrong_type, nothing written, when a collection table (set or sorted
   * set) of this name exists — checked by the store in the same operation as the write, so it
   * cannot race a collection's first write (see CollectionApi.put's `excludesRetained`).
   */
  excludesCollection?: string;
}

export interface RetainedListOptions {
  /** Values to skip (after `filter`). */
  offset?: number;
  /** Most values to return (default 1000). */
  limit?: number;
  /** Keeps only the levels it accepts. */
  filter?: (level: string) => boolean;
  /**
   * Only the levels whose rank is in [start, end), in (rank, level) order: O(log n + offset +
   * limit), from the index indexRetained() keeps for `topic` with this same `rank` function (wait
   * for its promise first; without a ready index the listing throws).
   */
  ranked?: { rank: LevelRank; start: number; end: number };
}

/** Expired values purged per listing: a page never wades through what expired since the last sweep. */
const PURGE_PER_LISTING = 10_000;

function valueOf(topic: readonly string[], entry: { publication: { payload: Payload; headers?: { expiresAt?: number } }; revision: number }): RetainedValue {
  const out: RetainedValue = { topic: topic.join('.'), payload: entry.publication.payload, revision: entry.revision };
  const expiresAt = entry.publication.headers?.expiresAt;
  if (expiresAt !== undefined) out.expiresAt = expiresAt;
  return out;
}

export function getRetained(session: Session, topic: string): RetainedValue | undefined {
  const levels = wampLevels(topic);
  session.realm.authorize(session, 'subscribe', levels, topic);
  const entry = session.realm.retention.live(levels);
  return entry ? valueOf(levels, entry) : undefined;
}

/**
 * Live values one level below `topic`: in creation order of their levels (O(offset + limit) plus
 * what `filter` refuses), or with `ranked` in rank order from an index.
 */
export function listRetained(session: Session, topic: string, options: RetainedListOptions = {}): { level: string; value: RetainedValue }[] {
  const levels = wampLevels(topic);
  session.realm.authorize(session, 'subscribe', [...levels, ''], `${topic}.`);
  let skip = options.offset ?? 0;
  const limit = options.limit ?? 1000;
  const now = Date.now();
  session.realm.retention.purgeExpired(now, PURGE_PER_LISTING);
  const out: { level: string; value: RetainedValue }[] = [];
  if (limit <= 0) return out;
  const tree = session.realm.retention.tree;
  const r = options.ranked;
  for (const [level, entry] of r ? tree.ranked(levels, r.rank, r.start, r.end) : tree.children(levels)) {
    const expiresAt = entry.publication.headers?.expiresAt;
    if (expiresAt !== undefined && expiresAt <= now) continue;
    if (options.filter && !options.filter(level)) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    out.push({ level, value: valueOf([...levels, level], entry) });
    if (out.length >= limit) break;
  }
  return out;
}

/** The levels one below `topic` with values further down (e.g. the hash tables under hustdb.hash). */
export function retainedBranches(session: Session, topic: string): string[] {
  const levels = wampLevels(topic);
  session.realm.authorize(session, 'subscribe', [...levels, ''], `${topic}.`);
  // a branch whose values have all expired is pruned by the purge
  session.realm.retention.purgeExpired(Date.now(), PURGE_PER_LISTING);
  return [...session.realm.retention.tree.branches(levels)];
}

/**
 * Keeps the values one level below `topic` ordered by `rank`, for listRetained's `ranked` pages
 * (with match 'wildcard', below every topic matching the WAMP wildcard pattern `topic`, empty
 * components matching any level). Maintained by every write from then on; values already there are
 * indexed a slice per event-loop turn. Resolves once they are; asking again costs nothing.
 */
export function indexRetained(session: Session, topic: string, rank: LevelRank, match: 'exact' | 'wildcard' = 'exact'): Promise<void> {
  return session.realm.retention.tree.index(wampPattern(topic, match).levels, rank);
}

/**
 * Writes a retained value; resolves to its new revision once committed and delivered, or null when
 * `ifRevision` did not hold (nothing written).
 */
export function putRetained(session: Session, topic: string, value: Uint8Array | Payload, options: RetainedPutOptions = {}): Promise<number | null> {
  const levels = wampLevels(topic);
  const retention = session.realm.retention;
  session.realm.authorize(session, 'publish', levels, topic);
  if (options.ifRevision !== undefined && (retention.live(levels)?.revision ?? 0) !== options.ifRevision) return Promise.resolve(null);
  const payload = value instanceof Payload ? value : Payload.fromBytes(value);
  if (payload.isBytes ? payload.bytes.length === 0 : payload.isEmpty) return Promise.reject(new RouterError(ErrorUri.invalidArgument, 'an empty value would delete the key'));
  const headers = options.ttlMs !== undefined && options.ttlMs > 0 ? { expiresAt: Date.now() + options.ttlMs } : undefined;
  const published = session.publish(levels, payload, { retain: true, acknowledge: true, headers, excludesCollection: options.excludesCollection });
  // The in-memory write happened synchronously inside publish(): its revision is known now.
  const revision = retention.get(levels)?.revision ?? 1;
  return published.then(() => revision);
}

/** Deletes a retained value; resolves to the revision it had, or null when absent or `ifRevision` did not hold. */
export function deleteRetained(session: Session, topic: string, options: { ifRevision?: number } = {}): Promise<number | null> {
  const levels = wampLevels(topic);
  session.realm.authorize(session, 'publish', levels, topic);
  const current = session.realm.retention.live(levels);
  if (!current || (options.ifRevision !== undefined && current.revision !== options.ifRevision)) return Promise.resolve(null);
  return session.publish(levels, Payload.empty(), { retain: true, acknowledge: true }).then(() => current.revision);
}

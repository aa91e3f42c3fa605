// Memory engine: hustdb sets and sorted sets. Each table is a map member → node (lookups) plus a
// skip list ordered by (score, member) (ranges), so single-member operations are O(log n). A set
// also keeps a skip list ordered by (listing bucket, member), so a bucket range is a walk from a seek.
import { type CollectionKind, type CollectionMember, type CollectionOutcome, type CollectionRange, type CollectionTableStat, type CollectionWrite, listingBucket } from '../core/store.ts';
import { compareKeys, copyBytes, isLive } from './common.ts';
import { SkipList, type SkipNode } from '../core/skip-list.ts';

interface Entry {
  member: Uint8Array;
  version: number;
  expiresAt?: number;
}

interface Table {
  kind: CollectionKind;
  byMember: Map<string, { score: number; entry: Entry }>;
  order: SkipList<Entry>;
  /** Sets only: ordered by (listing bucket, member). */
  byBucket?: SkipList<Entry>;
  /** Members with an expiry, by (expiresAt, member): a purge takes the expired ones from the front. */
  byExpiry: SkipList<undefined>;
}

const memberKey = (m: Uint8Array): string => Buffer.from(m.buffer, m.byteOffset, m.byteLength).toString('latin1');

function toMember(score: number, e: Entry): CollectionMember {
  const out: CollectionMember = { member: e.member, score, version: e.version };
  if (e.expiresAt !== undefined) out.expiresAt = e.expiresAt;
  return out;
}

/** Up to r.limit live members from `first` on, after r.offset, while the node score is ≤ maxScore. */
function page(first: SkipNode<Entry> | undefined, maxScore: number | undefined, r: CollectionRange, now: number, zeroScore: boolean): CollectionMember[] {
  const out: CollectionMember[] = [];
  let skip = r.offset;
  for (let n = first; n && out.length < r.limit; n = n.next[0]) {
    if (maxScore !== undefined && n.score > maxScore) break;
    if (!isLive(n.value.expiresAt, now)) continue;
    if (skip > 0) skip--;
    else out.push(toMember(zeroScore ? 0 : n.score, n.value));
  }
  return out;
}

export class MemoryCollections {
  private readonly realms = new Map<string, Map<string, Table>>();

  private table(realm: string, name: string): Table | undefined {
    return this.realms.get(realm)?.get(name);
  }

  /** The live member's slot; an expired one is removed on sight. */
  private live(t: Table, key: string, now: number): { score: number; entry: Entry } | undefined {
    const slot = t.byMember.get(key);
    if (!slot || isLive(slot.entry.expiresAt, now)) return slot;
    this.unlink(t, key, slot.score, slot.entry);
    return undefined;
  }

  private unlink(t: Table, key: string, score: number, entry: Entry): void {
    t.byMember.delete(key);
    t.order.remove(score, key);
    t.byBucket?.remove(listingBucket(entry.member), key);
    if (entry.expiresAt !== undefined) t.byExpiry.remove(entry.expiresAt, key);
  }

  /** Removes a table's expired members (O(expired · log n)) and the table if that empties it; true if it is left. */
  private purge(realm: string, name: string, t: Table, now: number): boolean {
    for (let n = t.byExpiry.seek(); n && n.score <= now; n = t.byExpiry.seek()) {
      const slot = t.byMember.get(n.key) as { score: number; entry: Entry };
      this.unlink(t, n.key, slot.score, slot.entry);
    }
    this.dropIfEmpty(realm, name, t);
    return t.byMember.size > 0;
  }

  /** True when a table of this name has live members (of either kind). */
  exists(realm: string, name: string, now: number): boolean {
    const t = this.table(realm, name);
    return t !== undefined && this.purge(realm, name, t, now);
  }

  private dropIfEmpty(realm: string, name: string, t: Table): void {
    if (t.byMember.size > 0) return;
    const m = this.realms.get(realm);
    m?.delete(name);
    if (m?.size === 0) this.realms.delete(realm);
  }

  put(realm: string, w: CollectionWrite, now: number): CollectionOutcome {
    let t = this.table(realm, w.table);
    // a table whose members have all expired is gone, whatever kind it was
    if (t && t.kind !== w.kind && this.purge(realm, w.table, t, now)) return 'wrong_type';
    t = this.table(realm, w.table);
    const key = memberKey(w.member);
    const cur = t ? this.live(t, key, now) : undefined;
    if (w.expectVersion !== undefined && (cur?.entry.version ?? 0) !== w.expectVersion) return 'version_mismatch';
    let score = w.kind === 'zset' ? (w.score ?? 0) : 0;
    if (cur && w.scoreMode === 'add') score = cur.score + score;
    else if (cur && w.scoreMode === 'sub') score = cur.score - score;
    if (!t) {
      t = { kind: w.kind, byMember: new Map(), order: new SkipList(), byBucket: w.kind === 'set' ? new SkipList() : undefined, byExpiry: new SkipList() };
      let m = this.realms.get(realm);
      if (!m) this.realms.set(realm, (m = new Map()));
      m.set(w.table, t);
    }
    if (cur) this.unlink(t, key, cur.score, cur.entry);
    const entry: Entry = { member: cur ? cur.entry.member : copyBytes(w.member), version: (cur?.entry.version ?? 0) + 1 };
    if (w.expiresAt !== undefined) {
      entry.expiresAt = w.expiresAt;
      t.byExpiry.insert(w.expiresAt, key, undefined);
    }
    t.byMember.set(key, { score, entry });
    t.order.insert(score, key, entry);
    t.byBucket?.insert(listingBucket(entry.member), key, entry);
    return { version: entry.version, score };
  }

  delete(realm: string, kind: CollectionKind, name: string, member: Uint8Array, expectVersion: number | undefined, now: number): CollectionOutcome {
    const t = this.table(realm, name);
    if (!t) return 'missing';
    if (t.kind !== kind) return 'wrong_type';
    const key = memberKey(member);
    const cur = this.live(t, key, now);
    let out: CollectionOutcome = 'missing';
    if (cur) {
      if (expectVersion !== undefined && cur.entry.version !== expectVersion) return 'version_mismatch';
      this.unlink(t, key, cur.score, cur.entry);
      out = { version: cur.entry.version, score: cur.score };
    }
    this.dropIfEmpty(realm, name, t);
    return out;
  }

  get(realm: string, kind: CollectionKind, name: string, member: Uint8Array, now: number): CollectionMember | null | 'wrong_type' {
    const t = this.table(realm, name);
    if (!t) return null;
    if (t.kind !== kind) return 'wrong_type';
    const slot = this.live(t, memberKey(member), now);
    this.dropIfEmpty(realm, name, t);
    return slot ? toMember(slot.score, slot.entry) : null;
  }

  range(realm: string, kind: CollectionKind, name: string, r: CollectionRange, now: number): CollectionMember[] | 'wrong_type' {
    const t = this.table(realm, name);
    if (!t) return [];
    if (t.kind !== kind) return 'wrong_type';
    // in the bucket index a node's score is its bucket; a set member's own score is 0
    if (r.buckets && t.byBucket) return page(t.byBucket.seek(r.buckets.start), r.buckets.end - 1, r, now, true);
    return page(t.order.seek(r.minScore), r.maxScore, r, now, false);
  }

  kind(realm: string, name: string): CollectionKind | null {
    return this.table(realm, name)?.kind ?? null;
  }

  /** Every table with its live members (expired ones are purged first). */
  tables(realm: string, now: number): CollectionTableStat[] {
    const m = this.realms.get(realm);
    if (!m) return [];
    for (const [name, t] of m) this.purge(realm, name, t, now);
    const out = [...m].map(([table, t]) => ({ table, kind: t.kind, count: t.byMember.size }));
    return out.sort((a, b) => compareKeys(a.table, b.table));
  }

  /** Purges expired members; returns how many. Tables without expiring members cost one check. */
  sweep(now: number): number {
    let n = 0;
    for (const [realm, m] of this.realms) {
      for (const [name, t] of m) {
        const before = t.byMember.size;
        this.purge(realm, name, t, now);
        n += before - t.byMember.size;
      }
    }
    return n;
  }
}

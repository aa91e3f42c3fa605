// SQLite engine: hustdb sets and sorted sets (tables coll_tables and coll_members, see
// sqlite-schema.ts). Lookups use the primary key, ranges the (score, member) index and set bucket
// ranges the (bucket, member) index, so every single-member operation is O(log n) and a page
// O(log n + offset + limit). Methods run synchronously inside a group commit.
import type Database from 'better-sqlite3';
import { type CollectionKind, type CollectionMember, type CollectionOutcome, type CollectionRange, type CollectionTableStat, type CollectionWrite, listingBucket } from '../core/store.ts';
import { isLive } from './common.ts';

interface MemberRow {
  member: Buffer;
  score: number;
  version: number;
  expires_at: number | null;
}

const LIVE = '(expires_at IS NULL OR expires_at > @now)';

function toMember(r: MemberRow): CollectionMember {
  const out: CollectionMember = { member: r.member, score: r.score, version: r.version };
  if (r.expires_at !== null) out.expiresAt = r.expires_at;
  return out;
}

export class SqliteCollections {
  private readonly kindOf: Database.Statement;
  private readonly addTable: Database.Statement;
  private readonly changeCount: Database.Statement;
  private readonly dropEmpty: Database.Statement;
  private readonly get1: Database.Statement;
  private readonly upsert: Database.Statement;
  private readonly del: Database.Statement;
  private readonly byMember: Database.Statement;
  private readonly byScore: Database.Statement;
  private readonly byBucket: Database.Statement;
  private readonly listTables: Database.Statement;
  private readonly expiredCounts: Database.Statement;
  private readonly purge: Database.Statement;
  private readonly dropAllEmpty: Database.Statement;

  constructor(db: Database.Database) {
    this.kindOf = db.prepare('SELECT kind FROM coll_tables WHERE realm = ? AND name = ?').pluck();
    this.addTable = db.prepare('INSERT INTO coll_tables (realm, name, kind, count) VALUES (?, ?, ?, 0)');
    this.changeCount = db.prepare('UPDATE coll_tables SET count = count + ? WHERE realm = ? AND name = ?');
    this.dropEmpty = db.prepare('DELETE FROM coll_tables WHERE realm = ? AND name = ? AND count <= 0');
    this.get1 = db.prepare('SELECT member, score, version, expires_at FROM coll_members WHERE realm = ? AND tb = ? AND member = ?');
    this.upsert = db.prepare(
      `INSERT INTO coll_members (realm, tb, member, score, version, expires_at, bucket) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (realm, tb, member) DO UPDATE SET score = excluded.score, version = excluded.version, expires_at = excluded.expires_at`,
    );
    this.del = db.prepare('DELETE FROM coll_members WHERE realm = ? AND tb = ? AND member = ?');
    this.byMember = db.prepare(
      `SELECT member, score, version, expires_at FROM coll_members WHERE realm = @realm AND tb = @tb AND ${LIVE}
       ORDER BY member LIMIT @limit OFFSET @offset`,
    );
    this.byScore = db.prepare(
      `SELECT member, score, version, expires_at FROM coll_members
       WHERE realm = @realm AND tb = @tb AND score >= @min AND score <= @max AND ${LIVE}
       ORDER BY score, member LIMIT @limit OFFSET @offset`,
    );
    this.byBucket = db.prepare(
      `SELECT member, score, version, expires_at FROM coll_members
       WHERE realm = @realm AND tb = @tb AND bucket >= @start AND bucket < @end AND ${LIVE}
       ORDER BY bucket, member LIMIT @limit OFFSET @offset`,
    );
    this.listTables = db.prepare('SELECT name AS "table", kind, count FROM coll_tables WHERE realm = ? ORDER BY name');
    this.expiredCounts = db.prepare(
      'SELECT realm, tb, count(*) AS n FROM coll_members WHERE expires_at IS NOT NULL AND expires_at <= ? GROUP BY realm, tb',
    );
    this.purge = db.prepare('DELETE FROM coll_members WHERE expires_at IS NOT NULL AND expires_at <= ?');
    this.dropAllEmpty = db.prepare('DELETE FROM coll_tables WHERE count <= 0');
  }

  private kind(realm: string, table: string): CollectionKind | undefined {
    return this.kindOf.get(realm, table) as CollectionKind | undefined;
  }

  /** The live row; an expired one is deleted on sight. */
  private live(realm: string, table: string, member: Uint8Array, now: number): MemberRow | undefined {
    const row = this.get1.get(realm, table, member) as MemberRow | undefined;
    if (!row || isLive(row.expires_at, now)) return row;
    this.del.run(realm, table, member);
    this.changeCount.run(-1, realm, table);
    return undefined;
  }

  /** True when a table of this name (either kind) has live members; expired ones are purged first. */
  exists(realm: string, table: string, now: number): boolean {
    if (this.kind(realm, table) === undefined) return false;
    this.sweep(now);
    return this.kind(realm, table) !== undefined;
  }

  put(realm: string, w: CollectionWrite, now: number): CollectionOutcome {
    let kind = this.kind(realm, w.table);
    if (kind !== undefined && kind !== w.kind) {
      // a table whose members have all expired is gone, whatever kind it was
      this.sweep(now);
      kind = this.kind(realm, w.table);
      if (kind !== undefined && kind !== w.kind) return 'wrong_type';
    }
    const cur = kind === undefined ? undefined : this.live(realm, w.table, w.member, now);
    if (w.expectVersion !== undefined && (cur?.version ?? 0) !== w.expectVersion) return 'version_mismatch';
    let score = w.kind === 'zset' ? (w.score ?? 0) : 0;
    if (cur && w.scoreMode === 'add') score = cur.score + score;
    else if (cur && w.scoreMode === 'sub') score = cur.score - score;
    if (kind === undefined) this.addTable.run(realm, w.table, w.kind);
    if (!cur) this.changeCount.run(1, realm, w.table);
    const version = (cur?.version ?? 0) + 1;
    // the bucket of a member never changes, so an update leaves it as it is
    this.upsert.run(realm, w.table, w.member, score, version, w.expiresAt ?? null, w.kind === 'set' ? listingBucket(w.member) : null);
    return { version, score };
  }

  delete(realm: string, kind: CollectionKind, table: string, member: Uint8Array, expectVersion: number | undefined, now: number): CollectionOutcome {
    const k = this.kind(realm, table);
    if (k === undefined) return 'missing';
    if (k !== kind) return 'wrong_type';
    const cur = this.live(realm, table, member, now);
    let out: CollectionOutcome = 'missing';
    if (cur) {
      if (expectVersion !== undefined && cur.version !== expectVersion) return 'version_mismatch';
      this.del.run(realm, table, member);
      this.changeCount.run(-1, realm, table);
      out = { version: cur.version, score: cur.score };
    }
    this.dropEmpty.run(realm, table);
    return out;
  }

  get(realm: string, kind: CollectionKind, table: string, member: Uint8Array, now: number): CollectionMember | null | 'wrong_type' {
    const k = this.kind(realm, table);
    if (k === undefined) return null;
    if (k !== kind) return 'wrong_type';
    const row = this.get1.get(realm, table, member) as MemberRow | undefined;
    return row && isLive(row.expires_at, now) ? toMember(row) : null;
  }

  range(realm: string, kind: CollectionKind, table: string, r: CollectionRange, now: number): CollectionMember[] | 'wrong_type' {
    const k = this.kind(realm, table);
    if (k === undefined) return [];
    if (k !== kind) return 'wrong_type';
    const params = { realm, tb: table, now, limit: r.limit, offset: r.offset };
    const rows = (
      kind === 'zset'
        ? this.byScore.all({ ...params, min: r.minScore ?? -Number.MAX_VALUE, max: r.maxScore ?? Number.MAX_VALUE })
        : r.buckets
          ? this.byBucket.all({ ...params, ...r.buckets })
          : this.byMember.all(params)
    ) as MemberRow[];
    return rows.map(toMember);
  }

  kindOfTable(realm: string, table: string): CollectionKind | null {
    return this.kind(realm, table) ?? null;
  }

  tables(realm: string): CollectionTableStat[] {
    return this.listTables.all(realm) as CollectionTableStat[];
  }

  /** Purges expired members and the tables they leave empty; returns how many members. */
  sweep(now: number): number {
    const counts = this.expiredCounts.all(now) as { realm: string; tb: string; n: number }[];
    if (counts.length === 0) return 0;
    for (const c of counts) this.changeCount.run(-c.n, c.realm, c.tb);
    const n = this.purge.run(now).changes;
    this.dropAllEmpty.run();
    return n;
  }
}

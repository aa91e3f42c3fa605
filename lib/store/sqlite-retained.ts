// SQLite engine: retained key-value records. Methods run synchronously inside a group commit.
import type Database from 'better-sqlite3';
import type { RetainedRecord, RetainedWrite } from '../core/store.ts';
import { isLive, prefixUpperBound } from './common.ts';
import type { Tx } from './sqlite-batch.ts';

interface Row {
  key: string;
  value: Buffer;
  version: number;
  revision: number;
  updated_at: number;
  expires_at: number | null;
  owner: string | null;
  will: Buffer | null;
  has_will: number;
}

const COLS = 'key, value, version, revision, updated_at, expires_at, owner, will, has_will';
const LIVE = '(expires_at IS NULL OR expires_at > @now)';

function toRecord(r: Row): RetainedRecord {
  const rec: RetainedRecord = { key: r.key, value: r.value, version: r.version, revision: r.revision, updatedAt: r.updated_at };
  if (r.expires_at !== null) rec.expiresAt = r.expires_at;
  if (r.owner !== null) rec.owner = r.owner;
  if (r.has_will) rec.will = r.will;
  return rec;
}

export class SqliteRetained {
  private readonly get1: Database.Statement;
  private readonly listAll: Database.Statement;
  private readonly listFrom: Database.Statement;
  private readonly listRange: Database.Statement;
  private readonly upsert: Database.Statement;
  private readonly del: Database.Statement;
  private readonly wills: Database.Statement;
  private readonly willsOf: Database.Statement;
  private readonly sweepStmt: Database.Statement;
  private readonly liveFrom: Database.Statement;
  private readonly liveRange: Database.Statement;

  constructor(db: Database.Database) {
    this.get1 = db.prepare(`SELECT ${COLS} FROM retained WHERE realm = ? AND key = ?`);
    this.listAll = db.prepare(`SELECT ${COLS} FROM retained WHERE realm = @realm AND ${LIVE} ORDER BY key`);
    this.listFrom = db.prepare(`SELECT ${COLS} FROM retained WHERE realm = @realm AND key >= @lo AND ${LIVE} ORDER BY key`);
    this.listRange = db.prepare(
      `SELECT ${COLS} FROM retained WHERE realm = @realm AND key >= @lo AND key < @hi AND ${LIVE} ORDER BY key`,
    );
    this.upsert = db.prepare(
      `INSERT INTO retained (realm, key, value, version, revision, updated_at, expires_at, owner, will, has_will)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (realm, key) DO UPDATE SET value = excluded.value, version = excluded.version, revision = excluded.revision,
         updated_at = excluded.updated_at, expires_at = excluded.expires_at, owner = excluded.owner,
         will = excluded.will, has_will = excluded.has_will`,
    );
    this.del = db.prepare('DELETE FROM retained WHERE realm = ? AND key = ?');
    this.wills = db.prepare(
      `SELECT ${COLS} FROM retained WHERE realm = @realm AND has_will = 1 AND owner IS NOT NULL AND ${LIVE} ORDER BY key`,
    );
    this.willsOf = db.prepare(
      `SELECT ${COLS} FROM retained WHERE realm = @realm AND has_will = 1 AND owner = @owner AND ${LIVE} ORDER BY key`,
    );
    this.sweepStmt = db.prepare('DELETE FROM retained WHERE expires_at IS NOT NULL AND expires_at <= ?');
    this.liveFrom = db.prepare(`SELECT 1 FROM retained WHERE realm = @realm AND key >= @lo AND ${LIVE} LIMIT 1`).pluck();
    this.liveRange = db.prepare(`SELECT 1 FROM retained WHERE realm = @realm AND key >= @lo AND key < @hi AND ${LIVE} LIMIT 1`).pluck();
  }

  /** The current row if it has not expired. */
  private live(realm: string, key: string, now: number): Row | undefined {
    const row = this.get1.get(realm, key) as Row | undefined;
    if (!row || isLive(row.expires_at, now)) return row;
    return undefined;
  }

  get(realm: string, key: string, now: number): RetainedRecord | null {
    const row = this.live(realm, key, now);
    return row ? toRecord(row) : null;
  }

  list(realm: string, prefix: string | undefined, now: number): RetainedRecord[] {
    let rows: Row[];
    if (prefix === undefined || prefix === '') rows = this.listAll.all({ realm, now }) as Row[];
    else {
      const hi = prefixUpperBound(prefix);
      rows = (hi === null ? this.listFrom.all({ realm, lo: prefix, now }) : this.listRange.all({ realm, lo: prefix, hi, now })) as Row[];
    }
    return rows.map(toRecord);
  }

  /** True when a live record's key starts with `prefix` (a primary-key range; expired rows in it are stepped over). */
  hasLiveUnder(realm: string, prefix: string, now: number): boolean {
    const hi = prefixUpperBound(prefix);
    return (hi === null ? this.liveFrom.get({ realm, lo: prefix, now }) : this.liveRange.get({ realm, lo: prefix, hi, now })) !== undefined;
  }

  put(tx: Tx, realm: string, w: RetainedWrite, expectVersion: number | undefined, now: number): number | null {
    let revision = w.revision;
    if (expectVersion !== undefined || revision === undefined) {
      const cur = this.live(realm, w.key, now);
      if (expectVersion !== undefined && (cur ? cur.version : 0) !== expectVersion) return null;
      revision ??= cur ? cur.revision + 1 : 1;
    }
    const version = ++tx.rev;
    // positional parameters: measurably cheaper than named ones on this hot path
    this.upsert.run(realm, w.key, w.value, version, revision, now, w.expiresAt ?? null, w.owner ?? null, w.will ?? null, w.will === undefined ? 0 : 1);
    return version;
  }

  delete(realm: string, key: string, expectVersion: number | undefined, now: number): boolean {
    const row = this.get1.get(realm, key) as Row | undefined;
    if (!row) return false;
    if (!isLive(row.expires_at, now)) {
      this.del.run(realm, key);
      return false;
    }
    if (expectVersion !== undefined && row.version !== expectVersion) return false;
    this.del.run(realm, key);
    return true;
  }

  listWills(realm: string, owner: string | undefined, now: number): RetainedRecord[] {
    const rows = (owner === undefined ? this.wills.all({ realm, now }) : this.willsOf.all({ realm, owner, now })) as Row[];
    return rows.map(toRecord);
  }

  sweep(now: number): number {
    return this.sweepStmt.run(now).changes;
  }
}

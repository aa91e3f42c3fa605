// SQLite engine: esub stored replies (kept for GET /rsub until taken or expired).
import type Database from 'better-sqlite3';

export class SqliteReplies {
  private readonly insert: Database.Statement;
  private readonly select: Database.Statement;
  private readonly drop: Database.Statement;
  private readonly sweepStmt: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare('INSERT INTO replies (realm, key, value, expires_at) VALUES (?, ?, ?, ?)');
    this.select = db.prepare('SELECT value FROM replies WHERE realm = ? AND key = ? AND expires_at > ? ORDER BY id').pluck();
    this.drop = db.prepare('DELETE FROM replies WHERE realm = ? AND key = ?');
    this.sweepStmt = db.prepare('DELETE FROM replies WHERE expires_at <= ?');
  }

  store(realm: string, key: string, value: Uint8Array, expiresAt: number): void {
    this.insert.run(realm, key, value, expiresAt);
  }

  take(realm: string, key: string, now: number): Uint8Array[] {
    const values = this.select.all(realm, key, now) as Buffer[];
    this.drop.run(realm, key);
    return values;
  }

  sweep(now: number): number {
    return this.sweepStmt.run(now).changes;
  }
}

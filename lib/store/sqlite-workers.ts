// SQLite engine: hustmq worker records (name → last get), expiring after 512 s, at most 1024 per queue.
import type Database from 'better-sqlite3';
import type { WorkerRecord } from '../core/store.ts';
import { QUEUE_MAX_WORKERS, QUEUE_WORKER_TTL_MS } from '../core/store.ts';

export class SqliteWorkers {
  private readonly update: Database.Statement;
  private readonly insert: Database.Statement;
  private readonly expireQueue: Database.Statement;
  private readonly count: Database.Statement;
  private readonly evictOldest: Database.Statement;
  private readonly list: Database.Statement;
  private readonly dropStmt: Database.Statement;
  private readonly sweepStmt: Database.Statement;

  constructor(db: Database.Database) {
    this.update = db.prepare('UPDATE queue_workers SET seen_at = ? WHERE realm = ? AND queue = ? AND name = ?');
    this.insert = db.prepare('INSERT INTO queue_workers (realm, queue, name, seen_at) VALUES (?, ?, ?, ?)');
    this.expireQueue = db.prepare('DELETE FROM queue_workers WHERE realm = ? AND queue = ? AND seen_at <= ?');
    this.count = db.prepare('SELECT count(*) FROM queue_workers WHERE realm = ? AND queue = ?').pluck();
    this.evictOldest = db.prepare(
      `DELETE FROM queue_workers WHERE realm = @realm AND queue = @queue AND name = (
         SELECT name FROM queue_workers WHERE realm = @realm AND queue = @queue ORDER BY seen_at, name LIMIT 1)`,
    );
    this.list = db.prepare('SELECT name, seen_at FROM queue_workers WHERE realm = ? AND queue = ? AND seen_at > ? ORDER BY name');
    this.dropStmt = db.prepare('DELETE FROM queue_workers WHERE realm = ? AND queue = ?');
    this.sweepStmt = db.prepare('DELETE FROM queue_workers WHERE seen_at <= ?');
  }

  /** Caller has checked that the queue exists. */
  touch(realm: string, queue: string, name: string, now: number): void {
    if (this.update.run(now, realm, queue, name).changes > 0) return;
    if ((this.count.get(realm, queue) as number) >= QUEUE_MAX_WORKERS) {
      this.expireQueue.run(realm, queue, now - QUEUE_WORKER_TTL_MS);
      if ((this.count.get(realm, queue) as number) >= QUEUE_MAX_WORKERS) this.evictOldest.run({ realm, queue });
    }
    this.insert.run(realm, queue, name, now);
  }

  listLive(realm: string, queue: string, now: number): WorkerRecord[] {
    const rows = this.list.all(realm, queue, now - QUEUE_WORKER_TTL_MS) as { name: string; seen_at: number }[];
    return rows.map((r) => ({ name: r.name, seenAt: r.seen_at }));
  }

  drop(realm: string, queue: string): void {
    this.dropStmt.run(realm, queue);
  }

  sweep(now: number): number {
    return this.sweepStmt.run(now - QUEUE_WORKER_TTL_MS).changes;
  }
}

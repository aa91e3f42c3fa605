// SQLite engine: hustmq worker records (name → last get), expiring after 512 s, at most 1024 per queue.
// Touches are coalesced per transaction: a worker's first touch in a transaction writes its row,
// later ones only remember the time, written once before COMMIT (GroupCommit hook). Everything
// that reads or deletes rows writes the remembered times first, so the database is exact whenever
// it is looked at, and every touch is committed before its operation's promise resolves.
import type Database from 'better-sqlite3';
import type { WorkerRecord } from '../core/store.ts';
import { QUEUE_MAX_WORKERS, QUEUE_WORKER_TTL_MS } from '../core/store.ts';
import type { TxHook } from './sqlite-batch.ts';

interface PendingTouch {
  realm: string;
  queue: string;
  name: string;
  /** Time of the last touch in this transaction. */
  now: number;
  /** Time the row holds. */
  written: number;
}

export class SqliteWorkers implements TxHook {
  /** Workers touched in the current transaction, by realm NUL queue NUL name. */
  private readonly pending = new Map<string, PendingTouch>();
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

  /** Caller has checked that the queue exists. Inside a transaction. */
  touch(realm: string, queue: string, name: string, now: number): void {
    const key = `${realm}\0${queue}\0${name}`;
    const p = this.pending.get(key);
    if (p) {
      p.now = now;
      return;
    }
    if (this.update.run(now, realm, queue, name).changes === 0) {
      if ((this.count.get(realm, queue) as number) >= QUEUE_MAX_WORKERS) {
        // rows are about to be deleted: make them exact first (rare: a full worker table)
        this.beforeCommit();
        this.expireQueue.run(realm, queue, now - QUEUE_WORKER_TTL_MS);
        if ((this.count.get(realm, queue) as number) >= QUEUE_MAX_WORKERS) this.evictOldest.run({ realm, queue });
      }
      this.insert.run(realm, queue, name, now);
    }
    this.pending.set(key, { realm, queue, name, now, written: now });
  }

  /** Writes the touch times remembered in this transaction. */
  beforeCommit(): void {
    if (this.pending.size === 0) return;
    for (const p of this.pending.values()) if (p.now !== p.written) this.update.run(p.now, p.realm, p.queue, p.name);
    this.pending.clear();
  }

  afterRollback(): void {
    this.pending.clear();
  }

  listLive(realm: string, queue: string, now: number): WorkerRecord[] {
    this.beforeCommit();
    const rows = this.list.all(realm, queue, now - QUEUE_WORKER_TTL_MS) as { name: string; seen_at: number }[];
    return rows.map((r) => ({ name: r.name, seenAt: r.seen_at }));
  }

  drop(realm: string, queue: string): void {
    this.beforeCommit();
    this.dropStmt.run(realm, queue);
  }

  sweep(now: number): number {
    this.beforeCommit();
    return this.sweepStmt.run(now - QUEUE_WORKER_TTL_MS).changes;
  }
}

// SQLite engine: hustmq durable queues. Items live in queue_items (ready: delivered_at NULL;
// unacked: delivered_at = time of the last delivery); the queue row keeps the counters that
// stat needs, updated in the same transaction, so stat_all costs one row per queue.
//
// The queue rows are also kept in memory (this process owns the database: locking_mode is
// EXCLUSIVE), loaded per realm on first use, so an operation does not select its row: a put is
// one INSERT, a get one DELETE ... RETURNING (UPDATE for ack=false). A changed row is written
// once per transaction, before COMMIT (GroupCommit hook), so every change is committed before
// the operation's promise resolves; a ROLLBACK drops the cache, which is reloaded from the
// database.
//
// Puts are written together: put() only queues its row, and the queued rows go in with multi-row
// INSERTs (up to MAX_ROWS per statement) before anything that reads the items and before COMMIT.
// One statement per item cost about as much as the rest of SQLite's work on a put.
//
// A get with ack reads the next ready item past the ones already taken in this transaction (an
// index seek) and remembers the last id taken per priority; the taken items are deleted with one
// range DELETE per queue and priority before COMMIT. Within a priority, the items taken are
// exactly the ready ones up to that id: gets take the ready items in id order, and a put's id is
// larger than every id ever used (AUTOINCREMENT). Anything else that looks at the ready items
// (ack=false gets, purge) deletes the queue's taken items first.
//
// An item of up to TEXT_MAX bytes that is valid UTF-8 is stored as TEXT (the column has no type
// affinity): reading it makes a JS string, which costs about half a microsecond less than the
// Buffer a BLOB makes, and a string is what the hustmq reply sends anyway.
import { isUtf8 } from 'node:buffer';
import type Database from 'better-sqlite3';
import type { QueueGetOptions, QueueItem, QueuePriority, QueuePutResult, QueueStat } from '../core/store.ts';
import { QUEUE_DEFAULT_TIMEOUT_MS, formatQueueToken, parseQueueToken } from '../core/store.ts';
import type { EngineConfig } from './common.ts';
import type { TxHook } from './sqlite-batch.ts';
import { SqliteWorkers } from './sqlite-workers.ts';

interface QueueRow {
  realm: string;
  name: string;
  created_at: number;
  timeout_ms: number;
  locked: number;
  max: number;
  ready0: number;
  ready1: number;
  ready2: number;
  unacked: number;
  si: number;
  ci: number;
}

interface ItemRow {
  id: number;
  priority: QueuePriority;
  value: Buffer | string;
  delivered_at: number | null;
}

function toStat(r: QueueRow): QueueStat {
  return {
    queue: r.name,
    ready: [r.ready0, r.ready1, r.ready2],
    unacked: r.unacked,
    max: r.max,
    locked: r.locked !== 0,
    timeoutMs: r.timeout_ms,
    si: r.si,
    ci: r.ci,
    createdAt: r.created_at,
  };
}

const readyTotal = (q: QueueRow): number => q.ready0 + q.ready1 + q.ready2;

/** Rows per INSERT statement at most; smaller batches take the power-of-two sizes below it. */
const MAX_ROWS = 32;
const PARAMS_PER_ROW = 4;

const TEXT_MAX = 4096;

/** How an item is stored: small UTF-8 text as a string (TEXT), anything else as bytes (BLOB). */
function storedValue(value: Uint8Array): Uint8Array | string {
  return value.length <= TEXT_MAX && isUtf8(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString() : value;
}

export class SqliteQueues implements TxHook {
  readonly workers: SqliteWorkers;
  /** Queue rows of the realms loaded so far (each realm's map holds all its queues). */
  private readonly cache = new Map<string, Map<string, QueueRow>>();
  /** Rows changed in the current transaction, written before COMMIT. */
  private readonly dirty = new Set<QueueRow>();
  /** Per queue, the last id taken (and not yet deleted) in this transaction per priority; 0 = none. */
  private readonly taken = new Map<QueueRow, [number, number, number]>();
  /** Items put in the current transaction and not yet inserted: realm, queue, priority, value per item. */
  private unwritten: unknown[] = [];
  /** INSERT statements by row count (powers of two up to MAX_ROWS). */
  private readonly insertRows = new Map<number, Database.Statement>();
  private readonly nextAfter: Database.Statement;
  private readonly deleteTaken: Database.Statement;
  private readonly findAll: Database.Statement;
  private readonly create: Database.Statement;
  private readonly saveCounters: Database.Statement;
  private readonly setTimeoutStmt: Database.Statement;
  private readonly setLockStmt: Database.Statement;
  private readonly setMaxStmt: Database.Statement;
  private readonly dropQueue: Database.Statement;
  private readonly deliverReady: Database.Statement;
  private readonly oldestUnacked: Database.Statement;
  private readonly deleteItem: Database.Statement;
  private readonly markDelivered: Database.Statement;
  private readonly ackItem: Database.Statement;
  private readonly purgeReady: Database.Statement;
  private readonly dropItems: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly config: EngineConfig,
  ) {
    this.workers = new SqliteWorkers(db);
    this.findAll = db.prepare('SELECT * FROM queues WHERE realm = ? ORDER BY name');
    this.create = db.prepare('INSERT INTO queues (realm, name, created_at, timeout_ms) VALUES (?, ?, ?, ?)');
    this.saveCounters = db.prepare(
      `UPDATE queues SET ready0 = @ready0, ready1 = @ready1, ready2 = @ready2, unacked = @unacked, si = @si, ci = @ci
       WHERE realm = @realm AND name = @name`,
    );
    this.setTimeoutStmt = db.prepare('UPDATE queues SET timeout_ms = ? WHERE realm = ? AND name = ?');
    this.setLockStmt = db.prepare('UPDATE queues SET locked = ? WHERE realm = ? AND name = ?');
    this.setMaxStmt = db.prepare('UPDATE queues SET max = ? WHERE realm = ? AND name = ?');
    this.dropQueue = db.prepare('DELETE FROM queues WHERE realm = ? AND name = ?');
    const nextReady = `SELECT id FROM queue_items
       WHERE realm = @realm AND queue = @queue AND delivered_at IS NULL ORDER BY priority DESC, id LIMIT 1`;
    // all changes of a DML statement with RETURNING happen at its first step: get() is complete
    this.deliverReady = db.prepare(`UPDATE queue_items SET delivered_at = @now WHERE id = (${nextReady}) RETURNING id, priority, value`);
    this.oldestUnacked = db.prepare(
      `SELECT id, priority, value, delivered_at FROM queue_items
       WHERE realm = ? AND queue = ? AND delivered_at IS NOT NULL ORDER BY delivered_at, id LIMIT 1`,
    );
    this.nextAfter = db.prepare(
      `SELECT id, priority, value FROM queue_items
       WHERE realm = ? AND queue = ? AND priority = ? AND delivered_at IS NULL AND id > ? ORDER BY id LIMIT 1`,
    );
    this.deleteTaken = db.prepare('DELETE FROM queue_items WHERE realm = ? AND queue = ? AND priority = ? AND delivered_at IS NULL AND id <= ?');
    this.deleteItem = db.prepare('DELETE FROM queue_items WHERE id = ?');
    this.markDelivered = db.prepare('UPDATE queue_items SET delivered_at = ? WHERE id = ?');
    this.ackItem = db.prepare(
      `DELETE FROM queue_items WHERE id = ? AND realm = ? AND queue = ? AND priority = ? AND delivered_at IS NOT NULL`,
    );
    this.purgeReady = db.prepare('DELETE FROM queue_items WHERE realm = ? AND queue = ? AND priority = ? AND delivered_at IS NULL');
    this.dropItems = db.prepare('DELETE FROM queue_items WHERE realm = ? AND queue = ?');
  }

  /** The realm's queues (loaded on first use). */
  private realmRows(realm: string): Map<string, QueueRow> {
    let rows = this.cache.get(realm);
    if (!rows) {
      rows = new Map();
      for (const r of this.findAll.all(realm) as QueueRow[]) rows.set(r.name, r);
      this.cache.set(realm, rows);
    }
    return rows;
  }

  private row(realm: string, name: string): QueueRow | undefined {
    return this.realmRows(realm).get(name);
  }

  private save(q: QueueRow): void {
    this.dirty.add(q);
  }

  /** Deletes the items taken from the queue in this transaction. */
  private deleteTakenOf(q: QueueRow): void {
    const last = this.taken.get(q);
    if (!last) return;
    this.taken.delete(q);
    for (let p = 0; p < 3; p++) if (last[p] > 0) this.deleteTaken.run(q.realm, q.name, p, last[p]);
  }

  /** Inserts the items put so far in this transaction, in put order (so in id order). */
  private writeItems(): void {
    const params = this.unwritten;
    if (params.length === 0) return;
    this.unwritten = [];
    let off = 0;
    let rows = params.length / PARAMS_PER_ROW;
    for (let size = MAX_ROWS; rows > 0; size >>= 1) {
      while (rows >= size) {
        this.insertStatement(size).run(params.slice(off, off + size * PARAMS_PER_ROW));
        off += size * PARAMS_PER_ROW;
        rows -= size;
      }
    }
  }

  private insertStatement(rows: number): Database.Statement {
    let stmt = this.insertRows.get(rows);
    if (!stmt) {
      stmt = this.db.prepare(`INSERT INTO queue_items (realm, queue, priority, value) VALUES ${new Array(rows).fill('(?, ?, ?, ?)').join(', ')}`);
      this.insertRows.set(rows, stmt);
    }
    return stmt;
  }

  /** Inserts the items put, deletes the items taken and writes the rows changed in this transaction. */
  beforeCommit(): void {
    this.writeItems();
    for (const q of this.taken.keys()) this.deleteTakenOf(q);
    if (this.dirty.size === 0) return;
    for (const q of this.dirty) this.saveCounters.run(q);
    this.dirty.clear();
  }

  afterRollback(): void {
    this.unwritten = [];
    this.cache.clear();
    this.dirty.clear();
    this.taken.clear();
  }

  put(realm: string, name: string, value: Uint8Array, priority: QueuePriority, now: number): QueuePutResult {
    const rows = this.realmRows(realm);
    let q = rows.get(name);
    if (!q) {
      if (rows.size >= this.config.maxQueues) return 'too_many_queues';
      this.create.run(realm, name, now, QUEUE_DEFAULT_TIMEOUT_MS);
      q = { realm, name, created_at: now, timeout_ms: QUEUE_DEFAULT_TIMEOUT_MS, locked: 0, max: 0, ready0: 0, ready1: 0, ready2: 0, unacked: 0, si: 0, ci: 0 };
      rows.set(name, q);
    }
    if (q.locked) return 'locked';
    const ready = readyTotal(q);
    if ((q.max > 0 && ready >= q.max) || ready + q.unacked >= this.config.maxQueueItems) return 'full';
    this.unwritten.push(realm, name, priority, storedValue(value));
    if (priority === 0) {
      q.ready0++;
      q.ci++;
    } else if (priority === 1) q.ready1++;
    else q.ready2++;
    this.save(q);
    return 'ok';
  }

  get(realm: string, name: string, opts: QueueGetOptions, now: number): QueueItem | null {
    const q = this.row(realm, name);
    if (!q) return null;
    this.writeItems();
    if (opts.worker !== undefined) this.workers.touch(realm, name, opts.worker, now);
    const ack = opts.ack !== false;
    if (q.unacked > 0) {
      const old = this.oldestUnacked.get(realm, name) as ItemRow | undefined;
      if (old && now - (old.delivered_at as number) >= q.timeout_ms) {
        if (ack) {
          this.deleteItem.run(old.id);
          q.unacked--;
          this.save(q);
          return { value: old.value, priority: old.priority, redelivered: true };
        }
        this.markDelivered.run(now, old.id);
        return { value: old.value, priority: old.priority, token: formatQueueToken(old.priority, old.id), redelivered: true };
      }
    }
    if (readyTotal(q) === 0) return null;
    let item: ItemRow | undefined;
    if (ack) {
      const p = q.ready2 > 0 ? 2 : q.ready1 > 0 ? 1 : 0;
      let last = this.taken.get(q);
      item = this.nextAfter.get(realm, name, p, last ? last[p] : 0) as ItemRow | undefined;
      if (!item) return null;
      if (!last) this.taken.set(q, (last = [0, 0, 0]));
      last[p] = item.id;
    } else {
      this.deleteTakenOf(q);
      item = this.deliverReady.get({ realm, queue: name, now }) as ItemRow | undefined;
      if (!item) return null;
    }
    if (item.priority === 0) {
      q.ready0--;
      q.si++;
    } else if (item.priority === 1) q.ready1--;
    else q.ready2--;
    if (!ack) q.unacked++;
    this.save(q);
    const out: QueueItem = { value: item.value, priority: item.priority, redelivered: false };
    if (!ack) out.token = formatQueueToken(item.priority, item.id);
    return out;
  }

  ack(realm: string, name: string, token: string): boolean {
    const t = parseQueueToken(token);
    if (!t) return false;
    const q = this.row(realm, name);
    if (!q) return false;
    if (this.ackItem.run(t.seq, realm, name, t.priority).changes === 0) return false;
    q.unacked--;
    this.save(q);
    return true;
  }

  setTimeout(realm: string, name: string, timeoutMs: number): boolean {
    const q = this.row(realm, name);
    if (!q) return false;
    this.setTimeoutStmt.run(timeoutMs, realm, name);
    q.timeout_ms = timeoutMs;
    return true;
  }

  setLock(realm: string, name: string, locked: boolean): boolean {
    const q = this.row(realm, name);
    if (!q) return false;
    this.setLockStmt.run(locked ? 1 : 0, realm, name);
    q.locked = locked ? 1 : 0;
    return true;
  }

  setMax(realm: string, name: string, max: number): boolean {
    const q = this.row(realm, name);
    if (!q) return false;
    this.setMaxStmt.run(max, realm, name);
    q.max = max;
    return true;
  }

  purge(realm: string, name: string, priority: QueuePriority | undefined): boolean {
    const q = this.row(realm, name);
    if (!q) return false;
    this.writeItems();
    this.deleteTakenOf(q);
    for (const p of priority === undefined ? [0, 1, 2] : [priority]) {
      this.purgeReady.run(realm, name, p);
      if (p === 0) {
        q.ready0 = 0;
        q.si = q.ci;
      } else if (p === 1) q.ready1 = 0;
      else q.ready2 = 0;
    }
    if (readyTotal(q) === 0) {
      this.dropItems.run(realm, name);
      this.workers.drop(realm, name);
      this.dropQueue.run(realm, name);
      this.realmRows(realm).delete(name);
      this.dirty.delete(q);
      this.taken.delete(q);
    } else this.save(q);
    return true;
  }

  stat(realm: string, name: string): QueueStat | null {
    const q = this.row(realm, name);
    return q ? toStat(q) : null;
  }

  /** Ordered by name as SQLite orders it (byte order of the UTF-8). */
  statAll(realm: string): QueueStat[] {
    if (this.realmRows(realm).size === 0) return [];
    this.beforeCommit();
    return (this.findAll.all(realm) as QueueRow[]).map(toStat);
  }

  /** True when the queue exists. */
  exists(realm: string, name: string): boolean {
    return this.row(realm, name) !== undefined;
  }
}

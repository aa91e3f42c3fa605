// SQLite engine: hustmq durable queues. Ready items live in queue_items, a WITHOUT ROWID table
// clustered by (queue id, priority, item id): a put of a small item writes one b-tree, and a get
// reads the next entry of it. Values over QUEUE_INLINE_MAX bytes are kept in queue_values by item
// id (inserted at put time, one statement each). Items served with ack=false move to
// queue_unacked until acknowledged (or served again after the timeout). The queue row keeps the
// counters that stat needs, updated in the same transaction, so stat_all costs one row per queue.
//
// The queue rows are also kept in memory (this process owns the database: locking_mode is
// EXCLUSIVE), loaded per realm on first use, so an operation does not select its row. A changed
// row is written once per transaction, before COMMIT (GroupCommit hook), so every change is
// committed before the operation's promise resolves; a ROLLBACK drops the cache, which is
// reloaded from the database.
//
// Item ids are assigned here, in put order, and never reused: meta 'queue_id' holds a bound above
// every id handed out; an id that passes it moves it to that id + ID_BLOCK (in the transaction of
// that put), so a stale ack token can never name a newer item, even after a restart.
//
// Puts are written together: put() queues its queue_items row, and the queued rows go in with
// multi-row INSERTs (up to MAX_ROWS per statement) before anything that reads the items and before
// COMMIT.
// One statement per item cost about as much as the rest of SQLite's work on a put.
//
// A get with ack reads the next ready item past the ones already taken in this transaction (a
// seek in the clustered table) and remembers the last id taken per priority; the taken items are
// deleted with one range DELETE per queue and priority before COMMIT. Within a priority, the items
// taken are exactly the ready ones up to that id: gets take the ready items in id order, and a
// put's id is larger than every id used before. Anything else that looks at the ready items
// (ack=false gets, purge) deletes the queue's taken items first.
//
// An item of up to TEXT_MAX bytes that is valid UTF-8 is stored as TEXT (the value columns have no
// type affinity): reading it makes a JS string, which costs about half a microsecond less than the
// Buffer a BLOB makes, and a string is what the hustmq reply sends anyway.
import { isUtf8 } from 'node:buffer';
import type Database from 'better-sqlite3';
import type { QueueGetOptions, QueueItem, QueuePriority, QueuePutResult, QueueStat } from '../core/store.ts';
import { QUEUE_DEFAULT_TIMEOUT_MS, formatQueueToken, parseQueueToken } from '../core/store.ts';
import type { EngineConfig } from './common.ts';
import type { TxHook } from './sqlite-batch.ts';
import { QUEUE_INLINE_MAX } from './sqlite-schema.ts';
import { SqliteWorkers } from './sqlite-workers.ts';

interface QueueRow {
  qid: number;
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

/** A ready item; value is null when it is kept in queue_values. */
interface ReadyRow {
  id: number;
  value: Buffer | string | null;
}

interface UnackedRow {
  id: number;
  priority: QueuePriority;
  delivered_at: number;
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

/** The priority a get serves next: the highest with ready items. */
const nextPriority = (q: QueueRow): QueuePriority => (q.ready2 > 0 ? 2 : q.ready1 > 0 ? 1 : 0);

/** Rows per INSERT statement at most; smaller batches take the power-of-two sizes below it. */
const MAX_ROWS = 32;
const PARAMS_PER_ROW = 4;

const TEXT_MAX = 4096;

/** How far meta 'queue_id' is moved past the id that reached it. */
const ID_BLOCK = 65536;

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
  /** Items put in the current transaction and not yet inserted: qid, priority, id, value per item. */
  private unwritten: unknown[] = [];
  /** Last item id handed out, and the mark in meta 'queue_id' (as of this transaction). */
  private lastId: number;
  private idMark: number;
  /** INSERT statements by row count (powers of two up to MAX_ROWS). */
  private readonly insertRows = new Map<number, Database.Statement>();
  private readonly saveMark: Database.Statement;
  private readonly findAll: Database.Statement;
  private readonly create: Database.Statement;
  private readonly saveCounters: Database.Statement;
  private readonly setTimeoutStmt: Database.Statement;
  private readonly setLockStmt: Database.Statement;
  private readonly setMaxStmt: Database.Statement;
  private readonly dropQueue: Database.Statement;
  private readonly nextAfter: Database.Statement;
  private readonly deleteTaken: Database.Statement;
  private readonly deleteReady: Database.Statement;
  private readonly insertValue: Database.Statement;
  private readonly takeValue: Database.Statement;
  private readonly deleteValuesOf: Database.Statement;
  private readonly purgeReady: Database.Statement;
  private readonly insertUnacked: Database.Statement;
  private readonly oldestUnacked: Database.Statement;
  private readonly unackedValue: Database.Statement;
  private readonly deleteUnacked: Database.Statement;
  private readonly markDelivered: Database.Statement;
  private readonly ackItem: Database.Statement;
  private readonly dropUnacked: Database.Statement;
  private readonly dropValues: Database.Statement;
  private readonly dropItems: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly config: EngineConfig,
  ) {
    this.workers = new SqliteWorkers(db);
    this.saveMark = db.prepare("UPDATE meta SET v = ? WHERE k = 'queue_id'");
    this.idMark = Number(db.prepare("SELECT v FROM meta WHERE k = 'queue_id'").pluck().get());
    this.lastId = this.idMark;
    this.findAll = db.prepare('SELECT * FROM queues WHERE realm = ? ORDER BY name');
    this.create = db.prepare('INSERT INTO queues (realm, name, created_at, timeout_ms) VALUES (?, ?, ?, ?)');
    this.saveCounters = db.prepare(
      `UPDATE queues SET ready0 = @ready0, ready1 = @ready1, ready2 = @ready2, unacked = @unacked, si = @si, ci = @ci
       WHERE qid = @qid`,
    );
    this.setTimeoutStmt = db.prepare('UPDATE queues SET timeout_ms = ? WHERE qid = ?');
    this.setLockStmt = db.prepare('UPDATE queues SET locked = ? WHERE qid = ?');
    this.setMaxStmt = db.prepare('UPDATE queues SET max = ? WHERE qid = ?');
    this.dropQueue = db.prepare('DELETE FROM queues WHERE qid = ?');
    this.nextAfter = db.prepare('SELECT id, value FROM queue_items WHERE qid = ? AND priority = ? AND id > ? ORDER BY id LIMIT 1');
    this.deleteTaken = db.prepare('DELETE FROM queue_items WHERE qid = ? AND priority = ? AND id <= ?');
    this.deleteReady = db.prepare('DELETE FROM queue_items WHERE qid = ? AND priority = ? AND id = ?');
    this.insertValue = db.prepare('INSERT INTO queue_values (id, value) VALUES (?, ?)');
    this.takeValue = db.prepare('DELETE FROM queue_values WHERE id = ? RETURNING value').pluck();
    this.deleteValuesOf = db.prepare(
      'DELETE FROM queue_values WHERE id IN (SELECT id FROM queue_items WHERE qid = ? AND priority = ? AND value IS NULL)',
    );
    this.purgeReady = db.prepare('DELETE FROM queue_items WHERE qid = ? AND priority = ?');
    this.insertUnacked = db.prepare('INSERT INTO queue_unacked (id, qid, priority, value, delivered_at) VALUES (?, ?, ?, ?, ?)');
    this.oldestUnacked = db.prepare('SELECT id, priority, delivered_at FROM queue_unacked WHERE qid = ? ORDER BY delivered_at, id LIMIT 1');
    this.unackedValue = db.prepare('SELECT value FROM queue_unacked WHERE id = ?').pluck();
    this.deleteUnacked = db.prepare('DELETE FROM queue_unacked WHERE id = ?');
    this.markDelivered = db.prepare('UPDATE queue_unacked SET delivered_at = ? WHERE id = ?');
    this.ackItem = db.prepare('DELETE FROM queue_unacked WHERE id = ? AND qid = ? AND priority = ?');
    this.dropUnacked = db.prepare('DELETE FROM queue_unacked WHERE qid = ?');
    this.dropValues = db.prepare('DELETE FROM queue_values WHERE id IN (SELECT id FROM queue_items WHERE qid = ? AND value IS NULL)');
    this.dropItems = db.prepare('DELETE FROM queue_items WHERE qid = ?');
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

  /** The next item id; moves the mark in meta first when the id passes it. */
  private nextId(): number {
    const id = ++this.lastId;
    if (id > this.idMark) {
      this.idMark = id + ID_BLOCK;
      this.saveMark.run(this.idMark);
    }
    return id;
  }

  /** Deletes the items taken from the queue in this transaction. */
  private deleteTakenOf(q: QueueRow): void {
    const last = this.taken.get(q);
    if (!last) return;
    this.taken.delete(q);
    for (let p = 0; p < 3; p++) if (last[p] > 0) this.deleteTaken.run(q.qid, p, last[p]);
  }

  /** Inserts the items put so far in this transaction. */
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
      stmt = this.db.prepare(`INSERT INTO queue_items (qid, priority, id, value) VALUES ${new Array(rows).fill('(?, ?, ?, ?)').join(', ')}`);
      this.insertRows.set(rows, stmt);
    }
    return stmt;
  }

  /** The value of a ready item read from queue_items, taking it out of queue_values when kept there. */
  private valueOf(item: ReadyRow): Buffer | string {
    return item.value ?? (this.takeValue.get(item.id) as Buffer | string);
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
    // Ids handed out stay used (rolled back, never seen). The mark written in this transaction is
    // gone: the next put writes a new one, above every earlier mark (each was an earlier id plus
    // ID_BLOCK). Not read back here: a rollback may follow an I/O error that a read would meet too.
    this.idMark = -1;
  }

  put(realm: string, name: string, value: Uint8Array, priority: QueuePriority, now: number): QueuePutResult {
    const rows = this.realmRows(realm);
    let q = rows.get(name);
    if (!q) {
      if (rows.size >= this.config.maxQueues) return 'too_many_queues';
      const qid = Number(this.create.run(realm, name, now, QUEUE_DEFAULT_TIMEOUT_MS).lastInsertRowid);
      q = { qid, realm, name, created_at: now, timeout_ms: QUEUE_DEFAULT_TIMEOUT_MS, locked: 0, max: 0, ready0: 0, ready1: 0, ready2: 0, unacked: 0, si: 0, ci: 0 };
      rows.set(name, q);
    }
    if (q.locked) return 'locked';
    const ready = readyTotal(q);
    if ((q.max > 0 && ready >= q.max) || ready + q.unacked >= this.config.maxQueueItems) return 'full';
    const id = this.nextId();
    const stored = storedValue(value);
    if (value.length <= QUEUE_INLINE_MAX) this.unwritten.push(q.qid, priority, id, stored);
    else {
      this.insertValue.run(id, stored);
      this.unwritten.push(q.qid, priority, id, null);
    }
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
      const old = this.oldestUnacked.get(q.qid) as UnackedRow | undefined;
      if (old && now - old.delivered_at >= q.timeout_ms) {
        const value = this.unackedValue.get(old.id) as Buffer | string;
        if (ack) {
          this.deleteUnacked.run(old.id);
          q.unacked--;
          this.save(q);
          return { value, priority: old.priority, redelivered: true };
        }
        this.markDelivered.run(now, old.id);
        return { value, priority: old.priority, token: formatQueueToken(old.priority, old.id), redelivered: true };
      }
    }
    if (!ack) this.deleteTakenOf(q);
    let last = this.taken.get(q);
    let p: QueuePriority;
    let item: ReadyRow | undefined;
    for (;;) {
      if (readyTotal(q) === 0) return null;
      p = nextPriority(q);
      item = this.nextAfter.get(q.qid, p, last ? last[p] : 0) as ReadyRow | undefined;
      if (item) break;
      // The counter says ready, the table has nothing: trust the table (never expected; a get
      // must not answer "no message" while another priority holds items).
      this.clearReady(q, p);
    }
    let value: Buffer | string;
    if (ack) {
      if (!last) this.taken.set(q, (last = [0, 0, 0]));
      last[p] = item.id;
      value = this.valueOf(item);
    } else {
      this.deleteReady.run(q.qid, p, item.id);
      value = this.valueOf(item);
      this.insertUnacked.run(item.id, q.qid, p, value, now);
      q.unacked++;
    }
    if (p === 0) {
      q.ready0--;
      q.si++;
    } else if (p === 1) q.ready1--;
    else q.ready2--;
    this.save(q);
    const out: QueueItem = { value, priority: p, redelivered: false };
    if (!ack) out.token = formatQueueToken(p, item.id);
    return out;
  }

  private clearReady(q: QueueRow, p: QueuePriority): void {
    if (p === 0) q.ready0 = 0;
    else if (p === 1) q.ready1 = 0;
    else q.ready2 = 0;
    this.save(q);
  }

  ack(realm: string, name: string, token: string): boolean {
    const t = parseQueueToken(token);
    if (!t) return false;
    const q = this.row(realm, name);
    if (!q) return false;
    if (this.ackItem.run(t.seq, q.qid, t.priority).changes === 0) return false;
    q.unacked--;
    this.save(q);
    return true;
  }

  setTimeout(realm: string, name: string, timeoutMs: number): boolean {
    const q = this.row(realm, name);
    if (!q) return false;
    this.setTimeoutStmt.run(timeoutMs, q.qid);
    q.timeout_ms = timeoutMs;
    return true;
  }

  setLock(realm: string, name: string, locked: boolean): boolean {
    const q = this.row(realm, name);
    if (!q) return false;
    this.setLockStmt.run(locked ? 1 : 0, q.qid);
    q.locked = locked ? 1 : 0;
    return true;
  }

  setMax(realm: string, name: string, max: number): boolean {
    const q = this.row(realm, name);
    if (!q) return false;
    this.setMaxStmt.run(max, q.qid);
    q.max = max;
    return true;
  }

  purge(realm: string, name: string, priority: QueuePriority | undefined): boolean {
    const q = this.row(realm, name);
    if (!q) return false;
    this.writeItems();
    this.deleteTakenOf(q);
    for (const p of priority === undefined ? [0, 1, 2] : [priority]) {
      this.deleteValuesOf.run(q.qid, p);
      this.purgeReady.run(q.qid, p);
      if (p === 0) {
        q.ready0 = 0;
        q.si = q.ci;
      } else if (p === 1) q.ready1 = 0;
      else q.ready2 = 0;
    }
    if (readyTotal(q) === 0) {
      // Nothing is ready, so queue_items and queue_values should hold nothing of it; they are
      // cleared anyway, as the next queue created may get this qid.
      this.dropValues.run(q.qid);
      this.dropItems.run(q.qid);
      this.dropUnacked.run(q.qid);
      this.workers.drop(realm, name);
      this.dropQueue.run(q.qid);
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

// SQLite engine: hustmq durable queues. Items live in queue_items (ready: delivered_at NULL;
// unacked: delivered_at = time of the last delivery); the queue row keeps the counters that
// stat needs, updated in the same transaction, so stat_all costs one row per queue.
import type Database from 'better-sqlite3';
import type { QueueGetOptions, QueueItem, QueuePriority, QueuePutResult, QueueStat } from '../core/store.ts';
import { QUEUE_DEFAULT_TIMEOUT_MS, formatQueueToken, parseQueueToken } from '../core/store.ts';
import type { EngineConfig } from './common.ts';
import { SqliteWorkers } from './sqlite-workers.ts';

interface QueueRow {
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
  value: Buffer;
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

export class SqliteQueues {
  readonly workers: SqliteWorkers;
  private readonly find: Database.Statement;
  private readonly findAll: Database.Statement;
  private readonly countQueues: Database.Statement;
  private readonly create: Database.Statement;
  private readonly saveCounters: Database.Statement;
  private readonly setTimeoutStmt: Database.Statement;
  private readonly setLockStmt: Database.Statement;
  private readonly setMaxStmt: Database.Statement;
  private readonly dropQueue: Database.Statement;
  private readonly insertItem: Database.Statement;
  private readonly nextReady: Database.Statement;
  private readonly oldestUnacked: Database.Statement;
  private readonly deleteItem: Database.Statement;
  private readonly markDelivered: Database.Statement;
  private readonly ackItem: Database.Statement;
  private readonly purgeReady: Database.Statement;
  private readonly dropItems: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly config: EngineConfig,
  ) {
    this.workers = new SqliteWorkers(db);
    this.find = db.prepare('SELECT * FROM queues WHERE realm = ? AND name = ?');
    this.findAll = db.prepare('SELECT * FROM queues WHERE realm = ? ORDER BY name');
    this.countQueues = db.prepare('SELECT count(*) AS n FROM queues WHERE realm = ?').pluck();
    this.create = db.prepare('INSERT INTO queues (realm, name, created_at, timeout_ms) VALUES (?, ?, ?, ?)');
    this.saveCounters = db.prepare(
      `UPDATE queues SET ready0 = @ready0, ready1 = @ready1, ready2 = @ready2, unacked = @unacked, si = @si, ci = @ci
       WHERE realm = @realm AND name = @name`,
    );
    this.setTimeoutStmt = db.prepare('UPDATE queues SET timeout_ms = ? WHERE realm = ? AND name = ?');
    this.setLockStmt = db.prepare('UPDATE queues SET locked = ? WHERE realm = ? AND name = ?');
    this.setMaxStmt = db.prepare('UPDATE queues SET max = ? WHERE realm = ? AND name = ?');
    this.dropQueue = db.prepare('DELETE FROM queues WHERE realm = ? AND name = ?');
    this.insertItem = db.prepare('INSERT INTO queue_items (realm, queue, priority, value) VALUES (?, ?, ?, ?)');
    this.nextReady = db.prepare(
      `SELECT id, priority, value, delivered_at FROM queue_items
       WHERE realm = ? AND queue = ? AND delivered_at IS NULL ORDER BY priority DESC, id LIMIT 1`,
    );
    this.oldestUnacked = db.prepare(
      `SELECT id, priority, value, delivered_at FROM queue_items
       WHERE realm = ? AND queue = ? AND delivered_at IS NOT NULL ORDER BY delivered_at, id LIMIT 1`,
    );
    this.deleteItem = db.prepare('DELETE FROM queue_items WHERE id = ?');
    this.markDelivered = db.prepare('UPDATE queue_items SET delivered_at = ? WHERE id = ?');
    this.ackItem = db.prepare(
      `DELETE FROM queue_items WHERE id = ? AND realm = ? AND queue = ? AND priority = ? AND delivered_at IS NOT NULL`,
    );
    this.purgeReady = db.prepare('DELETE FROM queue_items WHERE realm = ? AND queue = ? AND priority = ? AND delivered_at IS NULL');
    this.dropItems = db.prepare('DELETE FROM queue_items WHERE realm = ? AND queue = ?');
  }

  private row(realm: string, name: string): QueueRow | undefined {
    return this.find.get(realm, name) as QueueRow | undefined;
  }

  private save(realm: string, q: QueueRow): void {
    this.saveCounters.run({ ...q, realm });
  }

  put(realm: string, name: string, value: Uint8Array, priority: QueuePriority, now: number): QueuePutResult {
    let q = this.row(realm, name);
    if (!q) {
      if ((this.countQueues.get(realm) as number) >= this.config.maxQueues) return 'too_many_queues';
      this.create.run(realm, name, now, QUEUE_DEFAULT_TIMEOUT_MS);
      q = this.row(realm, name) as QueueRow;
    }
    if (q.locked) return 'locked';
    const ready = readyTotal(q);
    if ((q.max > 0 && ready >= q.max) || ready + q.unacked >= this.config.maxQueueItems) return 'full';
    this.insertItem.run(realm, name, priority, value);
    if (priority === 0) {
      q.ready0++;
      q.ci++;
    } else if (priority === 1) q.ready1++;
    else q.ready2++;
    this.save(realm, q);
    return 'ok';
  }

  get(realm: string, name: string, opts: QueueGetOptions, now: number): QueueItem | null {
    const q = this.row(realm, name);
    if (!q) return null;
    if (opts.worker !== undefined) this.workers.touch(realm, name, opts.worker, now);
    const ack = opts.ack !== false;
    if (q.unacked > 0) {
      const old = this.oldestUnacked.get(realm, name) as ItemRow | undefined;
      if (old && now - (old.delivered_at as number) >= q.timeout_ms) {
        if (ack) {
          this.deleteItem.run(old.id);
          q.unacked--;
          this.save(realm, q);
          return { value: old.value, priority: old.priority, redelivered: true };
        }
        this.markDelivered.run(now, old.id);
        return { value: old.value, priority: old.priority, token: formatQueueToken(old.priority, old.id), redelivered: true };
      }
    }
    if (readyTotal(q) === 0) return null;
    const item = this.nextReady.get(realm, name) as ItemRow | undefined;
    if (!item) return null;
    if (item.priority === 0) {
      q.ready0--;
      q.si++;
    } else if (item.priority === 1) q.ready1--;
    else q.ready2--;
    if (ack) this.deleteItem.run(item.id);
    else {
      this.markDelivered.run(now, item.id);
      q.unacked++;
    }
    this.save(realm, q);
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
    this.save(realm, q);
    return true;
  }

  setTimeout(realm: string, name: string, timeoutMs: number): boolean {
    return this.setTimeoutStmt.run(timeoutMs, realm, name).changes > 0;
  }

  setLock(realm: string, name: string, locked: boolean): boolean {
    return this.setLockStmt.run(locked ? 1 : 0, realm, name).changes > 0;
  }

  setMax(realm: string, name: string, max: number): boolean {
    return this.setMaxStmt.run(max, realm, name).changes > 0;
  }

  purge(realm: string, name: string, priority: QueuePriority | undefined): boolean {
    const q = this.row(realm, name);
    if (!q) return false;
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
    } else this.save(realm, q);
    return true;
  }

  stat(realm: string, name: string): QueueStat | null {
    const q = this.row(realm, name);
    return q ? toStat(q) : null;
  }

  statAll(realm: string): QueueStat[] {
    return (this.findAll.all(realm) as QueueRow[]).map(toStat);
  }

  /** True when the queue exists. */
  exists(realm: string, name: string): boolean {
    return this.row(realm, name) !== undefined;
  }
}

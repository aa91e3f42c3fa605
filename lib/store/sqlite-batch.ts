// SQLite engine: group commit. Operations called in the same event-loop tick are queued and run,
// in call order, inside ONE transaction on setImmediate; every promise of the group settles after
// that COMMIT returned. A read with nothing queued ahead of it runs at once (it cannot miss a
// write: all queued writes of earlier ticks are committed before any later callback runs).
import type Database from 'better-sqlite3';
import type { DurationSink } from '../core/store.ts';
import { closedError } from './common.ts';

/** Per-transaction state an operation may change; discarded if the transaction rolls back. */
export interface Tx {
  /** Last retained revision assigned (see RetainedRecord.version). */
  rev: number;
  /** Largest history id used (SQLite keeps it in sqlite_sequence). */
  historyId: number;
}

type OpFn<T> = (tx: Tx) => T;

/**
 * Most operations per transaction. A larger backlog is committed over several event-loop turns,
 * so one burst cannot block the loop (and every socket) for long.
 */
const MAX_GROUP = 5000;

/**
 * State an engine part keeps in memory over the database (caches, writes coalesced per
 * transaction). beforeCommit writes what is still buffered, inside the transaction; afterRollback
 * forgets whatever the rolled-back operations changed in memory (it is reloaded from the database).
 */
export interface TxHook {
  beforeCommit(): void;
  afterRollback(): void;
}

interface Pending {
  fn: OpFn<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit {
  private pending: Pending[] = [];
  private scheduled = false;
  private closed = false;
  /** Committed counters. */
  private rev: number;
  private historyId: number;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly saveRev: Database.Statement;
  private readonly hooks: TxHook[] = [];
  /** Transactions committed, for metrics and tests. */
  commits = 0;
  /** Told how long each committed transaction took, BEGIN to COMMIT (store.observeCommits). */
  commitTimes: DurationSink | undefined;

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.saveRev = db.prepare("UPDATE meta SET v = ? WHERE k = 'rev'");
    this.rev = Number((db.prepare("SELECT v FROM meta WHERE k = 'rev'").get() as { v: number }).v);
    const seq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'history'").pluck().get();
    this.historyId = seq === undefined ? 0 : Number(seq);
  }

  /** Registers in-memory state to flush before each COMMIT and to drop after each ROLLBACK. */
  addHook(hook: TxHook): void {
    this.hooks.push(hook);
  }

  /** Queues an operation for the next group commit. */
  write<T>(fn: OpFn<T>): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** Runs a read now when nothing is queued, else queues it behind the writes. */
  read<T>(fn: OpFn<T>): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    if (this.pending.length > 0) return this.write(fn);
    try {
      return Promise.resolve(fn(this.tx()));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Runs everything queued in one transaction. An operation that throws is rolled back alone: the
   * transaction is rolled back, that operation is rejected and the others run again (operations
   * depend only on the database state, apart from ids, which a re-run draws anew). A failed COMMIT
   * rejects the whole group.
   */
  readonly flush = (): void => {
    this.scheduled = false;
    let batch: Pending[];
    if (this.pending.length > MAX_GROUP) {
      batch = this.pending.slice(0, MAX_GROUP);
      this.pending = this.pending.slice(MAX_GROUP);
      this.scheduled = true;
      setImmediate(this.flush);
    } else {
      batch = this.pending;
      this.pending = [];
    }
    while (batch.length > 0) {
      const tx = this.tx();
      const results: unknown[] = new Array(batch.length);
      let failed = -1;
      let failure: unknown;
      const started = performance.now();
      try {
        this.begin.run();
      } catch (err) {
        for (const op of batch) op.reject(err);
        return;
      }
      for (let i = 0; i < batch.length; i++) {
        try {
          results[i] = batch[i].fn(tx);
        } catch (err) {
          failed = i;
          failure = err;
          break;
        }
      }
      if (failed < 0) {
        try {
          for (const h of this.hooks) h.beforeCommit();
          if (tx.rev !== this.rev) this.saveRev.run(tx.rev);
          this.commit.run();
        } catch (err) {
          this.abort();
          for (const op of batch) op.reject(err);
          return;
        }
        this.commits++;
        this.commitTimes?.observe((performance.now() - started) / 1000);
        this.rev = tx.rev;
        this.historyId = tx.historyId;
        for (let i = 0; i < batch.length; i++) batch[i].resolve(results[i]);
        return;
      }
      this.abort();
      batch[failed].reject(failure);
      batch = batch.slice(0, failed).concat(batch.slice(failed + 1));
    }
  };

  private tx(): Tx {
    return { rev: this.rev, historyId: this.historyId };
  }

  private abort(): void {
    try {
      if (this.db.inTransaction) this.rollback.run();
    } catch {
      // the connection already rolled back
    }
    for (const h of this.hooks) h.afterRollback();
  }

  /** Commits what is queued, then refuses new operations. */
  close(): void {
    if (this.closed) return;
    while (this.pending.length > 0) this.flush();
    this.closed = true;
  }
}

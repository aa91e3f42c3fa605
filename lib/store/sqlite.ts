// The SQLite Store engine (default): one database file in the data directory, WAL, group commit.
// See sqlite-schema.ts for the durability reasoning and sqlite-batch.ts for group commit.
import type Database from 'better-sqlite3';
import type {
  CollectionKind,
  CollectionMember,
  CollectionOutcome,
  CollectionRange,
  CollectionTableStat,
  DurationSink,
  CollectionWrite,
  HistoryEntry,
  HistoryPrune,
  HistoryQuery,
  MqttInflight,
  MqttQueued,
  MqttSessionListing,
  MqttSessionState,
  QueueGetOptions,
  QueueItem,
  QueuePriority,
  QueuePutResult,
  QueueStat,
  RetainedRecord,
  RetainedWrite,
  Store,
  StoreOptions,
  SweepResult,
  WorkerRecord,
} from '../core/store.ts';
import type { EngineConfig } from './common.ts';
import * as check from './common.ts';
import { GroupCommit } from './sqlite-batch.ts';
import { SqliteCollections } from './sqlite-collections.ts';
import { SqliteHistory } from './sqlite-history.ts';
import { SqliteMqtt } from './sqlite-mqtt.ts';
import { SqliteQueues } from './sqlite-queues.ts';
import { SqliteReplies } from './sqlite-replies.ts';
import { SqliteRetained } from './sqlite-retained.ts';
import type { SqliteOpenOptions } from './sqlite-schema.ts';
import { openDatabase } from './sqlite-schema.ts';

export type SqliteStoreOptions = StoreOptions & SqliteOpenOptions;

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private readonly config: EngineConfig;
  private readonly db: Database.Database;
  private readonly batch: GroupCommit;
  private readonly retained: SqliteRetained;
  private readonly collections: SqliteCollections;
  private readonly history: SqliteHistory;
  private readonly queues: SqliteQueues;
  private readonly mqtt: SqliteMqtt;
  private readonly replies: SqliteReplies;

  /** Opens synchronously; throws an Error naming the path and the cause. Prefer openStore(). */
  constructor(options: SqliteStoreOptions) {
    this.config = check.engineConfig(options);
    this.db = openDatabase(options);
    try {
      this.batch = new GroupCommit(this.db);
      this.retained = new SqliteRetained(this.db);
      this.collections = new SqliteCollections(this.db);
      this.history = new SqliteHistory(this.db);
      this.queues = new SqliteQueues(this.db, this.config);
      this.batch.addHook(this.queues);
      this.batch.addHook(this.queues.workers);
      this.mqtt = new SqliteMqtt(this.db);
      this.replies = new SqliteReplies(this.db);
      // drop what expired while we were down
      const now = this.config.now();
      this.db.transaction(() => {
        this.retained.sweep(now);
        this.collections.sweep(now);
        this.replies.sweep(now);
        this.queues.workers.sweep(now);
      })();
    } catch (err) {
      this.db.close();
      throw new Error(`cannot open store at ${this.db.name}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Transactions committed so far (group commits). */
  get commits(): number {
    return this.batch.commits;
  }

  /**
   * Runs `fn` inside the next group commit. Arguments are checked by `validate` before queueing,
   * so bad input rejects alone and never costs the group a rollback.
   */
  private write<T>(fn: (now: number) => T, validate?: () => void): Promise<T> {
    try {
      validate?.();
    } catch (err) {
      return Promise.reject(err);
    }
    const now = this.config.now();
    return this.batch.write(() => fn(now));
  }

  private read<T>(fn: (now: number) => T, validate?: () => void): Promise<T> {
    try {
      validate?.();
    } catch (err) {
      return Promise.reject(err);
    }
    const now = this.config.now();
    return this.batch.read(() => fn(now));
  }

  // --- retained ---

  getRetained(realm: string, key: string): Promise<RetainedRecord | null> {
    return this.read((now) => this.retained.get(realm, key, now));
  }

  listRetained(realm: string, prefix?: string): Promise<RetainedRecord[]> {
    return this.read((now) => this.retained.list(realm, prefix, now));
  }

  putRetained(realm: string, write: RetainedWrite, expectVersion?: number): Promise<number | null> {
    try {
      check.checkRetainedWrite(write, expectVersion);
    } catch (err) {
      return Promise.reject(err);
    }
    const now = this.config.now();
    return this.batch.write((tx) => {
      if (write.excludesCollection !== undefined && this.collections.exists(realm, write.excludesCollection, now)) throw check.wrongTypeError(write.excludesCollection);
      return this.retained.put(tx, realm, write, expectVersion, now);
    });
  }

  deleteRetained(realm: string, key: string, expectVersion?: number): Promise<boolean> {
    return this.write(
      (now) => this.retained.delete(realm, key, expectVersion, now),
      () => {
        check.checkOptionalCount('expectVersion', expectVersion);
      },
    );
  }

  listWills(realm: string, owner?: string): Promise<RetainedRecord[]> {
    return this.read((now) => this.retained.listWills(realm, owner, now));
  }

  // --- collections ---

  collectionPut(realm: string, write: CollectionWrite): Promise<CollectionOutcome> {
    return this.write(
      (now) => {
        // only a table's first write can meet a hash of its name: later ones of other types are refused by the table
        if (write.excludesRetained !== undefined && this.collections.kindOfTable(realm, write.table) === null && this.retained.hasLiveUnder(realm, write.excludesRetained, now)) {
          return 'wrong_type';
        }
        return this.collections.put(realm, write, now);
      },
      () => check.checkCollectionWrite(write),
    );
  }

  collectionDelete(realm: string, kind: CollectionKind, table: string, member: Uint8Array, expectVersion?: number): Promise<CollectionOutcome> {
    return this.write(
      (now) => this.collections.delete(realm, kind, table, member, expectVersion, now),
      () => {
        check.checkCollectionKind(kind, table, member);
        check.checkOptionalCount('expectVersion', expectVersion);
      },
    );
  }

  collectionGet(realm: string, kind: CollectionKind, table: string, member: Uint8Array): Promise<CollectionMember | null | 'wrong_type'> {
    return this.read(
      (now) => this.collections.get(realm, kind, table, member, now),
      () => check.checkCollectionKind(kind, table, member),
    );
  }

  collectionRange(realm: string, kind: CollectionKind, table: string, range: CollectionRange): Promise<CollectionMember[] | 'wrong_type'> {
    return this.read(
      (now) => this.collections.range(realm, kind, table, range, now),
      () => {
        check.checkCollectionKind(kind, table);
        check.checkCollectionRange(range, kind);
      },
    );
  }

  collectionKind(realm: string, table: string): Promise<CollectionKind | null> {
    return this.read(() => this.collections.kindOfTable(realm, table));
  }

  collectionTables(realm: string): Promise<CollectionTableStat[]> {
    // a write: expired members are purged first, so the counts are of live ones
    return this.write((now) => {
      this.collections.sweep(now);
      return this.collections.tables(realm);
    });
  }

  // --- history ---

  appendHistory(realm: string, topic: string, value: Uint8Array, headers?: Uint8Array, id?: number): Promise<number> {
    try {
      check.checkAppend(topic, value, headers, id);
    } catch (err) {
      return Promise.reject(err);
    }
    const now = this.config.now();
    return this.batch.write((tx) => this.history.append(tx, realm, topic, value, headers, id, now));
  }

  readHistory(realm: string, query: HistoryQuery = {}): Promise<HistoryEntry[]> {
    return this.read(
      () => this.history.read(realm, query),
      () => {
        check.checkHistoryQuery(query);
      },
    );
  }

  pruneHistory(realm: string, prune: HistoryPrune): Promise<number> {
    return this.write(
      (now) => this.history.prune(realm, prune, now),
      () => {
        check.checkPrune(prune);
      },
    );
  }

  // --- queues ---

  queuePut(realm: string, queue: string, value: Uint8Array, priority: QueuePriority = 0): Promise<QueuePutResult> {
    return this.write(
      (now) => this.queues.put(realm, queue, value, priority, now),
      () => {
        check.checkBytes('value', value);
        check.checkPriority(priority);
      },
    );
  }

  queueGet(realm: string, queue: string, options: QueueGetOptions = {}): Promise<QueueItem | null> {
    return this.write((now) => this.queues.get(realm, queue, options, now));
  }

  queueAck(realm: string, queue: string, token: string): Promise<boolean> {
    return this.write(() => this.queues.ack(realm, queue, token));
  }

  queueSetTimeout(realm: string, queue: string, timeoutMs: number): Promise<boolean> {
    return this.write(
      () => this.queues.setTimeout(realm, queue, timeoutMs),
      () => {
        check.checkPositive('timeoutMs', timeoutMs);
      },
    );
  }

  queueSetLock(realm: string, queue: string, locked: boolean): Promise<boolean> {
    return this.write(() => this.queues.setLock(realm, queue, locked));
  }

  queueSetMax(realm: string, queue: string, max: number): Promise<boolean> {
    return this.write(
      () => this.queues.setMax(realm, queue, max),
      () => {
        check.checkCount('max', max);
      },
    );
  }

  queuePurge(realm: string, queue: string, priority?: QueuePriority): Promise<boolean> {
    return this.write(
      () => this.queues.purge(realm, queue, priority),
      () => {
        if (priority !== undefined) check.checkPriority(priority);
      },
    );
  }

  queueStat(realm: string, queue: string): Promise<QueueStat | null> {
    return this.read(() => this.queues.stat(realm, queue));
  }

  queueStatAll(realm: string): Promise<QueueStat[]> {
    return this.read(() => this.queues.statAll(realm));
  }

  touchWorker(realm: string, queue: string, name: string): Promise<boolean> {
    return this.write((now) => {
      if (!this.queues.exists(realm, queue)) return false;
      this.queues.workers.touch(realm, queue, name, now);
      return true;
    });
  }

  listWorkers(realm: string, queue: string): Promise<WorkerRecord[] | null> {
    return this.read((now) => (this.queues.exists(realm, queue) ? this.queues.workers.listLive(realm, queue, now) : null));
  }

  // --- MQTT ---

  saveMqttSession(realm: string, clientId: string, state: MqttSessionState): Promise<void> {
    let normalized: MqttSessionState;
    return this.write(
      () => this.mqtt.save(realm, clientId, normalized),
      () => {
        normalized = check.normalizeSession(state);
      },
    );
  }

  loadMqttSession(realm: string, clientId: string): Promise<MqttSessionState | null> {
    return this.read(() => this.mqtt.load(realm, clientId));
  }

  listMqttSessions(realm: string): Promise<MqttSessionListing[]> {
    return this.read(() => this.mqtt.list(realm));
  }

  deleteMqttSession(realm: string, clientId: string): Promise<void> {
    return this.write(() => this.mqtt.delete(realm, clientId));
  }

  enqueueMqtt(realm: string, clientId: string, message: Uint8Array, maxQueued?: number): Promise<number> {
    return this.write(
      () => this.mqtt.enqueue(realm, clientId, message, maxQueued),
      () => {
        check.checkBytes('message', message);
        check.checkOptionalCount('maxQueued', maxQueued);
      },
    );
  }

  drainMqtt(realm: string, clientId: string, limit?: number): Promise<MqttQueued[]> {
    return this.write(
      () => this.mqtt.drain(realm, clientId, limit),
      () => {
        check.checkOptionalCount('limit', limit);
      },
    );
  }

  peekMqtt(realm: string, clientId: string, limit?: number): Promise<MqttQueued[]> {
    return this.read(
      () => this.mqtt.peek(realm, clientId, limit),
      () => {
        check.checkOptionalCount('limit', limit);
      },
    );
  }

  putInflight(realm: string, clientId: string, packetId: number, state: Uint8Array): Promise<void> {
    return this.write(
      () => this.mqtt.putInflight(realm, clientId, packetId, state),
      () => {
        check.checkPacketId(packetId);
        check.checkBytes('state', state);
      },
    );
  }

  deleteInflight(realm: string, clientId: string, packetId: number): Promise<boolean> {
    return this.write(() => this.mqtt.deleteInflight(realm, clientId, packetId));
  }

  listInflight(realm: string, clientId: string): Promise<MqttInflight[]> {
    return this.read(() => this.mqtt.listInflight(realm, clientId));
  }

  // --- replies ---

  storeReply(realm: string, key: string, value: Uint8Array, ttlMs: number): Promise<void> {
    return this.write(
      (now) => this.replies.store(realm, key, value, now + ttlMs),
      () => {
        check.checkBytes('value', value);
        check.checkPositive('ttlMs', ttlMs);
      },
    );
  }

  takeReplies(realm: string, key: string): Promise<Uint8Array[]> {
    return this.write((now) => this.replies.take(realm, key, now));
  }

  // --- lifecycle ---

  sweep(): Promise<SweepResult> {
    return this.write((now) => ({
      retained: this.retained.sweep(now),
      members: this.collections.sweep(now),
      replies: this.replies.sweep(now),
      workers: this.queues.workers.sweep(now),
    }));
  }

  observeCommits(sink: DurationSink): void {
    this.batch.commitTimes = sink;
  }

  close(): Promise<void> {
    try {
      this.batch.close();
      if (this.db.open) this.db.close();
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

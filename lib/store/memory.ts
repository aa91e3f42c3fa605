// The memory Store engine: for tests and --memory. Same semantics as the durable engines, nothing
// survives the process. Every operation runs at once; its promise settles on the next microtask.
import type {
  CollectionKind,
  CollectionMember,
  CollectionOutcome,
  CollectionRange,
  CollectionTableStat,
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
import { checkAppend, checkHistoryQuery, checkPrune, checkRetainedWrite } from './common.ts';
import { MemoryCollections } from './memory-collections.ts';
import { MemoryHistory } from './memory-history.ts';
import { MemoryMqtt, MemoryReplies } from './memory-mqtt.ts';
import { MemoryQueues } from './memory-queues.ts';
import { MemoryRetained } from './memory-retained.ts';

export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly config: EngineConfig;
  private readonly retained = new MemoryRetained();
  private readonly collections = new MemoryCollections();
  private readonly history = new MemoryHistory();
  private readonly queues: MemoryQueues;
  private readonly mqtt = new MemoryMqtt();
  private readonly replies = new MemoryReplies();
  private closed = false;

  constructor(options: StoreOptions = {}) {
    this.config = check.engineConfig(options);
    this.queues = new MemoryQueues(this.config);
  }

  private run<T>(fn: (now: number) => T): Promise<T> {
    if (this.closed) return Promise.reject(check.closedError());
    try {
      return Promise.resolve(fn(this.config.now()));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // --- retained ---

  getRetained(realm: string, key: string): Promise<RetainedRecord | null> {
    return this.run((now) => this.retained.get(realm, key, now));
  }

  listRetained(realm: string, prefix?: string): Promise<RetainedRecord[]> {
    return this.run((now) => this.retained.list(realm, prefix, now));
  }

  putRetained(realm: string, write: RetainedWrite, expectVersion?: number): Promise<number | null> {
    return this.run((now) => {
      checkRetainedWrite(write, expectVersion);
      if (write.excludesCollection !== undefined && this.collections.exists(realm, write.excludesCollection, now)) throw check.wrongTypeError(write.excludesCollection);
      return this.retained.put(realm, write, expectVersion, now);
    });
  }

  deleteRetained(realm: string, key: string, expectVersion?: number): Promise<boolean> {
    return this.run((now) => {
      check.checkOptionalCount('expectVersion', expectVersion);
      return this.retained.delete(realm, key, expectVersion, now);
    });
  }

  listWills(realm: string, owner?: string): Promise<RetainedRecord[]> {
    return this.run((now) => this.retained.wills(realm, owner, now));
  }

  // --- collections ---

  collectionPut(realm: string, write: CollectionWrite): Promise<CollectionOutcome> {
    return this.run((now) => {
      check.checkCollectionWrite(write);
      // only a table's first write can meet a hash of its name: later ones of other types are refused by the table
      if (write.excludesRetained !== undefined && this.collections.kind(realm, write.table) === null && this.retained.hasLiveUnder(realm, write.excludesRetained, now)) {
        return 'wrong_type';
      }
      return this.collections.put(realm, write, now);
    });
  }

  collectionDelete(realm: string, kind: CollectionKind, table: string, member: Uint8Array, expectVersion?: number): Promise<CollectionOutcome> {
    return this.run((now) => {
      check.checkCollectionKind(kind, table, member);
      check.checkOptionalCount('expectVersion', expectVersion);
      return this.collections.delete(realm, kind, table, member, expectVersion, now);
    });
  }

  collectionGet(realm: string, kind: CollectionKind, table: string, member: Uint8Array): Promise<CollectionMember | null | 'wrong_type'> {
    return this.run((now) => {
      check.checkCollectionKind(kind, table, member);
      return this.collections.get(realm, kind, table, member, now);
    });
  }

  collectionRange(realm: string, kind: CollectionKind, table: string, range: CollectionRange): Promise<CollectionMember[] | 'wrong_type'> {
    return this.run((now) => {
      check.checkCollectionKind(kind, table);
      check.checkCollectionRange(range, kind);
      return this.collections.range(realm, kind, table, range, now);
    });
  }

  collectionKind(realm: string, table: string): Promise<CollectionKind | null> {
    return this.run(() => this.collections.kind(realm, table));
  }

  collectionTables(realm: string): Promise<CollectionTableStat[]> {
    return this.run((now) => this.collections.tables(realm, now));
  }

  // --- history ---

  appendHistory(realm: string, topic: string, value: Uint8Array, headers?: Uint8Array, id?: number): Promise<number> {
    return this.run((now) => {
      checkAppend(topic, value, headers, id);
      return this.history.append(realm, topic, value, headers, id, now);
    });
  }

  readHistory(realm: string, query: HistoryQuery = {}): Promise<HistoryEntry[]> {
    return this.run(() => {
      checkHistoryQuery(query);
      return this.history.read(realm, query);
    });
  }

  pruneHistory(realm: string, prune: HistoryPrune): Promise<number> {
    return this.run((now) => {
      checkPrune(prune);
      return this.history.prune(realm, prune, now);
    });
  }

  // --- queues ---

  queuePut(realm: string, queue: string, value: Uint8Array, priority: QueuePriority = 0): Promise<QueuePutResult> {
    return this.run((now) => {
      check.checkBytes('value', value);
      check.checkPriority(priority);
      return this.queues.put(realm, queue, value, priority, now);
    });
  }

  queueGet(realm: string, queue: string, options: QueueGetOptions = {}): Promise<QueueItem | null> {
    return this.run((now) => this.queues.get(realm, queue, options, now));
  }

  queueAck(realm: string, queue: string, token: string): Promise<boolean> {
    return this.run(() => this.queues.ack(realm, queue, token));
  }

  queueSetTimeout(realm: string, queue: string, timeoutMs: number): Promise<boolean> {
    return this.run(() => {
      check.checkPositive('timeoutMs', timeoutMs);
      return this.queues.set(realm, queue, { timeoutMs });
    });
  }

  queueSetLock(realm: string, queue: string, locked: boolean): Promise<boolean> {
    return this.run(() => this.queues.set(realm, queue, { locked: !!locked }));
  }

  queueSetMax(realm: string, queue: string, max: number): Promise<boolean> {
    return this.run(() => {
      check.checkCount('max', max);
      return this.queues.set(realm, queue, { max });
    });
  }

  queuePurge(realm: string, queue: string, priority?: QueuePriority): Promise<boolean> {
    return this.run(() => {
      if (priority !== undefined) check.checkPriority(priority);
      return this.queues.purge(realm, queue, priority);
    });
  }

  queueStat(realm: string, queue: string): Promise<QueueStat | null> {
    return this.run(() => this.queues.stat(realm, queue));
  }

  queueStatAll(realm: string): Promise<QueueStat[]> {
    return this.run(() => this.queues.statAll(realm));
  }

  touchWorker(realm: string, queue: string, name: string): Promise<boolean> {
    return this.run((now) => this.queues.touch(realm, queue, name, now));
  }

  listWorkers(realm: string, queue: string): Promise<WorkerRecord[] | null> {
    return this.run((now) => this.queues.workers(realm, queue, now));
  }

  // --- MQTT ---

  saveMqttSession(realm: string, clientId: string, state: MqttSessionState): Promise<void> {
    return this.run(() => this.mqtt.save(realm, clientId, state));
  }

  loadMqttSession(realm: string, clientId: string): Promise<MqttSessionState | null> {
    return this.run(() => this.mqtt.load(realm, clientId));
  }

  listMqttSessions(realm: string): Promise<MqttSessionListing[]> {
    return this.run(() => this.mqtt.list(realm));
  }

  deleteMqttSession(realm: string, clientId: string): Promise<void> {
    return this.run(() => this.mqtt.delete(realm, clientId));
  }

  enqueueMqtt(realm: string, clientId: string, message: Uint8Array, maxQueued?: number): Promise<number> {
    return this.run(() => {
      check.checkBytes('message', message);
      check.checkOptionalCount('maxQueued', maxQueued);
      return this.mqtt.enqueue(realm, clientId, message, maxQueued);
    });
  }

  drainMqtt(realm: string, clientId: string, limit?: number): Promise<MqttQueued[]> {
    return this.run(() => {
      check.checkOptionalCount('limit', limit);
      return this.mqtt.drain(realm, clientId, limit);
    });
  }

  peekMqtt(realm: string, clientId: string, limit?: number): Promise<MqttQueued[]> {
    return this.run(() => {
      check.checkOptionalCount('limit', limit);
      return this.mqtt.peek(realm, clientId, limit);
    });
  }

  putInflight(realm: string, clientId: string, packetId: number, state: Uint8Array): Promise<void> {
    return this.run(() => {
      check.checkPacketId(packetId);
      check.checkBytes('state', state);
      this.mqtt.putInflight(realm, clientId, packetId, state);
    });
  }

  deleteInflight(realm: string, clientId: string, packetId: number): Promise<boolean> {
    return this.run(() => this.mqtt.deleteInflight(realm, clientId, packetId));
  }

  listInflight(realm: string, clientId: string): Promise<MqttInflight[]> {
    return this.run(() => this.mqtt.listInflight(realm, clientId));
  }

  // --- replies ---

  storeReply(realm: string, key: string, value: Uint8Array, ttlMs: number): Promise<void> {
    return this.run((now) => {
      check.checkBytes('value', value);
      check.checkPositive('ttlMs', ttlMs);
      this.replies.store(realm, key, value, now + ttlMs);
    });
  }

  takeReplies(realm: string, key: string): Promise<Uint8Array[]> {
    return this.run((now) => this.replies.take(realm, key, now));
  }

  // --- lifecycle ---

  sweep(): Promise<SweepResult> {
    return this.run((now) => ({
      retained: this.retained.sweep(now),
      members: this.collections.sweep(now),
      replies: this.replies.sweep(now),
      workers: this.queues.sweep(now),
    }));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

// The Store interface core programs against. Engines live in lib/store (memory, sqlite, later redis);
// core never imports them: the server builds one with openStore() and hands it to the router.
//
// Rules every engine follows:
// - Every method is asynchronous, so a networked engine (Redis) fits the same interface.
// - Everything is scoped by realm name. Keys, topics, queue names and client ids are plain strings
//   chosen by core (topics joined with '/'); values are opaque byte blobs that core encodes itself.
// - A write's promise resolves only after the write is committed (durable engines), and operations
//   take effect in the order they were called, even when they are not awaited one by one: a read
//   issued after a write sees that write.
// - An engine may keep a reference to a blob passed in until the call's promise settles: do not
//   mutate it before then. Blobs returned are the caller's to keep but must not be mutated.
// - Time comes from StoreOptions.now (ms since epoch), so tests can inject a clock.
import type { QoS } from './types.ts';

// ---------------------------------------------------------------------------------------------
// Retained key-value (retained topics, resource locks, hustdb keys)

/** What a caller writes. The engine assigns the version. */
export interface RetainedWrite {
  key: string;
  value: Uint8Array;
  /** Absolute expiry, ms since epoch. An expired record reads as absent. */
  expiresAt?: number;
  /** Session (or lock) owner; records with an owner and a will are listed by listWills(). */
  owner?: string;
  /**
   * What to do if the owner ends uncleanly: `undefined` = nothing, `null` = delete the record,
   * bytes = replace the value with these bytes.
   */
  will?: Uint8Array | null;
  /**
   * The key's own write count (hustdb's `Version`): 1 on creation, +1 per write, forgotten by a
   * delete or expiry. Core passes the number it assigned in memory; when absent the engine
   * assigns previous + 1 (or 1) itself.
   */
  revision?: number;
  /**
   * Refused (kitsune.error.wrong_type, nothing written) when a collection table of this name exists: a hustdb
   * hash table and a set or sorted set of one name exclude each other. Decided in the same
   * operation as the write, so two first writes of different types cannot both succeed. Not stored.
   */
  excludesCollection?: string;
}

export interface RetainedRecord extends RetainedWrite {
  revision: number;
  /**
   * Engine-assigned revision: every successful write of any key takes the next number of one
   * counter shared by the whole store, so versions only grow and are never reused, even after a
   * delete and re-create (no ABA problem for compare-and-set). Always ≥ 1.
   */
  version: number;
  /** Time of the last write, ms since epoch. */
  updatedAt: number;
}

// ---------------------------------------------------------------------------------------------
// Indexed collections (hustdb sets and sorted sets)

/** A table holds one kind; using it as the other is refused ('wrong_type'). */
export type CollectionKind = 'set' | 'zset';

export interface CollectionMember {
  member: Uint8Array;
  /** 0 for set members. */
  score: number;
  /** 1 on creation, +1 per write; a removal forgets it. */
  version: number;
  expiresAt?: number;
}

export interface CollectionWrite {
  kind: CollectionKind;
  table: string;
  member: Uint8Array;
  /** zset only (default 0). */
  score?: number;
  /** zset only: 'set' (default) replaces the score; 'add' / 'sub' change an existing member's score. */
  scoreMode?: 'set' | 'add' | 'sub';
  /** Only if the member's version is this (0 = only if absent). Undefined = unconditional. */
  expectVersion?: number;
  /** Absolute expiry, ms since epoch; absent = none (a write without it makes the member permanent). */
  expiresAt?: number;
  /**
   * A retained key prefix (see retainedKeyPrefix()): refused ('wrong_type', nothing written) while a
   * live retained record's key starts with it — the other half of RetainedWrite.excludesCollection,
   * decided in the same operation as the write.
   */
  excludesRetained?: string;
}

/** A write's outcome: the member's new version (and score), or why nothing was written. */
export type CollectionOutcome = { version: number; score: number } | 'wrong_type' | 'version_mismatch' | 'missing';

export interface CollectionRange {
  /** Members to skip, in order. */
  offset: number;
  /** Most members to return. */
  limit: number;
  /** zset: only scores ≥ minScore and ≤ maxScore (inclusive bounds). */
  minScore?: number;
  maxScore?: number;
  /**
   * set only: members whose listingBucket() is in [start, end), ordered by (bucket, member) — an
   * index, so a page costs O(log n + offset + limit) however few members the buckets hold.
   */
  buckets?: { start: number; end: number };
}

/** How many listing buckets there are (hustdb's virtual buckets, spec/hustdb.md §1). */
export const LISTING_BUCKETS = 1024;

/** The listing bucket of a name's bytes: h = h*31 + byte, modulo 1024 throughout (§1's hash). */
export function listingBucket(bytes: Uint8Array): number {
  let h = 0;
  for (let i = 0; i < bytes.length; i++) h = (h * 31 + (bytes[i] as number)) % LISTING_BUCKETS;
  return h;
}

export interface CollectionTableStat {
  table: string;
  kind: CollectionKind;
  /** Live members (the engine purges expired ones before it counts). */
  count: number;
}

// ---------------------------------------------------------------------------------------------
// Event history

export interface HistoryEntry {
  /** Store-wide id: numeric, strictly increasing, never reused, also across restarts. */
  id: number;
  topic: string;
  value: Uint8Array;
  headers?: Uint8Array;
  /** Append time, ms since epoch. */
  timestamp: number;
}

export interface HistoryQuery {
  /** Only entries with id > afterId (default: from the start). */
  afterId?: number;
  /** Most entries to return (default: all). */
  limit?: number;
  /** Only these exact topics. */
  topics?: string[];
  /** Only topics starting with this string (combined with `topics` by AND if both are given). */
  prefix?: string;
  /** Return the newest `limit` matching entries instead of the oldest. Result is still ascending. */
  newest?: boolean;
}

export interface HistoryPrune {
  /** Keep at most this many entries per topic (the newest). */
  maxCount?: number;
  /** Drop entries older than this. */
  maxAgeMs?: number;
  /** Restrict pruning to one topic. */
  topic?: string;
}

// ---------------------------------------------------------------------------------------------
// Durable queues (hustmq)

export type QueuePriority = 0 | 1 | 2;
export type QueuePutResult = 'ok' | 'locked' | 'full' | 'too_many_queues';

export interface QueueGetOptions {
  /** true (default): the item is deleted when served. false: it stays unacked until queueAck(). */
  ack?: boolean;
  /** Worker name to record (as touchWorker) when the queue exists. */
  worker?: string;
}

export interface QueueItem {
  /** The item's bytes; a string stands for its UTF-8 bytes (an engine may keep small text items as text). */
  value: Uint8Array | string;
  priority: QueuePriority;
  /** `<priority>:<seq>`, the hustmq Ack-Token. Only present when taken with ack=false. */
  token?: string;
  /** True when this is a redelivery of an item whose ack timed out. */
  redelivered: boolean;
}

export interface QueueStat {
  queue: string;
  /** Ready items per priority 0, 1, 2. */
  ready: [number, number, number];
  /** Items handed out with ack=false and not yet acked. */
  unacked: number;
  /** Capacity on the ready total, 0 = unlimited. */
  max: number;
  locked: boolean;
  /** Redelivery timeout of unacked items, ms (the hustmq API speaks minutes: 60000 × M). */
  timeoutMs: number;
  /** Priority-0 read cursor and write cursor (hustmq si/ci for normal queues). */
  si: number;
  ci: number;
  /** Queue creation time, ms since epoch (hustmq tm, in seconds there). */
  createdAt: number;
}

export interface WorkerRecord {
  name: string;
  /** Last get (or touch), ms since epoch. */
  seenAt: number;
}

/** hustmq node defaults. */
export const QUEUE_DEFAULT_TIMEOUT_MS = 5 * 60_000;
export const QUEUE_WORKER_TTL_MS = 512_000;
export const QUEUE_MAX_WORKERS = 1024;
export const QUEUE_DEFAULT_MAX_ITEMS = 5_000_000;
export const QUEUE_DEFAULT_MAX_QUEUES = 8192;

export function formatQueueToken(priority: number, seq: number): string {
  return `${priority}:${seq}`;
}

/** Parses `<priority>:<seq>`; undefined when malformed. */
export function parseQueueToken(token: string): { priority: QueuePriority; seq: number } | undefined {
  const m = /^([012]):(\d{1,15})$/.exec(token);
  if (!m) return undefined;
  return { priority: Number(m[1]) as QueuePriority, seq: Number(m[2]) };
}

// ---------------------------------------------------------------------------------------------
// MQTT persistent sessions

export interface MqttSubscriptionRecord {
  /** The filter as the client sent it, including a `$share/group/` prefix. */
  filter: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionIdentifier?: number;
}

export interface MqttSessionState {
  subscriptions: MqttSubscriptionRecord[];
  /** Session expiry interval in seconds (0xFFFFFFFF = never). */
  expiryInterval: number;
  protocolVersion?: number;
  /** When the client disconnected (ms since epoch); absent while connected. */
  disconnectedAt?: number;
  /** Anything else core wants to keep with the session (e.g. an encoded will message). */
  extra?: Uint8Array;
}

export interface MqttSessionListing extends MqttSessionState {
  clientId: string;
}

export interface MqttQueued {
  id: number;
  value: Uint8Array;
}

export interface MqttInflight {
  packetId: number;
  value: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Maintenance

export interface SweepResult {
  retained: number;
  /** Expired collection members purged. */
  members?: number;
  replies: number;
  workers: number;
}

export interface StoreOptions {
  /** Clock, ms since epoch. Default Date.now. */
  now?: () => number;
  /** Per-queue item cap (ready + unacked); put answers 'full' beyond it. Default 5,000,000. */
  maxQueueItems?: number;
  /** Queues per realm; a put that would create one more answers 'too_many_queues'. Default 8192. */
  maxQueues?: number;
}

/** Where an engine reports durations, in seconds (the server records them in a Prometheus histogram). */
export interface DurationSink {
  observe(seconds: number): void;
}

export interface Store {
  /** 'memory' | 'sqlite' | 'redis' — for logs and metrics only. */
  readonly kind: string;

  /** Engines that commit transactions report each one's duration here (memory has none to report). */
  observeCommits?(sink: DurationSink): void;

  // --- retained ---
  /** The live record, or null when absent or expired. */
  getRetained(realm: string, key: string): Promise<RetainedRecord | null>;
  /** All live records of a realm (optionally only keys starting with `prefix`), ordered by key. */
  listRetained(realm: string, prefix?: string): Promise<RetainedRecord[]>;
  /**
   * Writes (replaces) the record: value, expiresAt, owner and will all come from `write`.
   * `expectVersion`: undefined = unconditional; 0 = only if absent (or expired); n = only if the
   * live record has version n. Resolves to the new version, or null when the condition failed;
   * rejects with kitsune.error.wrong_type when `write.excludesCollection` names an existing collection table.
   */
  putRetained(realm: string, write: RetainedWrite, expectVersion?: number): Promise<number | null>;
  /** Deletes a live record (same `expectVersion` rule). True if a record was deleted. */
  deleteRetained(realm: string, key: string, expectVersion?: number): Promise<boolean>;
  /** Live records that have an owner and a will (optionally of one owner), for recovery after a crash. */
  listWills(realm: string, owner?: string): Promise<RetainedRecord[]>;

  // --- indexed collections (each single-member operation is O(log n) in its table's size) ---
  /** Adds or rewrites a member (creating the table with `kind` on first use). */
  collectionPut(realm: string, write: CollectionWrite): Promise<CollectionOutcome>;
  /** Removes a live member ('missing' when absent); the table goes when its last member does. */
  collectionDelete(realm: string, kind: CollectionKind, table: string, member: Uint8Array, expectVersion?: number): Promise<CollectionOutcome>;
  /** The live member, null when absent (or the table is unknown), 'wrong_type' when the table is the other kind. */
  collectionGet(realm: string, kind: CollectionKind, table: string, member: Uint8Array): Promise<CollectionMember | null | 'wrong_type'>;
  /**
   * Live members in order — sets by member bytes, zsets by score then member bytes — from `offset`,
   * at most `limit`: O(log n + offset + limit).
   */
  collectionRange(realm: string, kind: CollectionKind, table: string, range: CollectionRange): Promise<CollectionMember[] | 'wrong_type'>;
  /** The kind of a table, null when it does not exist. */
  collectionKind(realm: string, table: string): Promise<CollectionKind | null>;
  /** Every collection table of the realm, ordered by name. */
  collectionTables(realm: string): Promise<CollectionTableStat[]>;

  // --- history ---
  /**
   * Appends one event; resolves to its id. `id` proposes an id (e.g. the publication id): it is used
   * when it is greater than every history id the store has used so far, otherwise the next id is
   * taken instead — so always use the id this resolves to. Appends issued together commit together.
   */
  appendHistory(realm: string, topic: string, value: Uint8Array, headers?: Uint8Array, id?: number): Promise<number>;
  /** Matching entries ordered by id ascending. */
  readHistory(realm: string, query?: HistoryQuery): Promise<HistoryEntry[]>;
  /** Deletes old entries; resolves to the number deleted. */
  pruneHistory(realm: string, prune: HistoryPrune): Promise<number>;

  // --- durable queues ---
  /** Appends an item (creating the queue on first put). Refused while locked or full. */
  queuePut(realm: string, queue: string, value: Uint8Array, priority?: QueuePriority): Promise<QueuePutResult>;
  /**
   * Takes the next item: first the oldest unacked item whose timeout has passed (redelivery), else
   * the oldest ready item of the highest non-empty priority. Null when none or the queue is unknown.
   * A locked queue still serves gets.
   */
  queueGet(realm: string, queue: string, options?: QueueGetOptions): Promise<QueueItem | null>;
  /** Acks an unacked item. False when the queue or the token is unknown (hustmq 412). */
  queueAck(realm: string, queue: string, token: string): Promise<boolean>;
  /** Redelivery timeout in ms (> 0). False when the queue is unknown. */
  queueSetTimeout(realm: string, queue: string, timeoutMs: number): Promise<boolean>;
  queueSetLock(realm: string, queue: string, locked: boolean): Promise<boolean>;
  /** 0 = unlimited. */
  queueSetMax(realm: string, queue: string, max: number): Promise<boolean>;
  /**
   * Deletes the ready items of `priority` (all priorities when undefined). When no ready item is
   * left in the queue, the whole queue is dropped, with its unacked items and workers.
   * False when the queue is unknown.
   */
  queuePurge(realm: string, queue: string, priority?: QueuePriority): Promise<boolean>;
  queueStat(realm: string, queue: string): Promise<QueueStat | null>;
  /** Every queue of the realm, ordered by name. */
  queueStatAll(realm: string): Promise<QueueStat[]>;
  /** Records a worker as seen now. False when the queue is unknown. */
  touchWorker(realm: string, queue: string, name: string): Promise<boolean>;
  /** Workers seen within QUEUE_WORKER_TTL_MS, ordered by name; null when the queue is unknown. */
  listWorkers(realm: string, queue: string): Promise<WorkerRecord[] | null>;

  // --- MQTT persistent sessions ---
  /** Creates or replaces the session record (its offline queue and in-flight state are kept). */
  saveMqttSession(realm: string, clientId: string, state: MqttSessionState): Promise<void>;
  loadMqttSession(realm: string, clientId: string): Promise<MqttSessionState | null>;
  /** Every stored session of the realm, for expiry scheduling after a restart. */
  listMqttSessions(realm: string): Promise<MqttSessionListing[]>;
  /** Deletes the session, its offline queue and its in-flight state. */
  deleteMqttSession(realm: string, clientId: string): Promise<void>;
  /**
   * Appends a message to the client's offline queue; resolves to its id. With `maxQueued`, the
   * oldest messages beyond that many are dropped.
   */
  enqueueMqtt(realm: string, clientId: string, message: Uint8Array, maxQueued?: number): Promise<number>;
  /** Removes and returns the oldest queued messages (all, or at most `limit`), oldest first. */
  drainMqtt(realm: string, clientId: string, limit?: number): Promise<MqttQueued[]>;
  /** The oldest queued messages (all, or at most `limit`), oldest first, without removing them. */
  peekMqtt(realm: string, clientId: string, limit?: number): Promise<MqttQueued[]>;
  /** Creates or replaces the in-flight state of one packet id (keeps its original position). */
  putInflight(realm: string, clientId: string, packetId: number, state: Uint8Array): Promise<void>;
  deleteInflight(realm: string, clientId: string, packetId: number): Promise<boolean>;
  /** In-flight states in the order they were first put. */
  listInflight(realm: string, clientId: string): Promise<MqttInflight[]>;

  // --- esub stored replies ---
  storeReply(realm: string, key: string, value: Uint8Array, ttlMs: number): Promise<void>;
  /** Removes and returns the live replies for `key`, oldest first; expired ones are dropped. */
  takeReplies(realm: string, key: string): Promise<Uint8Array[]>;

  // --- lifecycle ---
  /** Deletes expired retained records, replies and worker records. Call it now and then. */
  sweep(): Promise<SweepResult>;
  /** Flushes pending writes and closes. Later calls reject. */
  close(): Promise<void>;
}

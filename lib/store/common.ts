// Argument checks and small helpers shared by every Store engine, so they reject the same input
// the same way. Engines call these before queueing an operation.
import type {
  CollectionKind,
  CollectionRange,
  CollectionWrite,
  HistoryPrune,
  HistoryQuery,
  MqttSessionState,
  MqttSubscriptionRecord,
  QueuePriority,
  RetainedWrite,
  StoreOptions,
} from '../core/store.ts';
import { LISTING_BUCKETS, QUEUE_DEFAULT_MAX_ITEMS, QUEUE_DEFAULT_MAX_QUEUES } from '../core/store.ts';
import { ErrorUri, RouterError } from '../core/errors.ts';

export interface EngineConfig {
  now: () => number;
  maxQueueItems: number;
  maxQueues: number;
}

export function engineConfig(options: StoreOptions = {}): EngineConfig {
  return {
    now: options.now ?? Date.now,
    maxQueueItems: options.maxQueueItems ?? QUEUE_DEFAULT_MAX_ITEMS,
    maxQueues: options.maxQueues ?? QUEUE_DEFAULT_MAX_QUEUES,
  };
}

export function checkString(name: string, v: unknown): asserts v is string {
  if (typeof v !== 'string') throw new TypeError(`${name} must be a string`);
}

export function checkBytes(name: string, v: unknown): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
}

export function checkPriority(v: unknown): asserts v is QueuePriority {
  if (v !== 0 && v !== 1 && v !== 2) throw new RangeError('priority must be 0, 1 or 2');
}

/** Non-negative safe integer. */
export function checkCount(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${name} must be a non-negative integer`);
  }
}

export function checkPositive(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number`);
}

export function checkOptionalCount(name: string, v: unknown): void {
  if (v !== undefined) checkCount(name, v);
}

export function checkPacketId(v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0xffff) {
    throw new RangeError('packetId must be an integer in 1..65535');
  }
}

/** Copy so a stored blob never aliases (or pins) a caller's buffer. */
export function copyBytes(v: Uint8Array): Uint8Array {
  return new Uint8Array(v);
}

/** Live unless it has an expiry at or before `now`. */
export function isLive(expiresAt: number | null | undefined, now: number): boolean {
  return expiresAt === undefined || expiresAt === null || expiresAt > now;
}

/**
 * The smallest string greater than every string that starts with `prefix`, in code-point order
 * (which is also SQLite's BINARY order on UTF-8); null when there is none (prefix is empty or
 * all U+10FFFF).
 */
export function prefixUpperBound(prefix: string): string | null {
  const cps = Array.from(prefix, (c) => c.codePointAt(0) as number);
  while (cps.length > 0) {
    let last = (cps.pop() as number) + 1;
    if (last === 0xd800) last = 0xe000; // skip the surrogate range
    if (last <= 0x10ffff) {
      cps.push(last);
      return String.fromCodePoint(...cps);
    }
  }
  return null;
}

/** Code-point order (matches SQLite's BINARY collation on UTF-8 text). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function normalizeSubscription(s: MqttSubscriptionRecord): MqttSubscriptionRecord {
  checkString('subscription filter', s.filter);
  const out: MqttSubscriptionRecord = {
    filter: s.filter,
    qos: s.qos,
    noLocal: !!s.noLocal,
    retainAsPublished: !!s.retainAsPublished,
    retainHandling: s.retainHandling ?? 0,
  };
  if (s.subscriptionIdentifier !== undefined) out.subscriptionIdentifier = s.subscriptionIdentifier;
  return out;
}

/** A fresh copy holding only the known fields, so every engine returns the same shape. */
export function normalizeSession(s: MqttSessionState): MqttSessionState {
  if (!s || !Array.isArray(s.subscriptions)) throw new TypeError('session state needs a subscriptions array');
  checkCount('expiryInterval', s.expiryInterval);
  const out: MqttSessionState = {
    subscriptions: s.subscriptions.map(normalizeSubscription),
    expiryInterval: s.expiryInterval,
  };
  if (s.protocolVersion !== undefined && s.protocolVersion !== null) out.protocolVersion = s.protocolVersion;
  if (s.disconnectedAt !== undefined && s.disconnectedAt !== null) out.disconnectedAt = s.disconnectedAt;
  if (s.extra !== undefined && s.extra !== null) {
    checkBytes('extra', s.extra);
    out.extra = copyBytes(s.extra);
  }
  return out;
}

export function closedError(): Error {
  return new Error('store is closed');
}


export function checkRetainedWrite(write: RetainedWrite, expectVersion: number | undefined): void {
  if (!write || typeof write !== 'object') throw new TypeError('retained write must be an object');
  checkString('key', write.key);
  checkBytes('value', write.value);
  if (write.expiresAt !== undefined && write.expiresAt !== null && !Number.isFinite(write.expiresAt)) {
    throw new RangeError('expiresAt must be a finite number');
  }
  if (write.owner !== undefined && write.owner !== null) checkString('owner', write.owner);
  if (write.will !== undefined && write.will !== null) checkBytes('will', write.will);
  checkOptionalCount('expectVersion', expectVersion);
}

export function checkAppend(topic: string, value: Uint8Array, headers: Uint8Array | undefined, id: number | undefined): void {
  checkString('topic', topic);
  checkBytes('value', value);
  if (headers !== undefined && headers !== null) checkBytes('headers', headers);
  checkOptionalCount('id', id);
}

/** The id an append uses: the proposed one if it is above every id used, else the next one. */
export function nextHistoryId(last: number, proposed: number | undefined): number {
  return proposed !== undefined && proposed > last ? proposed : last + 1;
}

export function checkHistoryQuery(q: HistoryQuery): void {
  checkOptionalCount('afterId', q.afterId);
  checkOptionalCount('limit', q.limit);
  if (q.topics !== undefined) {
    if (!Array.isArray(q.topics)) throw new TypeError('topics must be an array');
    for (const t of q.topics) checkString('topic', t);
  }
  if (q.prefix !== undefined) checkString('prefix', q.prefix);
}

export function checkPrune(p: HistoryPrune): void {
  checkOptionalCount('maxCount', p.maxCount);
  checkOptionalCount('maxAgeMs', p.maxAgeMs);
  if (p.topic !== undefined) checkString('topic', p.topic);
}

export function checkCollectionKind(kind: CollectionKind, table: string, member?: Uint8Array): void {
  if (kind !== 'set' && kind !== 'zset') throw new RangeError("kind must be 'set' or 'zset'");
  checkString('table', table);
  if (member !== undefined) checkBytes('member', member);
}

export function checkCollectionWrite(w: CollectionWrite): void {
  if (!w || typeof w !== 'object') throw new TypeError('collection write must be an object');
  checkCollectionKind(w.kind, w.table, w.member);
  if (w.score !== undefined && !Number.isFinite(w.score)) throw new RangeError('score must be a finite number');
  if (w.scoreMode !== undefined && w.scoreMode !== 'set' && w.scoreMode !== 'add' && w.scoreMode !== 'sub') {
    throw new RangeError("scoreMode must be 'set', 'add' or 'sub'");
  }
  checkOptionalCount('expectVersion', w.expectVersion);
  if (w.expiresAt !== undefined && !Number.isFinite(w.expiresAt)) throw new RangeError('expiresAt must be a finite number');
}

export function checkCollectionRange(r: CollectionRange, kind: CollectionKind): void {
  if (!r || typeof r !== 'object') throw new TypeError('range must be an object');
  checkCount('offset', r.offset);
  checkCount('limit', r.limit);
  for (const b of [r.minScore, r.maxScore]) if (b !== undefined && Number.isNaN(b)) throw new RangeError('score bounds must be numbers');
  if (r.buckets !== undefined) {
    if (kind !== 'set') throw new RangeError('buckets apply to sets only (a sorted set is ordered by score)');
    const { start, end } = r.buckets;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start >= end || end > LISTING_BUCKETS) {
      throw new RangeError(`buckets must satisfy 0 <= start < end <= ${LISTING_BUCKETS}`);
    }
  }
}

/** How putRetained refuses a write whose `excludesCollection` names an existing collection table. */
export function wrongTypeError(table: string): RouterError {
  return new RouterError(ErrorUri.wrongType, `'${table}' is a set or sorted set: its name cannot also be a table of retained values`);
}

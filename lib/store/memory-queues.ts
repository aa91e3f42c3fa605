// Memory engine: hustmq durable queues (three FIFO priorities, unacked items with redelivery,
// lock, max, purge, workers).
import type { QueueGetOptions, QueueItem, QueuePriority, QueuePutResult, QueueStat, WorkerRecord } from '../core/store.ts';
import {
  QUEUE_DEFAULT_TIMEOUT_MS,
  QUEUE_MAX_WORKERS,
  QUEUE_WORKER_TTL_MS,
  formatQueueToken,
  parseQueueToken,
} from '../core/store.ts';
import type { EngineConfig } from './common.ts';
import { compareKeys, copyBytes } from './common.ts';

interface Item {
  seq: number;
  priority: QueuePriority;
  value: Uint8Array;
  deliveredAt?: number;
}

/** FIFO with O(1) amortised shift. */
class Fifo {
  private items: Item[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: Item): void {
    this.items.push(item);
  }

  shift(): Item | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as unknown as Item;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

interface Queue {
  name: string;
  ready: [Fifo, Fifo, Fifo];
  /** seq → item, in delivery order (re-inserted on every redelivery), so the first is the oldest. */
  unacked: Map<number, Item>;
  locked: boolean;
  max: number;
  timeoutMs: number;
  si: number;
  ci: number;
  createdAt: number;
  workers: Map<string, number>;
}

function readyTotal(q: Queue): number {
  return q.ready[0].length + q.ready[1].length + q.ready[2].length;
}

export class MemoryQueues {
  private readonly realms = new Map<string, Map<string, Queue>>();
  private seq = 0;

  constructor(private readonly config: EngineConfig) {}

  private find(realm: string, name: string): Queue | undefined {
    return this.realms.get(realm)?.get(name);
  }

  put(realm: string, name: string, value: Uint8Array, priority: QueuePriority, now: number): QueuePutResult {
    let queues = this.realms.get(realm);
    let q = queues?.get(name);
    if (!q) {
      if (queues && queues.size >= this.config.maxQueues) return 'too_many_queues';
      q = {
        name,
        ready: [new Fifo(), new Fifo(), new Fifo()],
        unacked: new Map(),
        locked: false,
        max: 0,
        timeoutMs: QUEUE_DEFAULT_TIMEOUT_MS,
        si: 0,
        ci: 0,
        createdAt: now,
        workers: new Map(),
      };
      if (!queues) {
        queues = new Map();
        this.realms.set(realm, queues);
      }
      queues.set(name, q);
    }
    if (q.locked) return 'locked';
    const ready = readyTotal(q);
    if ((q.max > 0 && ready >= q.max) || ready + q.unacked.size >= this.config.maxQueueItems) return 'full';
    q.ready[priority].push({ seq: ++this.seq, priority, value: copyBytes(value) });
    if (priority === 0) q.ci++;
    return 'ok';
  }

  get(realm: string, name: string, opts: QueueGetOptions, now: number): QueueItem | null {
    const q = this.find(realm, name);
    if (!q) return null;
    if (opts.worker !== undefined) this.touchQueue(q, opts.worker, now);
    const ack = opts.ack !== false;
    const oldest = q.unacked.values().next().value as Item | undefined;
    if (oldest && now - (oldest.deliveredAt as number) >= q.timeoutMs) {
      q.unacked.delete(oldest.seq);
      if (ack) return { value: oldest.value, priority: oldest.priority, redelivered: true };
      oldest.deliveredAt = now;
      q.unacked.set(oldest.seq, oldest);
      return { value: oldest.value, priority: oldest.priority, token: formatQueueToken(oldest.priority, oldest.seq), redelivered: true };
    }
    for (let p = 2; p >= 0; p--) {
      const item = q.ready[p].shift();
      if (!item) continue;
      if (p === 0) q.si++;
      if (ack) return { value: item.value, priority: item.priority, redelivered: false };
      item.deliveredAt = now;
      q.unacked.set(item.seq, item);
      return { value: item.value, priority: item.priority, token: formatQueueToken(item.priority, item.seq), redelivered: false };
    }
    return null;
  }

  ack(realm: string, name: string, token: string): boolean {
    const q = this.find(realm, name);
    const t = parseQueueToken(token);
    if (!q || !t) return false;
    const item = q.unacked.get(t.seq);
    if (!item || item.priority !== t.priority) return false;
    q.unacked.delete(t.seq);
    return true;
  }

  set(realm: string, name: string, patch: Partial<Pick<Queue, 'locked' | 'max' | 'timeoutMs'>>): boolean {
    const q = this.find(realm, name);
    if (!q) return false;
    Object.assign(q, patch);
    return true;
  }

  purge(realm: string, name: string, priority: QueuePriority | undefined): boolean {
    const q = this.find(realm, name);
    if (!q) return false;
    for (const p of priority === undefined ? [0, 1, 2] : [priority]) {
      q.ready[p].clear();
      if (p === 0) q.si = q.ci;
    }
    if (readyTotal(q) === 0) {
      const queues = this.realms.get(realm)!;
      queues.delete(name);
      if (queues.size === 0) this.realms.delete(realm);
    }
    return true;
  }

  stat(realm: string, name: string): QueueStat | null {
    const q = this.find(realm, name);
    return q ? statOf(q) : null;
  }

  statAll(realm: string): QueueStat[] {
    const queues = this.realms.get(realm);
    if (!queues) return [];
    return [...queues.values()].map(statOf).sort((a, b) => compareKeys(a.queue, b.queue));
  }

  touch(realm: string, name: string, worker: string, now: number): boolean {
    const q = this.find(realm, name);
    if (!q) return false;
    this.touchQueue(q, worker, now);
    return true;
  }

  private touchQueue(q: Queue, worker: string, now: number): void {
    if (!q.workers.has(worker) && q.workers.size >= QUEUE_MAX_WORKERS) {
      sweepWorkers(q, now);
      if (q.workers.size >= QUEUE_MAX_WORKERS) {
        let oldest: string | undefined;
        let oldestAt = Infinity;
        for (const [w, t] of q.workers) if (t < oldestAt) [oldest, oldestAt] = [w, t];
        q.workers.delete(oldest as string);
      }
    }
    q.workers.set(worker, now);
  }

  workers(realm: string, name: string, now: number): WorkerRecord[] | null {
    const q = this.find(realm, name);
    if (!q) return null;
    const out: WorkerRecord[] = [];
    for (const [w, t] of q.workers) if (now - t < QUEUE_WORKER_TTL_MS) out.push({ name: w, seenAt: t });
    return out.sort((a, b) => compareKeys(a.name, b.name));
  }

  sweep(now: number): number {
    let n = 0;
    for (const queues of this.realms.values()) for (const q of queues.values()) n += sweepWorkers(q, now);
    return n;
  }
}

function sweepWorkers(q: Queue, now: number): number {
  let n = 0;
  for (const [w, t] of q.workers) {
    if (now - t >= QUEUE_WORKER_TTL_MS) {
      q.workers.delete(w);
      n++;
    }
  }
  return n;
}

function statOf(q: Queue): QueueStat {
  return {
    queue: q.name,
    ready: [q.ready[0].length, q.ready[1].length, q.ready[2].length],
    unacked: q.unacked.size,
    max: q.max,
    locked: q.locked,
    timeoutMs: q.timeoutMs,
    si: q.si,
    ci: q.ci,
    createdAt: q.createdAt,
  };
}

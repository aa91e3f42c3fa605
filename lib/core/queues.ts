// Durable queues of one realm, over the Store: the operations, in-process wake-ups for parked
// waiters (they are released the moment an item is put, and re-checked against the store on a
// short interval for items that arrive any other way), and an optional binding to a topic prefix:
// once bound, a publish on `<prefix>.<queue>` from any client enqueues the item, and a put through
// this API publishes the item there, so subscribers see every item exactly once and the queue
// holds it exactly once.
import { RouterError } from './errors.ts';
import { Payload } from './payload.ts';
import type { Session } from './session.ts';
import type { QueueGetOptions, QueueItem, QueuePriority, QueuePutResult, QueueStat, Store, WorkerRecord } from './store.ts';
import { wampLevels } from './topic.ts';
import type { PublicationHeaders, PublishOptions } from './types.ts';

/** What the queue and stream services need from a realm. */
export interface BoundRealm {
  readonly name: string;
  readonly store: Store | undefined;
  readonly history: { addRule(rule: { uri: string; match?: 'exact' | 'prefix' | 'wildcard'; maxCount?: number; maxAgeMs?: number }): void };
  routePublication(topic: string[], payload: Payload, options: PublishOptions, from: Session | undefined): Promise<number>;
  observed(topic: readonly string[]): boolean;
}

export interface QueueBindOptions {
  /** Which names (the last topic level) are queues; others are routed as plain publications. */
  validName?: (name: string) => boolean;
  /** How often parked waiters are re-checked against the store, ms (default 200). */
  recheckMs?: number;
}

export interface QueueWaitOptions {
  signal?: AbortSignal;
  /** Give up after this long, ms (default: wait until aborted). */
  timeoutMs?: number;
}

/** 'ready': the queue has an item (another consumer may still take it first). */
export type QueueWaitOutcome = 'ready' | 'timeout' | 'aborted' | 'closed';

interface Waiter {
  settle(outcome: QueueWaitOutcome): void;
}

/** Queue topics kept by topicOf; past this many distinct queues the cache starts over. */
const TOPIC_CACHE_MAX = 10_000;

export const QueueErrorUri = {
  noStore: 'kitsune.error.no_store',
  refused: 'kitsune.error.queue_refused',
} as const;

export function readyTotal(stat: QueueStat): number {
  return stat.ready[0] + stat.ready[1] + stat.ready[2];
}

/** Priority of an item published on a bound topic: an MQTT 5 user property `priori` (0-2), else 0. */
function priorityOf(headers: PublicationHeaders | undefined): QueuePriority {
  const p = headers?.userProperties?.priori;
  const v = Array.isArray(p) ? p[0] : p;
  return v === '1' ? 1 : v === '2' ? 2 : 0;
}

export class QueueService {
  private prefix: string[] | undefined;
  private validName: (name: string) => boolean = () => true;
  private readonly waiters = new Map<string, Waiter[]>();
  /** Queue topics handed out (see topicOf). */
  private readonly topics = new Map<string, string[]>();
  private recheckMs = 200;
  private timer: NodeJS.Timeout | undefined;
  private rechecking = false;

  constructor(private readonly realm: BoundRealm) {}

  private get store(): Store {
    const store = this.realm.store;
    if (!store) throw new RouterError(QueueErrorUri.noStore, `realm '${this.realm.name}' has no store: durable queues need one`);
    return store;
  }

  private get r(): string {
    return this.realm.name;
  }

  /** Binds the queues to `<prefix>.<queue>` topics (WAMP URI; MQTT writes it with '/'). */
  bind(prefix: string, options: QueueBindOptions = {}): void {
    this.prefix = wampLevels(prefix);
    this.topics.clear();
    if (options.validName) this.validName = options.validName;
    if (options.recheckMs !== undefined && options.recheckMs > 0) this.recheckMs = options.recheckMs;
  }

  unbind(): void {
    this.prefix = undefined;
    this.topics.clear();
    this.validName = () => true;
  }

  /**
   * The topic a queue's items are published on, when bound. One shared array per queue: a fresh
   * one per put missed the role's permission cache (keyed by the array) every time.
   */
  topicOf(queue: string): string[] | undefined {
    if (!this.prefix) return undefined;
    let topic = this.topics.get(queue);
    if (!topic) {
      if (this.topics.size >= TOPIC_CACHE_MAX) this.topics.clear();
      topic = [...this.prefix, queue];
      this.topics.set(queue, topic);
    }
    return topic;
  }

  /** The queue a topic names: exactly one level below the prefix, and a valid name. */
  queueOf(topic: readonly string[]): string | undefined {
    const p = this.prefix;
    if (!p || topic.length !== p.length + 1) return undefined;
    for (let i = 0; i < p.length; i++) if (topic[i] !== p[i]) return undefined;
    const name = topic[p.length] as string;
    return this.validName(name) ? name : undefined;
  }

  /** Enqueues, then (when bound) publishes the item on the queue's topic. Resolves once committed. */
  put(queue: string, value: Uint8Array, priority: QueuePriority = 0, from?: Session): Promise<QueuePutResult> {
    return this.store.queuePut(this.r, queue, value, priority).then((result) => {
      if (result !== 'ok') return result;
      this.release(queue, 1);
      const topic = this.topicOf(queue);
      // the item is committed: the put is done whatever happens to the publication of it (which is
      // skipped when nobody would see it: most queues are only read with get)
      if (topic && this.realm.observed(topic)) this.realm.routePublication(topic, Payload.fromBytes(value), {}, from).catch(() => undefined);
      return result;
    });
  }

  /**
   * The realm's publish hook: a client's publication on a bound topic is enqueued first (refused
   * when the queue is locked or full), then routed as usual. Undefined when the topic is not bound.
   */
  publishBound(topic: readonly string[], payload: Payload, options: PublishOptions, from: Session | undefined): Promise<number> | undefined {
    const queue = this.queueOf(topic);
    if (queue === undefined || payload.isEmpty) return undefined;
    return this.enqueueThenRoute(queue, topic as string[], payload, options, from);
  }

  private async enqueueThenRoute(queue: string, topic: string[], payload: Payload, options: PublishOptions, from: Session | undefined): Promise<number> {
    const result = await this.store.queuePut(this.r, queue, payload.bytes, priorityOf(options.headers));
    if (result !== 'ok') throw new RouterError(QueueErrorUri.refused, `queue '${queue}' refused the item (${result})`);
    this.release(queue, 1);
    return this.realm.routePublication(topic, payload, options, from);
  }

  get(queue: string, options: QueueGetOptions = {}): Promise<QueueItem | null> {
    return this.store.queueGet(this.r, queue, options);
  }

  ack(queue: string, token: string): Promise<boolean> {
    return this.store.queueAck(this.r, queue, token);
  }

  setTimeout(queue: string, timeoutMs: number): Promise<boolean> {
    return this.store.queueSetTimeout(this.r, queue, timeoutMs);
  }

  setLock(queue: string, locked: boolean): Promise<boolean> {
    return this.store.queueSetLock(this.r, queue, locked);
  }

  setMax(queue: string, max: number): Promise<boolean> {
    return this.store.queueSetMax(this.r, queue, max);
  }

  purge(queue: string, priority?: QueuePriority): Promise<boolean> {
    return this.store.queuePurge(this.r, queue, priority);
  }

  stat(queue: string): Promise<QueueStat | null> {
    return this.store.queueStat(this.r, queue);
  }

  statAll(): Promise<QueueStat[]> {
    return this.store.queueStatAll(this.r);
  }

  touchWorker(queue: string, name: string): Promise<boolean> {
    return this.store.touchWorker(this.r, queue, name);
  }

  listWorkers(queue: string): Promise<WorkerRecord[] | null> {
    return this.store.listWorkers(this.r, queue);
  }

  /**
   * Parks until the queue has a ready item. Waiters are released FIFO: one per item put, and on
   * every re-check as many as there are ready items.
   */
  wait(queue: string, options: QueueWaitOptions = {}): Promise<QueueWaitOutcome> {
    if (options.signal?.aborted) return Promise.resolve('aborted');
    return new Promise<QueueWaitOutcome>((resolve) => {
      let list = this.waiters.get(queue);
      if (!list) this.waiters.set(queue, (list = []));
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => waiter.settle('aborted');
      const waiter: Waiter = {
        settle: (outcome) => {
          const l = this.waiters.get(queue);
          const i = l ? l.indexOf(waiter) : -1;
          if (i < 0) return;
          (l as Waiter[]).splice(i, 1);
          if ((l as Waiter[]).length === 0) this.waiters.delete(queue);
          if (timer) clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          resolve(outcome);
        },
      };
      list.push(waiter);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) timer = setTimeout(() => waiter.settle('timeout'), options.timeoutMs);
      this.startTimer();
      void this.check(queue);
    });
  }

  /** Waiters parked on a queue (all queues when omitted). */
  waiting(queue?: string): number {
    if (queue !== undefined) return this.waiters.get(queue)?.length ?? 0;
    let n = 0;
    for (const l of this.waiters.values()) n += l.length;
    return n;
  }

  /** Re-checks every queue that has waiters against the store now. */
  async recheck(): Promise<void> {
    await Promise.all([...this.waiters.keys()].map((q) => this.check(q)));
  }

  /** Releases every waiter with 'closed' and stops the timer. */
  close(): void {
    for (const list of [...this.waiters.values()]) for (const w of [...list]) w.settle('closed');
    this.stopTimer();
  }

  private release(queue: string, n: number): void {
    const list = this.waiters.get(queue);
    for (let i = 0; i < n && list && list.length > 0; i++) (list[0] as Waiter).settle('ready');
  }

  private async check(queue: string): Promise<void> {
    if (!this.waiters.has(queue)) return;
    try {
      const stat = await this.store.queueStat(this.r, queue);
      if (stat) this.release(queue, readyTotal(stat));
    } catch {
      // the store is closing; the waiters time out or are closed
    }
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.waiters.size === 0) {
        this.stopTimer();
        return;
      }
      if (this.rechecking) return;
      this.rechecking = true;
      this.recheck().finally(() => (this.rechecking = false));
    }, this.recheckMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** The in-process client's view of the realm's durable queues (see QueueService). */
export class QueueApi {
  constructor(
    private readonly service: QueueService,
    private readonly session: Session,
  ) {}

  bind(prefix: string, options?: QueueBindOptions): void {
    this.service.bind(prefix, options);
  }
  unbind(): void {
    this.service.unbind();
  }
  put(queue: string, value: Uint8Array, priority: QueuePriority = 0): Promise<QueuePutResult> {
    return this.service.put(queue, value, priority, this.session);
  }
  get(queue: string, options?: QueueGetOptions): Promise<QueueItem | null> {
    return this.service.get(queue, options);
  }
  ack(queue: string, token: string): Promise<boolean> {
    return this.service.ack(queue, token);
  }
  setTimeout(queue: string, timeoutMs: number): Promise<boolean> {
    return this.service.setTimeout(queue, timeoutMs);
  }
  setLock(queue: string, locked: boolean): Promise<boolean> {
    return this.service.setLock(queue, locked);
  }
  setMax(queue: string, max: number): Promise<boolean> {
    return this.service.setMax(queue, max);
  }
  purge(queue: string, priority?: QueuePriority): Promise<boolean> {
    return this.service.purge(queue, priority);
  }
  stat(queue: string): Promise<QueueStat | null> {
    return this.service.stat(queue);
  }
  statAll(): Promise<QueueStat[]> {
    return this.service.statAll();
  }
  touchWorker(queue: string, name: string): Promise<boolean> {
    return this.service.touchWorker(queue, name);
  }
  listWorkers(queue: string): Promise<WorkerRecord[] | null> {
    return this.service.listWorkers(queue);
  }
  wait(queue: string, options?: QueueWaitOptions): Promise<QueueWaitOutcome> {
    return this.service.wait(queue, options);
  }
  waiting(queue?: string): number {
    return this.service.waiting(queue);
  }
  recheck(): Promise<void> {
    return this.service.recheck();
  }
  /** Releases every parked waiter with 'closed'. */
  close(): void {
    this.service.close();
  }
}

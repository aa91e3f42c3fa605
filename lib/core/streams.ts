// Indexed streams of one realm: the topics `<prefix>.<name>` keep their events in the realm's
// history (a rule added at bind time), and each event gets the next index of its stream, so a
// reader can ask for event number I, or wait for it. Every event has its own time to live. The
// index and expiry travel with the event (user property `idx`, expiry header), so the windows
// are rebuilt from history after a restart. A publish on such a topic from any client (WAMP,
// MQTT) takes the next index too.
import { decodePublication, topicKey } from './codec.ts';
import { ErrorUri, RouterError } from './errors.ts';
import type { Payload } from './payload.ts';
import type { BoundRealm } from './queues.ts';
import type { Session } from './session.ts';
import type { Store } from './store.ts';
import { StreamWindow, type WindowEntry } from './stream-window.ts';
import { wampLevels } from './topic.ts';
import type { PublishOptions } from './types.ts';

export interface StreamBindOptions {
  /** Time to live of an event published without one, ms (default 900 s). */
  defaultTtlMs?: number;
  /** Longest time to live, ms (default 7200 s); also the history rule's age bound. */
  maxTtlMs?: number;
  /** Most events kept per stream (default 100,000); the oldest leave the window beyond it. */
  maxItems?: number;
  /** Indexes wrap to 0 here (default 11,000,000). */
  wrap?: number;
  /** Most streams (default 8192); publishing to one more is refused. */
  maxStreams?: number;
  /** Which names (the last topic level) are streams. */
  validName?: (name: string) => boolean;
}

export interface StreamStat {
  name: string;
  /** The window is (si, ci]. */
  si: number;
  ci: number;
  /** Events in the window. */
  size: number;
  /** Last publish, ms since epoch. */
  tm: number;
}

export interface StreamPublishOptions {
  ttlMs?: number;
  /** Publish at this index when it is ahead of ci: the window restarts there. */
  idx?: number;
}

export type StreamRead = { payload: Payload; idx: number; id: number } | { missing: string };

export interface StreamWaitOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * 'ready': idx is in the window. 'outside': the window is not empty and idx is not in it, ci+1
 * included (the caller should pick one in si+1..ci). Waits only while the window is empty.
 */
export interface StreamWaitResult {
  outcome: 'ready' | 'outside' | 'timeout' | 'aborted' | 'closed';
  si: number;
  ci: number;
}

interface Waiter {
  idx: number;
  settle(outcome: StreamWaitResult['outcome']): void;
}

export const StreamErrorUri = { tooMany: 'kitsune.error.too_many_streams' } as const;

const USER_PROPERTY = 'idx';

export class StreamService {
  private prefix: string[] | undefined;
  private opts: Required<StreamBindOptions> = {
    defaultTtlMs: 900_000,
    maxTtlMs: 7_200_000,
    maxItems: 100_000,
    wrap: 11_000_000,
    maxStreams: 8192,
    validName: () => true,
  };
  private readonly windows = new Map<string, StreamWindow>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private ruleAdded = false;

  constructor(private readonly realm: BoundRealm) {}

  private get store(): Store {
    const store = this.realm.store;
    if (!store) throw new RouterError('kitsune.error.no_store', `realm '${this.realm.name}' has no store: streams need history`);
    return store;
  }

  /** Binds streams to `<prefix>.<name>`, adds the history rule and rebuilds the windows from history. */
  async bind(prefix: string, options: StreamBindOptions = {}): Promise<void> {
    const store = this.store;
    this.prefix = wampLevels(prefix);
    this.opts = { ...this.opts, ...options };
    if (!this.ruleAdded) {
      this.realm.history.addRule({ uri: `${prefix}.`, match: 'prefix', maxCount: this.opts.maxItems, maxAgeMs: this.opts.maxTtlMs });
      this.ruleAdded = true;
    }
    this.windows.clear();
    const keyPrefix = topicKey(this.prefix).slice(0, -1) + ',';
    const now = Date.now();
    for (const e of await store.readHistory(this.realm.name, { prefix: keyPrefix })) {
      const d = decodePublication(e.value);
      const name = this.nameOf(d.topic);
      const idx = Number(d.headers?.userProperties?.[USER_PROPERTY]);
      if (name === undefined || !Number.isInteger(idx) || idx < 0 || idx >= this.opts.wrap) continue;
      let w = this.windows.get(name);
      if (!w) this.windows.set(name, (w = new StreamWindow(this.opts.wrap)));
      w.restore(idx, d.headers?.expiresAt ?? e.timestamp + this.opts.defaultTtlMs, e.id, e.timestamp);
    }
    for (const w of this.windows.values()) {
      w.pruneExpired(now);
      w.trim(this.opts.maxItems);
    }
  }

  /** The stream a topic names: exactly one level below the prefix, and a valid name. */
  nameOf(topic: readonly string[]): string | undefined {
    const p = this.prefix;
    if (!p || topic.length !== p.length + 1) return undefined;
    for (let i = 0; i < p.length; i++) if (topic[i] !== p[i]) return undefined;
    const name = topic[p.length] as string;
    return this.opts.validName(name) ? name : undefined;
  }

  has(name: string): boolean {
    return this.windows.has(name);
  }

  stat(name: string): StreamStat | null {
    const w = this.windows.get(name);
    if (!w) return null;
    w.pruneExpired(Date.now());
    return { name, si: w.si, ci: w.ci, size: w.size, tm: w.tm };
  }

  statAll(): StreamStat[] {
    return [...this.windows.keys()].sort().map((n) => this.stat(n) as StreamStat);
  }

  /** Publishes at the next index (or at `idx`, when ahead). Resolves once committed. */
  publish(name: string, payload: Payload, options: StreamPublishOptions = {}, from?: Session): Promise<{ idx: number; id: number }> {
    if (!this.prefix) return Promise.reject(new RouterError(ErrorUri.unavailable, 'streams are not bound to a topic prefix'));
    const ttl = options.ttlMs ?? this.opts.defaultTtlMs;
    if (!(ttl > 0 && ttl <= this.opts.maxTtlMs)) {
      return Promise.reject(new RouterError(ErrorUri.invalidArgument, `ttl must be in (0, ${this.opts.maxTtlMs}] ms`));
    }
    return this.append([...this.prefix, name], name, payload, ttl, options.idx, {}, from);
  }

  /** The realm's publish hook: a client's publication on a stream topic takes the next index. */
  publishBound(topic: readonly string[], payload: Payload, options: PublishOptions, from: Session | undefined): Promise<number> | undefined {
    const name = this.nameOf(topic);
    if (name === undefined) return undefined;
    const now = Date.now();
    const asked = options.headers?.expiresAt;
    const ttl = asked !== undefined && asked > now ? Math.min(asked - now, this.opts.maxTtlMs) : this.opts.defaultTtlMs;
    return this.append(topic as string[], name, payload, ttl, undefined, options, from).then((r) => r.id);
  }

  private async append(topic: string[], name: string, payload: Payload, ttlMs: number, idx: number | undefined, options: PublishOptions, from: Session | undefined): Promise<{ idx: number; id: number }> {
    let w = this.windows.get(name);
    if (!w) {
      if (this.windows.size >= this.opts.maxStreams) throw new RouterError(StreamErrorUri.tooMany, `at most ${this.opts.maxStreams} streams`);
      this.windows.set(name, (w = new StreamWindow(this.opts.wrap)));
    }
    const now = Date.now();
    w.pruneExpired(now);
    const entry = w.append(now + ttlMs, now, idx);
    w.trim(this.opts.maxItems);
    const headers = { ...options.headers, expiresAt: entry.expiresAt, userProperties: { ...options.headers?.userProperties, [USER_PROPERTY]: String(entry.idx) } };
    entry.committed = this.realm.routePublication(topic, payload, { ...options, headers }, from);
    try {
      entry.id = await entry.committed;
    } catch (err) {
      entry.failed = true;
      throw err;
    } finally {
      this.wake(name);
    }
    return { idx: entry.idx, id: entry.id };
  }

  /** Reads event `idx` of a stream from history. */
  async read(name: string, idx: number): Promise<StreamRead> {
    const w = this.windows.get(name);
    if (!w || !this.prefix) return { missing: `no stream '${name}'` };
    w.pruneExpired(Date.now());
    const e: WindowEntry | undefined = w.entry(idx);
    if (!e) return { missing: w.size === 0 ? `the window of '${name}' is empty` : `index ${idx} is outside the window ${w.si}-${w.ci}` };
    let id = e.id;
    if (id === 0) {
      try {
        id = await (e.committed as Promise<number>);
      } catch {
        return { missing: `event ${idx} was not stored` };
      }
    }
    const [stored] = await this.store.readHistory(this.realm.name, { afterId: id - 1, limit: 1, topics: [topicKey([...this.prefix, name])] });
    if (!stored || stored.id !== id) return { missing: `event ${idx} is no longer stored` };
    if (e.expiresAt <= Date.now()) return { missing: `event ${idx} has expired` };
    return { payload: decodePublication(stored.value).payload, idx, id };
  }

  /** Parks while the window is empty; then 'ready' or 'outside' (see StreamWaitResult). */
  wait(name: string, idx: number, options: StreamWaitOptions = {}): Promise<StreamWaitResult> {
    const now = this.evaluate(name, idx);
    if (now) return Promise.resolve(now);
    if (options.signal?.aborted) return Promise.resolve(this.result(name, 'aborted'));
    return new Promise<StreamWaitResult>((resolve) => {
      let set = this.waiters.get(name);
      if (!set) this.waiters.set(name, (set = new Set()));
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => waiter.settle('aborted');
      const waiter: Waiter = {
        idx,
        settle: (outcome) => {
          const s = this.waiters.get(name);
          if (!s?.delete(waiter)) return;
          if (s.size === 0) this.waiters.delete(name);
          if (timer) clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          resolve(this.result(name, outcome));
        },
      };
      set.add(waiter);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) timer = setTimeout(() => waiter.settle('timeout'), options.timeoutMs);
    });
  }

  waiting(name?: string): number {
    if (name !== undefined) return this.waiters.get(name)?.size ?? 0;
    let n = 0;
    for (const s of this.waiters.values()) n += s.size;
    return n;
  }

  close(): void {
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.settle('closed');
  }

  private result(name: string, outcome: StreamWaitResult['outcome']): StreamWaitResult {
    const w = this.windows.get(name);
    return { outcome, si: w?.si ?? 0, ci: w?.ci ?? 0 };
  }

  private evaluate(name: string, idx: number): StreamWaitResult | undefined {
    const w = this.windows.get(name);
    if (!w) return undefined;
    w.pruneExpired(Date.now());
    if (w.size === 0) return undefined;
    // hustmq's evsub: only an empty window parks; ci+1 while events are kept is 'outside' too
    return this.result(name, w.contains(idx) ? 'ready' : 'outside');
  }

  private wake(name: string): void {
    const set = this.waiters.get(name);
    if (!set) return;
    for (const waiter of [...set]) {
      const r = this.evaluate(name, waiter.idx);
      if (r) waiter.settle(r.outcome);
    }
  }
}

/** The in-process client's view of the realm's indexed streams (see StreamService). */
export class StreamApi {
  constructor(
    private readonly service: StreamService,
    private readonly session: Session,
  ) {}

  bind(prefix: string, options?: StreamBindOptions): Promise<void> {
    return this.service.bind(prefix, options);
  }
  has(name: string): boolean {
    return this.service.has(name);
  }
  stat(name: string): StreamStat | null {
    return this.service.stat(name);
  }
  statAll(): StreamStat[] {
    return this.service.statAll();
  }
  /** Publishes bytes (HTTP/MQTT-native) at the next index. */
  publish(name: string, payload: Payload, options?: StreamPublishOptions): Promise<{ idx: number; id: number }> {
    return this.service.publish(name, payload, options, this.session);
  }
  read(name: string, idx: number): Promise<StreamRead> {
    return this.service.read(name, idx);
  }
  wait(name: string, idx: number, options?: StreamWaitOptions): Promise<StreamWaitResult> {
    return this.service.wait(name, idx, options);
  }
  waiting(name?: string): number {
    return this.service.waiting(name);
  }
  /** Releases every parked waiter with 'closed'. */
  close(): void {
    this.service.close();
  }
}

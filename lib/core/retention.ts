// Retained state with conditional writes: the in-memory tree (for subscribe-time matching), written
// through to the Store before anyone sees a write. `when` conditions are checked against the
// current value before anything is delivered; `watch` parks a write FIFO until its condition holds;
// `will` is applied when the writing session ends while it still owns the key. This is what resource
// locks are built on.
import { decodePublication, encodePayload, encodePublication, decodePayload, topicKey } from './codec.ts';
import { ErrorUri, RouterError } from './errors.ts';
import type { DeliveryOrder } from './delivery-order.ts';
import type { PublicationIds } from './history.ts';
import type { Logger } from './log.ts';
import { Payload } from './payload.ts';
import { RetainedTree } from './retained.ts';
import { SkipList } from './skip-list.ts';
import type { Store } from './store.ts';
import type { Publication, PublishOptions } from './types.ts';
import { sameValue } from './values.ts';

export interface RetainedEntry {
  publication: Publication;
  /** The key's own write count: 1 on creation, +1 per write; a delete or expiry forgets it (hustdb's Version). */
  revision: number;
  /** Session id that owns the key (wrote it with a condition or a will). */
  owner?: number;
  /** What to write when the owner ends: a payload, or null to delete. */
  will?: Payload | null;
}

/** A write parked by `watch` until its `when` condition holds. */
interface Waiter {
  owner: number | undefined;
  publication: Publication;
  options: PublishOptions;
  resolve(): void;
  reject(err: unknown): void;
}

export type Deliver = (publication: Publication, options: PublishOptions) => void | Promise<void>;

/** An empty payload (or a lone null for WAMP) clears a retained topic. */
export function isRetainedDelete(payload: Payload): boolean {
  if (payload.isBytes) return payload.bytes.length === 0;
  if (payload.isEmpty) return true;
  const args = payload.args;
  return !payload.kwargs && args !== undefined && args.length === 1 && args[0] === null;
}

export class Retention {
  readonly tree = new RetainedTree<RetainedEntry>();
  private readonly waiters = new Map<string, Waiter[]>();
  /** Keys each session owns, so its wills run without a scan. */
  private readonly owned = new Map<number, Set<string>>();
  private readonly topics = new Map<string, string[]>();
  /** Keys whose value has an expiry, ordered by (expiresAt, key): purgeExpired() takes them from the front. */
  private readonly expiring = new SkipList<undefined>();

  constructor(
    private readonly realm: string,
    private readonly store: Store | undefined,
    private readonly ids: PublicationIds,
    private readonly order: DeliveryOrder,
    private readonly deliver: Deliver,
    private readonly logger: Logger,
    private readonly maxParkedPerSession = Infinity,
    /** Retained topics the realm may hold; a write of a new key past it is refused. */
    private readonly maxRetained = Infinity,
    /** Counts a refusal at one of these limits. */
    private readonly refused: () => void = () => {},
  ) {}

  /** Parked writes per session, bounded so one client cannot pile up memory. */
  private readonly parked = new Map<number | undefined, number>();

  /** Loads retained state from the store; owners from before a restart are gone, so their wills run now. */
  async load(): Promise<void> {
    if (!this.store) return;
    const records = await this.store.listRetained(this.realm);
    const wills: { topic: string[]; will: Payload | null }[] = [];
    for (const r of records) {
      const d = decodePublication(r.value);
      const publication: Publication = { id: this.ids.take(), topic: d.topic, payload: d.payload, publisher: d.publisher, qos: d.qos, retain: true, headers: d.headers, frames: new Map() };
      this.tree.set(d.topic, { publication, revision: r.revision });
      this.topics.set(r.key, d.topic);
      this.track(r.key, d.headers?.expiresAt);
      if (r.owner !== undefined && r.will !== undefined) wills.push({ topic: d.topic, will: r.will === null ? null : decodePayload(r.will) });
    }
    for (const w of wills) {
      this.logger.info({ realm: this.realm, topic: w.topic.join('/') }, 'applying the will of a session lost before restart');
      await this.applyWill(w.topic, w.will, 0);
    }
  }

  get(topic: readonly string[]): RetainedEntry | undefined {
    return this.tree.get(topic);
  }

  /** The entry unless its expiry has passed. */
  live(topic: readonly string[], now = Date.now()): RetainedEntry | undefined {
    const entry = this.tree.get(topic);
    const expiresAt = entry?.publication.headers?.expiresAt;
    return expiresAt !== undefined && expiresAt <= now ? undefined : entry;
  }

  /** Locks: keys a live session owns (written with a condition or a will), and writes parked waiting on a key. */
  lockCounts(): { held: number; waiting: number } {
    let held = 0;
    let waiting = 0;
    for (const keys of this.owned.values()) held += keys.size;
    for (const list of this.waiters.values()) waiting += list.length;
    return { held, waiting };
  }

  /**
   * Drops expired values from memory (the store purges its copies in its own sweep), at most `max`
   * of them: O(purged · log n). Returns how many it dropped.
   */
  purgeExpired(now = Date.now(), max = Infinity): number {
    let n = 0;
    for (let first = this.expiring.seek(); first && first.score <= now && n < max; first = this.expiring.seek()) {
      this.expiring.remove(first.score, first.key);
      const topic = this.topics.get(first.key);
      if (!topic || this.live(topic, now)) continue;
      this.tree.delete(topic);
      this.topics.delete(first.key);
      n++;
    }
    return n;
  }

  /** Files a key under its expiry (none: nothing to file). */
  private track(key: string, expiresAt: number | undefined): void {
    if (expiresAt !== undefined) this.expiring.insert(expiresAt, key, undefined);
  }

  private untrack(key: string, entry: RetainedEntry | undefined): void {
    const expiresAt = entry?.publication.headers?.expiresAt;
    if (expiresAt !== undefined) this.expiring.remove(expiresAt, key);
  }

  /**
   * A retained or conditional publish. Resolves once the write is committed and delivered;
   * rejects when the condition fails (without watch) or the key is owned by another session.
   */
  write(sessionId: number | undefined, publication: Publication, options: PublishOptions): Promise<void> {
    const key = topicKey(publication.topic);
    if (options.when !== undefined && !this.holds(publication.topic, options.when)) {
      if (!options.watch) {
        return Promise.reject(new RouterError(ErrorUri.conditionFailed, `condition on '${publication.topic.join('.')}' does not hold`));
      }
      const parked = this.parked.get(sessionId) ?? 0;
      if (parked >= this.maxParkedPerSession) {
        this.refused();
        return Promise.reject(new RouterError(ErrorUri.limitExceeded, `session has ${parked} conditional writes waiting already`));
      }
      this.parked.set(sessionId, parked + 1);
      const unpark = (): void => {
        const n = (this.parked.get(sessionId) ?? 1) - 1;
        if (n > 0) this.parked.set(sessionId, n);
        else this.parked.delete(sessionId);
      };
      return new Promise((resolve, reject) => {
        let list = this.waiters.get(key);
        if (!list) this.waiters.set(key, (list = []));
        list.push({
          owner: sessionId,
          publication,
          options,
          resolve: () => (unpark(), resolve()),
          reject: (err) => (unpark(), reject(err)),
        });
      });
    }
    return this.apply(sessionId, publication, options);
  }

  /** A session ended: drop its parked writes and apply the wills of the keys it still owns. */
  async sessionEnded(sessionId: number): Promise<void> {
    for (const [key, list] of this.waiters) {
      const kept = list.filter((w) => {
        if (w.owner !== sessionId) return true;
        w.reject(new RouterError(ErrorUri.canceled, 'session ended'));
        return false;
      });
      if (kept.length === 0) this.waiters.delete(key);
      else this.waiters.set(key, kept);
    }
    const keys = this.owned.get(sessionId);
    if (!keys) return;
    this.owned.delete(sessionId);
    for (const key of keys) {
      const topic = this.topics.get(key);
      const entry = topic && this.tree.get(topic);
      if (!topic || !entry || entry.owner !== sessionId || entry.will === undefined) continue;
      await this.applyWill(topic, entry.will, sessionId).catch((err: unknown) => this.logger.error({ err, realm: this.realm, topic: topic.join('/') }, 'applying a will failed'));
    }
  }

  private holds(topic: readonly string[], when: unknown): boolean {
    const entry = this.tree.get(topic);
    if (when === null) return entry === undefined;
    return entry !== undefined && sameValue(entry.publication.payload.value, when);
  }

  private async applyWill(topic: string[], will: Payload | null, _owner: number): Promise<void> {
    const payload = will ?? Payload.empty();
    const publication: Publication = { id: this.ids.take(), topic, payload, qos: 0, retain: true, frames: new Map() };
    // A will is the router's write: it is not owned and needs no force.
    await this.apply(undefined, publication, { retain: true, force: true });
  }

  private apply(sessionId: number | undefined, publication: Publication, options: PublishOptions): Promise<void> {
    const topic = publication.topic;
    const key = topicKey(topic);
    const previous = this.tree.get(topic);
    const previousLive = previous !== undefined && this.live(topic) !== undefined;
    if (previous?.owner !== undefined && previous.owner !== sessionId && !options.force) {
      return Promise.reject(new RouterError(ErrorUri.notAuthorized, `'${topic.join('.')}' is held by session ${previous.owner}; pass force to override`));
    }
    const remove = isRetainedDelete(publication.payload);
    if (!remove && previous === undefined && this.tree.size >= this.maxRetained) {
      this.refused();
      return Promise.reject(new RouterError(ErrorUri.limitExceeded, `realm '${this.realm}' holds its limit of ${this.maxRetained} retained topics`));
    }
    const owns = sessionId !== undefined && (options.when !== undefined || options.will !== undefined) && !remove;
    let entry: RetainedEntry | undefined;
    this.untrack(key, previous);
    if (remove) {
      this.tree.delete(topic);
      this.topics.delete(key);
    } else {
      entry = { publication, revision: previousLive ? previous.revision + 1 : 1 };
      this.track(key, publication.headers?.expiresAt);
      if (owns) {
        entry.owner = sessionId;
        if (options.will !== undefined) entry.will = options.will === null ? null : Payload.fromArgs([options.will]);
        let set = this.owned.get(sessionId);
        if (!set) this.owned.set(sessionId, (set = new Set()));
        set.add(key);
      }
      this.tree.set(topic, entry);
      this.topics.set(key, topic);
    }
    if (previous?.owner !== undefined && previous.owner !== entry?.owner) this.owned.get(previous.owner)?.delete(key);
    const committed = this.commit(key, topic, entry, publication, options.excludesCollection);
    let delivered = false;
    // Deliveries follow the order of the writes, whatever order the store settles them in.
    const result = this.order.after(committed, async () => {
      delivered = true;
      await this.deliver(publication, options);
      // The retained copy lives on; the frames encoded for this fan-out need not.
      publication.frames.clear();
    }).catch(
      (err: unknown) => {
        if (delivered) throw err;
        // Not stored: undo in memory if nothing newer replaced it, and tell the publisher.
        if (this.tree.get(topic) === entry) this.undo(key, topic, entry, previous);
        if (err instanceof RouterError) throw err;
        this.logger.error({ err, realm: this.realm, topic: topic.join('/') }, 'retained write failed');
        throw new RouterError(ErrorUri.storeFailed, `could not store '${topic.join('.')}': ${err instanceof Error ? err.message : String(err)}`);
      },
    );
    // Parked writers re-check now: their writes queue behind this one, so they commit after it.
    this.wake(key);
    return result;
  }

  /** Puts `previous` back in place of a write the store refused. */
  private undo(key: string, topic: string[], entry: RetainedEntry | undefined, previous: RetainedEntry | undefined): void {
    this.untrack(key, entry);
    if (previous) {
      this.tree.set(topic, previous);
      this.topics.set(key, topic);
      this.track(key, previous.publication.headers?.expiresAt);
    } else {
      this.tree.delete(topic);
      this.topics.delete(key);
    }
  }

  /**
   * Async so that a store (or encoder) that throws at once is undone like one that rejects. The
   * store call itself is made synchronously, so stores see writes in the order they were made.
   */
  private async commit(key: string, topic: string[], entry: RetainedEntry | undefined, publication: Publication, excludesCollection?: string): Promise<unknown> {
    if (!this.store) return;
    if (!entry) return this.store.deleteRetained(this.realm, key);
    return this.store.putRetained(this.realm, {
      key,
      value: encodePublication(topic, publication.payload, publication.qos, publication.publisher, publication.headers),
      owner: entry.owner !== undefined ? String(entry.owner) : undefined,
      will: entry.will === undefined ? undefined : entry.will === null ? null : encodePayload(entry.will),
      expiresAt: publication.headers?.expiresAt,
      revision: entry.revision,
      excludesCollection,
    });
  }

  /** Lets the first parked writers whose condition now holds proceed, in FIFO order. */
  private wake(key: string): void {
    const list = this.waiters.get(key);
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      const w = list[i] as Waiter;
      if (!this.holds(w.publication.topic, w.options.when)) continue;
      list.splice(i, 1);
      if (list.length === 0) this.waiters.delete(key);
      // apply() wakes the remaining waiters again after this write.
      this.apply(w.owner, w.publication, w.options).then(w.resolve, w.reject);
      return;
    }
  }
}

// Event history: publications on topics that match a history rule of the realm are appended to the
// Store (before delivery) with their publication id, so a subscriber can ask for everything `after`
// an id it saw, also after a router restart. Ids are numbers and only grow.
import { decodePublication, encodePublication, topicKey } from './codec.ts';
import type { Logger } from './log.ts';
import type { Store } from './store.ts';
import { patternMatches, wampPattern } from './topic.ts';
import type { MatchPolicy, Pattern, Publication } from './types.ts';

export interface HistoryRule {
  /** WAMP URI pattern of the topics kept. */
  uri: string;
  match?: MatchPolicy;
  /** Keep at most this many events per topic (default 1000). */
  maxCount?: number;
  /** Drop events older than this (default: keep). */
  maxAgeMs?: number;
}

interface CompiledRule {
  pattern: Pattern;
  rule: HistoryRule;
  /** Topics written under this rule since start, pruned periodically. */
  topics: Set<string>;
}

/** Publication ids: at least the current time in µs, and above every id already stored, so they grow across restarts. */
export class PublicationIds {
  private last = 0;
  /** Date.now() in µs, read once per run of synchronous code: a clock read per publish was a measurable share of routing. */
  private clock = 0;
  private clockValid = false;

  seed(floor: number): void {
    this.last = Math.max(this.last, floor);
  }

  take(): number {
    const now = this.now();
    this.last = now > this.last ? now : this.last + 1;
    return this.last;
  }

  private now(): number {
    if (!this.clockValid) {
      this.clock = Date.now() * 1000;
      this.clockValid = true;
      queueMicrotask(this.expire);
    }
    return this.clock;
  }

  private readonly expire = (): void => {
    this.clockValid = false;
  };
}

const REPLAY_LIMIT = 100_000;

export class History {
  private readonly rules: CompiledRule[];

  constructor(
    private readonly realm: string,
    private readonly store: Store | undefined,
    rules: HistoryRule[],
    private readonly logger: Logger,
  ) {
    this.rules = rules.map((rule) => ({ pattern: wampPattern(rule.uri, rule.match ?? 'exact'), rule, topics: new Set() }));
  }

  /** Adds a rule at runtime (e.g. a bridge that keeps the events of its topics). */
  addRule(rule: HistoryRule): void {
    this.rules.push({ pattern: wampPattern(rule.uri, rule.match ?? 'exact'), rule, topics: new Set() });
  }

  get enabled(): boolean {
    return this.store !== undefined && this.rules.length > 0;
  }

  /** The largest id stored, to seed PublicationIds. */
  async maxId(): Promise<number> {
    if (!this.store) return 0;
    const newest = await this.store.readHistory(this.realm, { newest: true, limit: 1 });
    return newest[0]?.id ?? 0;
  }

  keeps(topic: readonly string[]): boolean {
    if (!this.store) return false;
    for (const r of this.rules) if (patternMatches(r.pattern, topic)) return true;
    return false;
  }

  async append(publication: Publication): Promise<void> {
    const store = this.store as Store;
    const key = topicKey(publication.topic);
    for (const r of this.rules) if (patternMatches(r.pattern, publication.topic)) r.topics.add(key);
    const blob = encodePublication(publication.topic, publication.payload, publication.qos, publication.publisher, publication.headers);
    // The store may take a higher id than proposed (never a lower one): the event is known by it.
    publication.id = await store.appendHistory(this.realm, key, blob, undefined, publication.id);
  }

  /** Stored publications after `afterId` whose topic matches the pattern, oldest first. */
  async replay(pattern: Pattern, afterId: number): Promise<Publication[]> {
    if (!this.store) return [];
    const query = pattern.match === 'exact' && !pattern.multi ? { afterId, limit: REPLAY_LIMIT, topics: [topicKey(pattern.levels as string[])] } : { afterId, limit: REPLAY_LIMIT };
    const entries = await this.store.readHistory(this.realm, query);
    const out: Publication[] = [];
    for (const e of entries) {
      const d = decodePublication(e.value);
      if (!patternMatches(pattern, d.topic)) continue;
      out.push({ id: e.id, topic: d.topic, payload: d.payload, publisher: d.publisher, qos: d.qos, retain: false, headers: d.headers, frames: new Map() });
    }
    return out;
  }

  /** Applies each rule's count and age bounds to the topics it kept. */
  async prune(): Promise<void> {
    if (!this.store) return;
    for (const r of this.rules) {
      for (const topic of r.topics) {
        await this.store.pruneHistory(this.realm, { topic, maxCount: r.rule.maxCount ?? 1000, maxAgeMs: r.rule.maxAgeMs });
      }
    }
    this.logger.debug({ realm: this.realm }, 'history pruned');
  }
}

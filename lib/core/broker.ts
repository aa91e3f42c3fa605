// Pub/sub: one trie of subscriptions for every protocol. A subscription is shared by all sessions
// that subscribe the same pattern (WAMP gives them one subscription id); MQTT share groups are
// separate subscriptions that deliver each publication to one member, round robin.
import { IdSequence } from './ids.ts';
import { patternKey } from './topic.ts';
import { PatternTrie } from './trie.ts';
import type { SessionHandle, Subscription } from './routing-types.ts';
import { matchesFilter } from './values.ts';
import type { EventDelivery, Pattern, PublishOptions, Publication, SubscriberInfo } from './types.ts';

class SubscriptionEntry implements Subscription {
  readonly subscribers = new Map<SessionHandle, SubscriberInfo>();
  readonly created = new Date().toISOString();
  private nextMember = 0;

  constructor(
    readonly id: number,
    readonly pattern: Pattern,
    readonly key: string,
    readonly shareGroup: string | undefined,
  ) {}

  /** The subscribers in join order, kept alongside the map so a share-group pick allocates nothing. */
  readonly members: SessionHandle[] = [];

  /** Round-robin pick among the share group's members that pass `eligible`. */
  pickMember(eligible: (s: SessionHandle) => boolean): SessionHandle | undefined {
    const members = this.members;
    for (let k = 0; k < members.length; k++) {
      const idx = (this.nextMember + k) % members.length;
      const s = members[idx] as SessionHandle;
      if (eligible(s)) {
        this.nextMember = idx + 1;
        return s;
      }
    }
    return undefined;
  }
}

export interface BrokerEvents {
  onCreate(session: SessionHandle, sub: Subscription): void;
  onSubscribe(session: SessionHandle, sub: Subscription): void;
  onUnsubscribe(session: SessionHandle, sub: Subscription): void;
  onDelete(session: SessionHandle, sub: Subscription): void;
}

/** Filters of one publish (exclude/eligible lists), evaluated per candidate subscriber. */
class Audience {
  private readonly opts: PublishOptions;
  private readonly publisherId: number | undefined;
  private readonly hasFilters: boolean;

  constructor(opts: PublishOptions, publisherId: number | undefined) {
    this.opts = opts;
    this.publisherId = publisherId;
    this.hasFilters = !!(opts.exclude || opts.excludeAuthid || opts.excludeAuthrole || opts.eligible || opts.eligibleAuthid || opts.eligibleAuthrole);
  }

  admits(s: SessionHandle, info: SubscriberInfo | undefined): boolean {
    if (s.id === this.publisherId) {
      if (this.opts.excludeMe !== false) return false;
      if (info?.noLocal) return false;
    }
    if (!this.hasFilters) return true;
    const o = this.opts;
    if (o.exclude?.includes(s.id)) return false;
    if (o.excludeAuthid?.includes(s.authid)) return false;
    if (o.excludeAuthrole?.includes(s.authrole)) return false;
    if (o.eligible && !o.eligible.includes(s.id)) return false;
    if (o.eligibleAuthid && !o.eligibleAuthid.includes(s.authid)) return false;
    if (o.eligibleAuthrole && !o.eligibleAuthrole.includes(s.authrole)) return false;
    return true;
  }
}

export class Broker {
  private readonly trie = new PatternTrie<Subscription>();
  private readonly byKey = new Map<string, Subscription>();
  readonly byId = new Map<number, Subscription>();
  private readonly ids = new IdSequence();

  constructor(private readonly events: BrokerEvents) {}

  subscribe(session: SessionHandle, pattern: Pattern, info: SubscriberInfo): Subscription {
    const key = (info.shareGroup !== undefined ? `$share/${info.shareGroup}/` : '') + patternKey(pattern);
    let sub = this.byKey.get(key);
    let created = false;
    if (!sub) {
      sub = new SubscriptionEntry(this.ids.take(), pattern, key, info.shareGroup);
      this.byKey.set(key, sub);
      this.byId.set(sub.id, sub);
      this.trie.add(pattern, sub);
      created = true;
    }
    const had = sub.subscribers.has(session);
    sub.subscribers.set(session, info);
    if (!had) {
      sub.members.push(session);
      session.subscriptions.add(sub);
      if (created) this.events.onCreate(session, sub);
      this.events.onSubscribe(session, sub);
    }
    return sub;
  }

  /** Removes the session from the subscription; false when it was not subscribed. */
  unsubscribe(session: SessionHandle, sub: Subscription): boolean {
    if (!sub.subscribers.delete(session)) return false;
    sub.members.splice(sub.members.indexOf(session), 1);
    session.subscriptions.delete(sub);
    this.events.onUnsubscribe(session, sub);
    if (sub.subscribers.size === 0) {
      this.byKey.delete(sub.key);
      this.byId.delete(sub.id);
      this.trie.remove(sub.pattern, sub);
      this.events.onDelete(session, sub);
    }
    return true;
  }

  /** Subscriptions whose pattern matches the topic. */
  matching(topic: readonly string[]): Subscription[] {
    const out: Subscription[] = [];
    this.trie.match(topic, (s) => out.push(s));
    return out;
  }

  /** True when some subscription's pattern matches the topic. */
  hasMatch(topic: readonly string[]): boolean {
    let found = false;
    this.trie.match(topic, () => (found = true));
    return found;
  }

  lookup(pattern: Pattern, shareGroup?: string): Subscription | undefined {
    return this.byKey.get((shareGroup !== undefined ? `$share/${shareGroup}/` : '') + patternKey(pattern));
  }

  /** Delivers a publication to every admitted subscriber; returns the number of deliveries. */
  publish(pub: Publication, opts: PublishOptions): number {
    const audience = new Audience(opts, pub.publisherSession);
    let delivered = 0;
    this.trie.match(pub.topic, (sub) => {
      const pattern = sub.pattern.match !== 'exact';
      if (sub.shareGroup !== undefined) {
        const member = sub.pickMember((s) => {
          const info = sub.subscribers.get(s);
          return audience.admits(s, info) && !(info?.filter && !matchesFilter(pub.payload, info.filter));
        });
        if (member) {
          member.deliver(this.delivery(sub, pattern, pub), sub.subscribers.get(member) as SubscriberInfo);
          delivered++;
        }
        return;
      }
      // One delivery for all of the subscription's subscribers.
      let d: EventDelivery | undefined;
      for (const [session, info] of sub.subscribers) {
        if (!audience.admits(session, info)) continue;
        if (info.filter && !matchesFilter(pub.payload, info.filter)) continue;
        session.deliver((d ??= this.delivery(sub, pattern, pub)), info);
        delivered++;
      }
    });
    return delivered;
  }

  private delivery(sub: Subscription, pattern: boolean, publication: Publication): EventDelivery {
    return { subscriptionId: sub.id, match: sub.pattern.match, pattern, publication, retained: false };
  }
}

// Indexed collections (sets and sorted sets) of the realm's store for in-process clients: each
// table is bound to a topic; reading needs 'subscribe' on it, writing 'publish', and every write
// is then an event on that topic with kwargs {op, member, score?, version} (op: sadd, srem, zadd,
// zrem), so WAMP and MQTT subscribers see the changes.
import { isUtf8 } from 'node:buffer';
import { topicKeyPrefix } from './codec.ts';
import { ErrorUri, RouterError } from './errors.ts';
import { Payload } from './payload.ts';
import type { Session } from './session.ts';
import type { CollectionKind, CollectionMember, CollectionOutcome, CollectionRange, CollectionTableStat, CollectionWrite, Store } from './store.ts';
import { wampLevels } from './topic.ts';

export class CollectionApi {
  constructor(private readonly session: Session) {}

  private store(): Store {
    const store = this.session.realm.store;
    if (!store) throw new RouterError(ErrorUri.invalidArgument, 'collections need a router with a store');
    return store;
  }

  private authorize(action: 'publish' | 'subscribe', topic: string): void {
    this.session.realm.authorize(this.session, action, wampLevels(topic), topic);
  }

  /**
   * Adds or rewrites a member of `write.table`; on success publishes the change on `topic`.
   * `excludesRetained`: a topic; the table's first write is refused ('wrong_type') while retained
   * values live below it — decided by the store in the same operation as the write (the other half
   * of RetainedPutOptions.excludesCollection).
   */
  async put(topic: string, write: CollectionWrite, options: { excludesRetained?: string } = {}): Promise<CollectionOutcome> {
    this.authorize('publish', topic);
    const guarded = options.excludesRetained === undefined ? write : { ...write, excludesRetained: topicKeyPrefix(wampLevels(options.excludesRetained)) };
    const out = await this.store().collectionPut(this.session.realm.name, guarded);
    if (typeof out === 'object') this.announce(topic, write.kind === 'set' ? 'sadd' : 'zadd', write.member, out, write.kind);
    return out;
  }

  /** Removes a member; on success publishes the change on `topic`. */
  async delete(topic: string, kind: CollectionKind, table: string, member: Uint8Array, expectVersion?: number): Promise<CollectionOutcome> {
    this.authorize('publish', topic);
    const out = await this.store().collectionDelete(this.session.realm.name, kind, table, member, expectVersion);
    if (typeof out === 'object') this.announce(topic, kind === 'set' ? 'srem' : 'zrem', member, out, kind);
    return out;
  }

  async get(topic: string, kind: CollectionKind, table: string, member: Uint8Array): Promise<CollectionMember | null | 'wrong_type'> {
    this.authorize('subscribe', topic);
    return this.store().collectionGet(this.session.realm.name, kind, table, member);
  }

  async range(topic: string, kind: CollectionKind, table: string, range: CollectionRange): Promise<CollectionMember[] | 'wrong_type'> {
    this.authorize('subscribe', topic);
    return this.store().collectionRange(this.session.realm.name, kind, table, range);
  }

  /** The kind of a table (null when absent): what a type check needs, so no permission is asked. */
  kind(table: string): Promise<CollectionKind | null> {
    return this.store().collectionKind(this.session.realm.name, table);
  }

  /** Every table of the realm (names only: no topic to authorize against). */
  tables(): Promise<CollectionTableStat[]> {
    return this.store().collectionTables(this.session.realm.name);
  }

  private announce(topic: string, op: string, member: Uint8Array, out: { version: number; score: number }, kind: CollectionKind): void {
    if (!this.session.realm.observed(wampLevels(topic))) return;
    const m = isUtf8(member) ? Buffer.from(member).toString() : member;
    const kwargs: Record<string, unknown> = kind === 'zset' ? { op, member: m, score: out.score, version: out.version } : { op, member: m, version: out.version };
    this.session.publish(wampLevels(topic), Payload.fromArgs(undefined, kwargs), {}).catch(() => undefined);
  }
}

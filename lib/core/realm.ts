// A realm: a routing namespace with its own broker, dealer, retained state, sessions, roles and
// built-in (meta API) procedures. Every client operation passes through here to be authorized.
import { Broker, type Subscription } from './broker.ts';
import type { Action, Limits, RealmConfig } from './config.ts';
import { Dealer } from './dealer.ts';
import { ErrorUri, RouterError } from './errors.ts';
import { IdSequence, randomId } from './ids.ts';
import { installMetaApi, type MetaEvents } from './meta.ts';
import { Payload } from './payload.ts';
import { Role } from './permissions.ts';
import type { Registration } from './registration.ts';
import { RetainedTree } from './retained.ts';
import { Session, type SessionIdentity } from './session.ts';
import { wampLevels } from './topic.ts';
import type { CallOptions, Dict, Pattern, Peer, Publication, PublishOptions, QoS, RegisterOptions, SubscribeOptions } from './types.ts';

/** A procedure the router itself implements (meta API). Returns the result's positional args. */
export type BuiltinProcedure = (caller: Session, args: unknown[], kwargs: Dict) => unknown[] | Promise<unknown[]>;

export class Realm {
  readonly sessions = new Map<number, Session>();
  readonly roles = new Map<string, Role>();
  readonly broker: Broker;
  readonly dealer: Dealer;
  readonly retained = new RetainedTree();
  readonly builtins = new Map<string, BuiltinProcedure>();
  private readonly publicationIds = new IdSequence();
  private readonly meta: MetaEvents;

  constructor(
    readonly config: RealmConfig,
    readonly limits: Limits,
  ) {
    for (const role of config.roles) this.roles.set(role.name, new Role(role.name, role));
    this.meta = installMetaApi(this);
    this.broker = new Broker(this.meta.broker);
    this.dealer = new Dealer(this.meta.dealer, limits.maxQueuedCallsPerRegistration);
  }

  get name(): string {
    return this.config.name;
  }

  /** `sessionId` is one the gate already announced (e.g. in a wampcra challenge), if still free. */
  attach(identity: SessionIdentity, peer: Peer, sessionId?: number): Session {
    if (!this.roles.has(identity.authrole)) throw new RouterError(ErrorUri.noSuchRole, `role '${identity.authrole}' is not defined in realm '${this.name}'`);
    if (this.sessions.size >= this.limits.maxSessionsPerRealm) throw new RouterError(ErrorUri.limitExceeded, `realm '${this.name}' has reached its session limit`);
    let id = sessionId ?? randomId();
    while (this.sessions.has(id)) id = randomId();
    const session = new Session(id, this, identity, peer);
    this.sessions.set(id, session);
    this.meta.joined(session);
    return session;
  }

  detach(session: Session): void {
    if (!this.sessions.delete(session.id)) return;
    this.dealer.sessionLeft(session);
    for (const sub of [...session.subscriptions]) this.broker.unsubscribe(session, sub);
    for (const t of [...session.testaments.detached, ...session.testaments.destroyed]) {
      this.routePublication(t.topic, t.payload, t.options, session);
    }
    this.meta.left(session);
  }

  authorize(session: Session, action: Action, levels: readonly string[], uri: string): void {
    const role = this.roles.get(session.authrole);
    if (!role || !role.allows(action, levels)) {
      throw new RouterError(ErrorUri.notAuthorized, `session is not authorized to ${action} '${uri}'`);
    }
  }

  subscribe(session: Session, pattern: Pattern, options: SubscribeOptions): Subscription {
    this.authorize(session, 'subscribe', permissionLevels(pattern), pattern.uri);
    const existing = this.broker.lookup(pattern, options.shareGroup);
    if (!existing?.subscribers.has(session) && session.subscriptions.size >= this.limits.maxSubscriptionsPerSession) {
      throw new RouterError(ErrorUri.limitExceeded, `session has reached its limit of ${this.limits.maxSubscriptionsPerSession} subscriptions`);
    }
    return this.broker.subscribe(session, pattern, {
      qos: options.qos ?? 0,
      noLocal: options.noLocal ?? false,
      retainAsPublished: options.retainAsPublished ?? false,
      subscriptionIdentifier: options.subscriptionIdentifier,
      shareGroup: options.shareGroup,
    });
  }

  /** Delivers the retained events matching a subscription to one of its subscribers. */
  deliverRetained(session: Session, sub: Subscription): number {
    const info = sub.subscribers.get(session);
    if (!info) return 0;
    const now = Date.now();
    let n = 0;
    for (const publication of this.retained.match(sub.pattern)) {
      const expiresAt = publication.headers?.expiresAt;
      if (expiresAt !== undefined && expiresAt <= now) continue;
      session.deliver({ subscriptionId: sub.id, match: sub.pattern.match, pattern: sub.pattern.match !== 'exact', publication, subscriber: info, retained: true });
      n++;
    }
    return n;
  }

  unsubscribe(session: Session, subscriptionId: number): void {
    const sub = this.broker.byId.get(subscriptionId);
    if (!sub || !this.broker.unsubscribe(session, sub)) {
      throw new RouterError(ErrorUri.noSuchSubscription, `no subscription ${subscriptionId} for this session`);
    }
  }

  async publish(session: Session, topic: string[], payload: Payload, options: PublishOptions): Promise<number> {
    const uri = topic.join('.');
    this.authorize(session, 'publish', topic, uri);
    if (topic[0] === 'wamp') throw new RouterError(ErrorUri.invalidUri, `topic '${uri}' is reserved for the router`);
    return this.routePublication(topic, payload, options, session);
  }

  /** Routes a publication (from a session, a testament or the router itself); returns its id. */
  routePublication(topic: string[], payload: Payload, options: PublishOptions, from: Session | undefined): number {
    const disclose = from !== undefined && (options.discloseMe === true || this.discloses(from, 'publisher', topic));
    const publication: Publication = {
      id: this.publicationIds.take(),
      topic,
      payload,
      publisherSession: from?.id,
      publisher: disclose && from ? { session: from.id, authid: from.authid, authrole: from.authrole, protocol: from.protocol } : undefined,
      qos: options.qos ?? ((options.acknowledge ? 2 : 0) as QoS),
      retain: options.retain === true,
      headers: options.headers,
      frames: new Map(),
    };
    if (options.retain) {
      if (isRetainedDelete(payload)) this.retained.delete(topic);
      else this.retained.set(topic, publication);
    }
    this.broker.publish(publication, options);
    return publication.id;
  }

  /** Publishes a router-originated event (meta events). */
  publishMeta(uri: string, args: unknown[], kwargs?: Dict): void {
    this.routePublication(uri.split('.'), Payload.fromArgs(args, kwargs), {}, undefined);
  }

  register(session: Session, pattern: Pattern, options: RegisterOptions): Registration {
    this.authorize(session, 'register', permissionLevels(pattern), pattern.uri);
    if (pattern.levels[0] === 'wamp') throw new RouterError(ErrorUri.invalidUri, `procedure '${pattern.uri}' is reserved for the router`);
    if (session.registrations.size >= this.limits.maxRegistrationsPerSession) {
      throw new RouterError(ErrorUri.limitExceeded, `session has reached its limit of ${this.limits.maxRegistrationsPerSession} registrations`);
    }
    return this.dealer.register(session, pattern, options);
  }

  unregister(session: Session, registrationId: number): void {
    const reg = this.dealer.byId.get(registrationId);
    if (!reg || !this.dealer.unregister(session, reg)) {
      throw new RouterError(ErrorUri.noSuchRegistration, `no registration ${registrationId} for this session`);
    }
  }

  call(session: Session, requestId: number, procedure: string, payload: Payload, options: CallOptions): void {
    if (session.calls.has(requestId)) {
      // The continuation of a progressive invocation: already authorized.
      this.dealer.call(session, requestId, procedure, [], payload, options, false);
      return;
    }
    const levels = wampLevels(procedure);
    this.authorize(session, 'call', levels, procedure);
    const builtin = this.builtins.get(procedure);
    if (builtin) {
      this.callBuiltin(session, requestId, builtin, payload);
      return;
    }
    if (session.calls.size >= this.limits.maxPendingCallsPerSession) {
      throw new RouterError(ErrorUri.limitExceeded, `session has reached its limit of ${this.limits.maxPendingCallsPerSession} pending calls`);
    }
    const disclose = options.discloseMe === true || this.discloses(session, 'caller', levels);
    this.dealer.call(session, requestId, procedure, levels, payload, options, disclose);
  }

  private callBuiltin(session: Session, requestId: number, builtin: BuiltinProcedure, payload: Payload): void {
    const answer = (fn: () => void): void => {
      if (session.isOpen) fn();
    };
    const fail = (err: unknown): void => {
      const e = err instanceof RouterError ? err : new RouterError(ErrorUri.invalidArgument, err instanceof Error ? err.message : String(err));
      answer(() => session.peer.callError(requestId, e.uri, Payload.fromArgs(e.errorArgs, e.kwargs), {}));
    };
    try {
      const result = builtin(session, payload.args ?? [], payload.kwargs ?? {});
      if (Array.isArray(result)) answer(() => session.peer.result(requestId, Payload.fromArgs(result), {}));
      else result.then((r) => answer(() => session.peer.result(requestId, Payload.fromArgs(r), {})), fail);
    } catch (err) {
      fail(err);
    }
  }

  private discloses(session: Session, what: 'caller' | 'publisher', levels: readonly string[]): boolean {
    return this.roles.get(session.authrole)?.lookup(levels)?.disclose?.[what] === true;
  }
}

/** Levels used to check a pattern against permissions: wildcards as empty levels. */
function permissionLevels(p: Pattern): string[] {
  const levels = p.levels.map((l) => l ?? '');
  if (p.multi) levels.push('');
  return levels;
}

/** An empty payload (or a lone null for WAMP) clears a retained topic. */
export function isRetainedDelete(payload: Payload): boolean {
  if (payload.isBytes) return payload.bytes.length === 0;
  if (payload.isEmpty) return true;
  const args = payload.args;
  return !payload.kwargs && args !== undefined && args.length === 1 && args[0] === null;
}

// A realm: a routing namespace with its own broker, dealer, retained state, sessions, roles and
// built-in (meta API) procedures. Every client operation passes through here to be authorized.
import { Broker } from './broker.ts';
import type { Action, Limits, PermissionConfig, RealmConfig } from './config.ts';
import { Dealer } from './dealer.ts';
import { DeliveryOrder } from './delivery-order.ts';
import { ErrorUri, RouterError } from './errors.ts';
import { History, PublicationIds } from './history.ts';
import { publishBound } from './bindings.ts';
import type { Cluster, RemoteEvent } from './cluster.ts';
import { randomId } from './ids.ts';
import { type Logger, LogBudget } from './log.ts';
import { installMetaApi, type MetaEvents } from './meta.ts';
import type { BuiltinProcedure } from './meta-realm.ts';
import { Payload } from './payload.ts';
import { Role, TRUSTED_ROLE, trustedRole } from './permissions.ts';
import type { Registration, SessionRealm, Subscription } from './routing-types.ts';
import { Retention } from './retention.ts';
import { Session, type SessionIdentity } from './session.ts';
import { installStatsMeta } from './meta-stats.ts';
import { checkLevels, TopicSizeError, wampLevels } from './topic.ts';
import type { Store } from './store.ts';
import type { CallOptions, Dict, Pattern, RouterStats, Peer, Publication, PublishOptions, QoS, RegisterOptions, SubscribeOptions } from './types.ts';
import { matchesFilter } from './values.ts';

export class Realm implements SessionRealm {
  readonly sessions = new Map<number, Session>();
  readonly roles = new Map<string, Role>();
  readonly broker: Broker;
  readonly dealer: Dealer;
  readonly retention: Retention;
  readonly history: History;
  readonly builtins = new Map<string, BuiltinProcedure>();
  private readonly order = new DeliveryOrder();
  private readonly meta: MetaEvents;
  /** Set only with several nodes: alone, routing does no cluster work at all. */
  private readonly bus: Cluster | undefined;

  private current: RealmConfig;
  /** Authorization refusals are logged within this budget (a client may repeat one at will). */
  private readonly refusalLog = new LogBudget();

  constructor(
    config: RealmConfig,
    readonly limits: Limits,
    readonly store: Store | undefined,
    readonly logger: Logger,
    /** Shared by all realms: the store's history ids are store-wide. */
    private readonly publicationIds: PublicationIds,
    /** The router's counters (shared by all realms). */
    readonly stats: RouterStats,
    /** The other nodes, when there are any: session ids come from it and publications go to it. */
    cluster?: Cluster,
  ) {
    this.bus = cluster?.multiNode ? cluster : undefined;
    this.current = config;
    this.setRoles(config);
    this.meta = installMetaApi(this);
    installStatsMeta(this);
    this.broker = new Broker(this.meta.broker);
    this.dealer = new Dealer(this.meta.dealer, limits.maxQueuedCallsPerRegistration, () => void this.stats.limitRefusals++);
    this.retention = new Retention(config.name, store, this.publicationIds, this.order, (p, o) => this.deliver(p, o), logger, limits.maxParkedWritesPerSession, limits.maxRetainedPerRealm, () => void this.stats.limitRefusals++);
    this.history = new History(config.name, store, config.history ?? [], logger);
  }

  /** Loads durable state (retained values, the id floor) and runs the wills of sessions lost in a crash. */
  async open(): Promise<void> {
    this.publicationIds.seed(await this.history.maxId());
    await this.retention.load();
  }

  get name(): string {
    return this.current.name;
  }

  /** Roles and authentication as configured now (a reload may replace them). */
  get config(): RealmConfig {
    return this.current;
  }

  /**
   * Takes new roles and principals (a configuration reload): later requests and logins use them,
   * open sessions keep their authrole (a role that is gone allows nothing). History rules stay.
   */
  reconfigure(config: RealmConfig): void {
    this.current = { ...config, name: this.current.name, history: this.current.history };
    this.setRoles(config);
  }

  private setRoles(config: RealmConfig): void {
    this.roles.clear();
    for (const role of config.roles) this.roles.set(role.name, new Role(role.name, role));
    // In-process components (bridges, embedding code) run as 'trusted' unless the config says otherwise.
    if (!this.roles.has(TRUSTED_ROLE)) this.roles.set(TRUSTED_ROLE, new Role(TRUSTED_ROLE, trustedRole()));
  }

  /** `sessionId` is one the gate already announced (e.g. in a wampcra challenge), if still free. */
  attach(identity: SessionIdentity, peer: Peer, sessionId?: number): Session {
    if (!this.roles.has(identity.authrole)) throw new RouterError(ErrorUri.noSuchRole, `role '${identity.authrole}' is not defined in realm '${this.name}'`);
    if (this.sessions.size >= this.limits.maxSessionsPerRealm) throw this.overLimit(`realm '${this.name}' has reached its session limit`);
    // With several nodes the id must be claimed cluster-wide, so a gate's pre-announced one is not used.
    let id = this.bus ? this.bus.takeSessionId() : (sessionId ?? randomId());
    while (this.sessions.has(id)) id = randomId();
    const session = new Session(id, this, identity, peer);
    this.sessions.set(id, session);
    this.meta.joined(session);
    this.logSession(session, 'session.join', 'session joined');
    return session;
  }

  detach(session: Session): void {
    if (!this.sessions.delete(session.id)) return;
    this.bus?.releaseSessionId(session.id);
    this.dealer.sessionLeft(session);
    for (const sub of [...session.subscriptions]) this.broker.unsubscribe(session, sub);
    for (const t of [...session.testaments.detached, ...session.testaments.destroyed]) {
      this.routePublication(t.topic, t.payload, t.options, session).catch((err: unknown) => this.logger.warn({ err }, 'testament not published'));
    }
    this.retention.sessionEnded(session.id).catch((err: unknown) => this.logger.error({ err }, 'applying wills failed'));
    this.meta.left(session);
    this.logSession(session, 'session.leave', 'session left');
  }

  /** Client sessions (WAMP, MQTT) at info; the bridges' and in-process ones only at debug. */
  private logSession(session: Session, event: string, msg: string): void {
    const { authid, authrole, protocol, transport } = session.identity;
    const line = { event, realm: this.name, session: session.id, authid, authrole, protocol, address: transport.peer };
    if (protocol === 'wamp' || protocol === 'mqtt') this.logger.info(line, msg);
    else this.logger.debug(line, msg);
  }

  authorize(session: Session, action: Action, levels: readonly string[], uri?: string): void {
    this.permission(session, action, levels, uri);
  }

  /** The permission that lets the session do `action` (callers read its disclose flags next); throws when none does. */
  private permission(session: Session, action: Action, levels: readonly string[], uri?: string): PermissionConfig {
    const permission = this.roles.get(session.authrole)?.lookup(levels);
    if (permission?.allow[action] !== true) {
      const dropped = this.refusalLog.take();
      if (dropped >= 0) {
        const { authid, authrole, protocol } = session.identity;
        this.logger.info({ event: 'authz.refused', realm: this.name, session: session.id, authid, authrole, protocol, action, uri: uri ?? levels.join('.'), ...(dropped ? { dropped } : {}) }, 'not authorized');
      }
      throw new RouterError(ErrorUri.notAuthorized, `session is not authorized to ${action} '${uri ?? levels.join('.')}'`);
    }
    return permission;
  }

  subscribe(session: Session, pattern: Pattern, options: SubscribeOptions): Subscription {
    this.checkSize(pattern.uri, pattern.levels.length + (pattern.multi ? 1 : 0));
    this.authorize(session, 'subscribe', permissionLevels(pattern), pattern.uri);
    const existing = this.broker.lookup(pattern, options.shareGroup);
    if (!existing?.subscribers.has(session) && session.subscriptions.size >= this.limits.maxSubscriptionsPerSession) {
      throw this.overLimit(`session has reached its limit of ${this.limits.maxSubscriptionsPerSession} subscriptions`);
    }
    const sub = this.broker.subscribe(session, pattern, {
      qos: options.qos ?? 0,
      noLocal: options.noLocal ?? false,
      retainAsPublished: options.retainAsPublished ?? false,
      subscriptionIdentifier: options.subscriptionIdentifier,
      shareGroup: options.shareGroup,
      filter: options.filter,
    });
    // Live events wait until the history replay is delivered, so the client sees one ordered stream.
    if (options.after !== undefined) session.holdEvents(sub.id);
    return sub;
  }

  /**
   * Delivers stored events after `afterId` to a subscription started with the `after` option, then
   * the live events held meanwhile; with `snapshot`, ends the subscription after the replay instead.
   */
  async replay(session: Session, sub: Subscription, afterId: number, snapshot: boolean): Promise<void> {
    let events: Publication[] = [];
    try {
      events = await this.history.replay(sub.pattern, afterId);
    } finally {
      const info = sub.subscribers.get(session);
      const held = session.releaseEvents(sub.id);
      let last = afterId;
      if (info && session.isOpen) {
        const pattern = sub.pattern.match !== 'exact';
        for (const publication of events) {
          if (info.filter && !matchesFilter(publication.payload, info.filter)) continue;
          session.deliver({ subscriptionId: sub.id, match: sub.pattern.match, pattern, publication, retained: false }, info);
          last = publication.id;
        }
        if (snapshot) {
          this.broker.unsubscribe(session, sub);
          session.peer.unsubscribed?.(sub.id, 'kitsune.subscription.snapshot_complete');
        } else {
          for (const d of held) if (d.publication.id > last) session.deliver(d, info);
        }
      }
    }
  }

  /** A refusal at a configured limit, counted in kitsune_limit_refusals_total. */
  private overLimit(message: string): RouterError {
    this.stats.limitRefusals++;
    return new RouterError(ErrorUri.limitExceeded, message);
  }

  /** Refuses (and counts) a topic, filter or URI over the configured size limits (WAMP: invalid_uri). */
  private checkSize(text: string, levels: number): void {
    try {
      checkLevels(text, levels, this.limits);
      if (text.length > this.limits.maxTopicLength) throw new TopicSizeError(text, `longer than ${this.limits.maxTopicLength} characters`);
    } catch (err) {
      this.stats.limitRefusals++;
      throw err;
    }
  }

  /** Delivers the retained events matching a subscription to one of its subscribers. */
  deliverRetained(session: Session, sub: Subscription): number {
    const info = sub.subscribers.get(session);
    if (!info) return 0;
    const now = Date.now();
    let n = 0;
    for (const { publication } of this.retention.tree.match(sub.pattern)) {
      const expiresAt = publication.headers?.expiresAt;
      if (expiresAt !== undefined && expiresAt <= now) continue;
      session.deliver({ subscriptionId: sub.id, match: sub.pattern.match, pattern: sub.pattern.match !== 'exact', publication, retained: true }, info);
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

  /** Not `async`: the hot path saves a promise and a frame; a refusal still comes back as a rejection. */
  publish(session: Session, topic: string[], payload: Payload, options: PublishOptions): Promise<number> {
    try {
      const outcome = this.publishNow(session, topic, payload, options);
      return typeof outcome === 'number' ? Promise.resolve(outcome) : outcome;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Authorizes a client's publication and routes it: its id at once, or a promise of it when it
   * waits for a commit. Throws a refusal (the gates' hot path: no promise in the common case).
   */
  publishNow(session: Session, topic: string[], payload: Payload, options: PublishOptions): number | Promise<number> {
    if (topic.length > this.limits.maxTopicLevels) this.checkSize(topic.join('/'), topic.length);
    const permission = this.permission(session, 'publish', topic);
    if (options.force) this.authorize(session, 'force', topic);
    if (topic[0] === 'wamp' || topic[0] === '$SYS') throw new RouterError(ErrorUri.invalidUri, `topic '${topic.join('.')}' is reserved for the router`);
    this.stats.publications++;
    return publishBound(this, topic, payload, options, session) ?? this.route(topic, payload, options, session, permission.disclose?.publisher === true);
  }

  /**
   * Routes a publication (from a session, a testament or the router itself). Resolves with its id
   * once it is committed (retained, conditional and history writes), delivered, and the store
   * writes its deliveries started (Publication.commits: MQTT offline queues, in-flight state) are
   * committed too.
   */
  routePublication(topic: string[], payload: Payload, options: PublishOptions, from: Session | undefined): Promise<number> {
    const outcome = this.route(topic, payload, options, from);
    return typeof outcome === 'number' ? Promise.resolve(outcome) : outcome;
  }

  /**
   * routePublication's work: the id at once when nothing had to wait (the common case), else a
   * promise of it. `roleDiscloses`: whether the publisher's role discloses it, when the caller knows.
   */
  private route(topic: string[], payload: Payload, options: PublishOptions, from: Session | undefined, roleDiscloses?: boolean): number | Promise<number> {
    const disclose = from !== undefined && (options.discloseMe === true || (roleDiscloses ?? this.discloses(from, 'publisher', topic)));
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
    if (options.retain || options.when !== undefined || options.will !== undefined) {
      publication.retain = true;
      return this.retention.write(from?.id, publication, options).then(() => committed(publication));
    }
    if (this.history.keeps(topic)) return this.order.after(this.history.append(publication), () => this.fanOut(publication, options)).then(() => committed(publication));
    if (!this.order.idle) return this.order.after(Promise.resolve(), () => this.fanOut(publication, options)).then(() => committed(publication));
    this.broker.publish(publication, options);
    this.bus?.publish(this.name, publication, options);
    return publication.commits === undefined ? publication.id : committed(publication);
  }

  /** True when a publication on `topic` would reach a subscriber or be kept in history. */
  observed(topic: readonly string[]): boolean {
    return this.history.keeps(topic) || this.broker.hasMatch(topic);
  }

  /** Retained writes are delivered through here once committed (and kept in history if a rule says so). */
  private deliver(publication: Publication, options: PublishOptions): void | Promise<void> {
    if (this.history.keeps(publication.topic)) return this.history.append(publication).then(() => this.fanOut(publication, options));
    this.fanOut(publication, options);
  }

  /** Delivers a routed publication to this node's subscribers and sends it to the other nodes. */
  private fanOut(publication: Publication, options: PublishOptions): void {
    this.broker.publish(publication, options);
    this.bus?.publish(this.name, publication, options);
  }

  /**
   * Delivers another node's publication to this node's subscribers. Its durable side (retained
   * value, history) belongs to the node that routed it; store writes its deliveries start here
   * (MQTT offline queues) have no publisher waiting on this node, so their failures are logged.
   */
  deliverRemote(event: RemoteEvent): void {
    const { publication } = event;
    this.broker.publish(publication, event.options);
    const commits = publication.commits;
    if (commits === undefined) return;
    publication.commits = undefined;
    for (const c of commits) c.catch((err: unknown) => this.logger.warn({ err, topic: publication.topic.join('/') }, 'a remote event was not stored for a subscriber'));
  }


  /** Publishes a router-originated event (meta events). */
  publishMeta(uri: string, args: unknown[], kwargs?: Dict): void {
    this.broker.publish({ id: this.publicationIds.take(), topic: uri.split('.'), payload: Payload.fromArgs(args, kwargs), qos: 0, retain: false, frames: new Map() }, {});
  }

  register(session: Session, pattern: Pattern, options: RegisterOptions): Registration {
    this.checkSize(pattern.uri, pattern.levels.length);
    this.authorize(session, 'register', permissionLevels(pattern), pattern.uri);
    if (pattern.levels[0] === 'wamp') throw new RouterError(ErrorUri.invalidUri, `procedure '${pattern.uri}' is reserved for the router`);
    if (session.registrations.size >= this.limits.maxRegistrationsPerSession) {
      throw this.overLimit(`session has reached its limit of ${this.limits.maxRegistrationsPerSession} registrations`);
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
    let levels: string[];
    try {
      levels = wampLevels(procedure, this.limits);
    } catch (err) {
      if (err instanceof TopicSizeError) this.stats.limitRefusals++;
      throw err;
    }
    const permission = this.permission(session, 'call', levels, procedure);
    this.stats.calls++;
    const builtin = this.builtins.get(procedure);
    if (builtin) {
      this.callBuiltin(session, requestId, builtin, payload);
      return;
    }
    if (session.calls.size >= this.limits.maxPendingCallsPerSession) {
      throw this.overLimit(`session has reached its limit of ${this.limits.maxPendingCallsPerSession} pending calls`);
    }
    const disclose = options.discloseMe === true || permission.disclose?.caller === true;
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

/** The publication's id, once the store writes its deliveries started (Publication.commits) are committed. */
function committed(publication: Publication): Promise<number> {
  const commits = publication.commits;
  if (commits === undefined) return Promise.resolve(publication.id);
  publication.commits = undefined;
  return (commits.length === 1 ? (commits[0] as Promise<unknown>) : Promise.all(commits)).then(() => publication.id);
}

/** Levels used to check a pattern against permissions: wildcards as empty levels. */
function permissionLevels(p: Pattern): string[] {
  const levels = p.levels.map((l) => l ?? '');
  if (p.multi) levels.push('');
  return levels;
}

// The router: configured realms and the one entry point through which every gate attaches sessions.
import { defaultLimits, type Limits, openRealm, type RealmConfig, type RouterConfig } from './config.ts';
import { BoundedErrorCounts } from './error-counts.ts';
import type { Cluster, RemoteEvent } from './cluster.ts';
import { ErrorUri, RouterError } from './errors.ts';
import { type Logger, silentLogger } from './log.ts';
import { PublicationIds } from './history.ts';
import { Realm } from './realm.ts';
import type { Session, SessionIdentity } from './session.ts';
import type { Store } from './store.ts';
import type { Peer, RouterStats } from './types.ts';

/** Expired retained values dropped per event-loop turn by maintain(). */
const PURGE_SLICE = 10_000;

export class Router {
  readonly realms = new Map<string, Realm>();
  readonly stats: RouterStats = {
    droppedEvents: 0,
    slowConsumersDisconnected: 0,
    protocolErrors: 0,
    wampTooDeep: 0,
    wampUnsupportedTypes: 0,
    handlerErrors: 0,
    storeFailures: 0,
    limitRefusals: 0,
    droppedQueued: 0,
    authRefusals: 0,
    mqttForbiddenPublishes: 0,
    clusterEventsLost: 0,
    clusterMalformed: 0,
    traffic: {
      wamp: { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, deliveries: 0 },
      mqtt: { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, deliveries: 0 },
    },
    dropped: {
      wamp: { slowConsumer: 0, queueFull: 0, expired: 0, tooLarge: 0 },
      mqtt: { slowConsumer: 0, queueFull: 0, expired: 0, tooLarge: 0 },
    },
    publications: 0,
    calls: 0,
    errors: new BoundedErrorCounts(),
  };
  readonly limits: Limits;
  private closed = false;
  private opened = false;

  readonly store: Store | undefined;
  readonly logger: Logger;
  /** The other nodes (lib/store/redis-cluster.ts), or the single-node engine; undefined is alone too. */
  readonly cluster: Cluster | undefined;
  private readonly publicationIds = new PublicationIds();

  /** Without a store, state lives in memory only: retained values work, history does not. */
  constructor(
    readonly config: RouterConfig,
    options: { store?: Store; logger?: Logger; cluster?: Cluster } = {},
  ) {
    this.limits = { ...defaultLimits, ...config.limits };
    this.store = options.store;
    this.cluster = options.cluster;
    this.logger = options.logger ?? silentLogger;
    for (const rc of config.realms) this.addRealm(rc);
  }

  /** Loads every realm's durable state; call once before serving clients. */
  async open(): Promise<void> {
    for (const realm of this.realms.values()) await realm.open();
    await this.cluster?.start({
      logger: this.logger,
      stats: this.stats,
      event: (e) => this.deliverRemote(e),
      // Nothing reads the inbox yet: cross-node RPC is the next step.
      inbox: (from) => this.logger.debug({ event: 'cluster.inbox', from }, 'inbox message ignored'),
    });
    for (const name of this.realms.keys()) this.cluster?.watchRealm(name);
    this.opened = true;
  }

  /** Another node's publication: delivered on this node if it serves the realm. */
  private deliverRemote(event: RemoteEvent): void {
    const realm = this.realms.get(event.realm);
    if (!realm) return;
    try {
      realm.deliverRemote(event);
    } catch (err) {
      this.logger.error({ err, realm: event.realm }, 'delivering a remote event failed');
    }
  }

  /** Periodic upkeep: history retention bounds and the store's expired records. */
  async maintain(): Promise<void> {
    for (const realm of this.realms.values()) {
      await realm.history.prune();
      // a slice per turn: a million values expiring together must not stall every client
      while (realm.retention.purgeExpired(Date.now(), PURGE_SLICE) === PURGE_SLICE) await new Promise((r) => setImmediate(r));
    }
    await this.store?.sweep();
  }

  addRealm(config: RealmConfig): Realm {
    if (this.realms.has(config.name)) throw new Error(`realm '${config.name}' is configured twice`);
    const realm = new Realm(config, this.limits, this.store, this.logger, this.publicationIds, this.stats, this.cluster);
    this.realms.set(config.name, realm);
    // Realms added after open() (reload, auto-created) are watched at once; open() watches the first ones.
    if (this.opened) this.cluster?.watchRealm(config.name);
    return realm;
  }

  /**
   * Applies reloaded realm settings: new realms are added, existing ones take their new roles and
   * principals. Realms missing from `realms` keep running (their sessions may be in use) until restart.
   */
  reconfigure(realms: RealmConfig[]): { added: string[]; updated: string[]; kept: string[] } {
    const added: string[] = [];
    const updated: string[] = [];
    for (const rc of realms) {
      const realm = this.realms.get(rc.name);
      if (realm) {
        realm.reconfigure(rc);
        updated.push(rc.name);
      } else {
        void this.addRealm(rc).open().catch((err: unknown) => this.logger.error({ err, realm: rc.name }, 'opening a reloaded realm failed'));
        added.push(rc.name);
      }
    }
    const kept = [...this.realms.keys()].filter((name) => !realms.some((r) => r.name === name));
    return { added, updated, kept };
  }

  /** The realm by name; unknown realms are refused unless the config allows creating them. */
  realm(name: string): Realm {
    const realm = this.realms.get(name);
    if (realm) return realm;
    if (this.config.autoCreateRealms && !this.closed) return this.addRealm(openRealm(name));
    throw new RouterError(ErrorUri.noSuchRealm, `no realm '${name}'`);
  }

  /** Attaches a new session to a realm. The gate has authenticated it already. */
  attach(realmName: string, identity: SessionIdentity, peer: Peer, sessionId?: number): Session {
    if (this.closed) throw new RouterError(ErrorUri.systemShutdown, 'router is shutting down');
    return this.realm(realmName).attach(identity, peer, sessionId);
  }

  /** Asks every session to close (gates send GOODBYE / DISCONNECT), then detaches what remains. */
  close(reason: string = ErrorUri.systemShutdown, message = 'router shutting down'): void {
    this.closed = true;
    for (const realm of this.realms.values()) {
      for (const s of [...realm.sessions.values()]) {
        s.peer.kill(reason, message);
        s.leave();
      }
    }
  }

  get sessionCount(): number {
    let n = 0;
    for (const r of this.realms.values()) n += r.sessions.size;
    return n;
  }
}

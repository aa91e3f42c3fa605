// The MQTT gate: MQTT 3.1, 3.1.1 and 5.0 clients join the router's realms over TCP (or a socket
// sniffed on the shared port) and over WebSocket. The server wires these entry points to its
// listeners; everything protocol-specific lives in this folder, on top of lib/core only. When the
// router has a store, persistent sessions are stored and restored at start (session-store.ts).
import type { Duplex } from 'node:stream';
import type { MessageSocket } from '../transport/message-socket.ts';
import type { WebSocketHandler } from '../transport/websocket-connection.ts';
import type { Router } from '../core/router.ts';
import type { DropCounters, TrafficCounters } from '../core/types.ts';
import { Connection } from './connection.ts';
import { type Closable, DEFAULT_MAX_QUEUED_BYTES, DEFAULT_RECEIVE_MAXIMUM, DEFAULT_V3_SESSION_EXPIRY, type GateContext, type GateStats, type Logger, logError, type MqttGateOptions, type ResolvedOptions } from './context.ts';
import { MQTT_MAX_PACKET } from './frame.ts';
import { handlers } from './handlers.ts';
import { MemorySessionRegistry, type MqttSession, NEVER_EXPIRES, type SessionEnv, type SessionRegistry } from './session-state.ts';
import { SessionStore } from './session-store.ts';
import { StreamTransport, WebSocketTransport, type Transport } from './transport.ts';
import { TimerWheel, type WheelEntry } from '../transport/timer-wheel.ts';

export type { GateStats, Logger, MqttGateOptions } from './context.ts';
export type { SessionRegistry } from './session-state.ts';
export { MemorySessionRegistry, MqttSession } from './session-state.ts';

export interface MqttGate {
  /** A TCP (or TLS, or sniffed shared-port) socket; `firstBytes` were already read from it. */
  handleSocket(socket: Duplex, firstBytes?: Buffer): void;
  /**
   * MQTT over WebSocket (subprotocol 'mqtt'), binary messages: gives the handler of its messages.
   * `tlsIdentity`: what the verified client certificate of the socket under it says (tlsIdentityOf).
   */
  handleWebSocket(socket: MessageSocket, tlsIdentity?: string): WebSocketHandler;
  /** v5 clients get DISCONNECT 0x8B; wills of unclean sessions are published; everyone is closed. */
  close(): Promise<void>;
  readonly stats: Readonly<GateStats>;
  /** Live MQTT sessions (connected or persistent-offline). */
  readonly sessions: SessionRegistry;
  /**
   * Settles once the sessions stored by an earlier run are restored (at once without a store);
   * rejects when the store cannot be read. Connections accepted meanwhile wait for it.
   */
  readonly ready: Promise<void>;
}

const silent: Logger = { warn() {}, info() {}, debug() {} };

class Gate implements MqttGate, GateContext {
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  readonly trace: boolean;
  readonly registry: SessionRegistry = new MemorySessionRegistry();
  readonly connections = new Set<Closable>();
  readonly wheel = new TimerWheel<WheelEntry>();
  readonly stats: GateStats = {
    connections: 0,
    droppedQos0: 0,
    droppedOfflineQos0: 0,
    droppedQueueFull: 0,
    refusedPersistentSessions: 0,
    droppedTooLarge: 0,
    expired: 0,
    badInput: 0,
    slowConsumers: 0,
  };
  readonly traffic: TrafficCounters;
  readonly dropped: DropCounters;
  readonly sessionEnv: SessionEnv;
  readonly persistence: SessionStore | undefined;
  readonly ready: Promise<void>;
  restoring = false;
  closing = false;
  /** Persistent sessions by realm (see GateContext.persistentCount). */
  private readonly persistent = new Map<string, Set<MqttSession>>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly router: Router,
    options: MqttGateOptions,
  ) {
    this.logger = options.logger ?? router.logger ?? silent;
    this.traffic = router.stats.traffic.mqtt;
    this.dropped = router.stats.dropped.mqtt;
    this.trace = this.logger.isLevelEnabled?.('debug') === true;
    this.options = {
      defaultRealm: options.defaultRealm ?? 'realm1',
      receiveMaximum: clamp(options.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM, 1, 65535),
      topicAliasMaximum: clamp(options.topicAliasMaximum ?? 64, 0, 65535),
      serverKeepAlive: options.serverKeepAlive === undefined ? undefined : clamp(options.serverKeepAlive, 0, 65535),
      maxKeepAlive: clamp(options.maxKeepAlive ?? 0, 0, 65535),
      maxSessionExpiry: clamp(options.maxSessionExpiry ?? NEVER_EXPIRES, 0, NEVER_EXPIRES),
      v3SessionExpiry: clamp(options.v3SessionExpiry ?? DEFAULT_V3_SESSION_EXPIRY, 0, NEVER_EXPIRES),
      maxQueuedMessages: Math.max(1, options.maxQueuedMessages ?? 10_000),
      maxQueuedBytes: Math.max(1, options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES),
      sessionSweepMs: Math.max(1_000, options.sessionSweepMs ?? 600_000),
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      maxPacketSize: clamp(options.maxPacketSize ?? router.limits.maxMessageBytes, 64, MQTT_MAX_PACKET),
      forbiddenPublish: options.forbiddenPublish ?? 'drop',
      useIdentityAsUsername: options.useIdentityAsUsername === true,
    };
    const stats = this.stats;
    const dropped = this.dropped;
    this.sessionEnv = {
      maxQueued: this.options.maxQueuedMessages,
      maxQueuedBytes: this.options.maxQueuedBytes,
      ended: (s) => {
        this.registry.remove(s);
        this.persistent.get(s.realm)?.delete(s);
      },
      dropped: (kind) => {
        if (kind === 'queueFull') {
          stats.droppedQueueFull++;
          dropped.queueFull++;
          router.stats.droppedQueued++;
        } else stats.droppedOfflineQos0++;
      },
      warn: (o, m) => this.logger.warn(o, m),
    };
    const store = router.store;
    if (!store) {
      this.persistence = undefined;
      this.ready = Promise.resolve();
      return;
    }
    this.persistence = new SessionStore(this);
    this.restoring = true;
    this.ready = this.persistence.restore().then(
      (n) => {
        this.restoring = false;
        if (n > 0) this.logger.info({ sessions: n }, 'MQTT persistent sessions restored');
        for (const c of [...this.connections]) c.release();
        this.startSweep();
      },
      (err: unknown) => {
        this.restoring = false;
        const message = `MQTT sessions could not be restored from the ${store.kind} store: ${err instanceof Error ? err.message : String(err)}`;
        logError(this.logger, { err: String(err) }, message);
        for (const c of [...this.connections]) c.destroy();
        throw new Error(message);
      },
    );
    this.ready.catch(() => {}); // the server awaits it; an embedding without one just sees the log
  }

  get sessions(): SessionRegistry {
    return this.registry;
  }

  persistentCount(realm: string): number {
    return this.persistent.get(realm)?.size ?? 0;
  }

  trackPersistence(session: MqttSession): void {
    let set = this.persistent.get(session.realm);
    if (session.expiryInterval > 0 && !session.ended) {
      if (!set) this.persistent.set(session.realm, (set = new Set()));
      set.add(session);
    } else set?.delete(session);
  }

  /** Periodically deletes expired stored sessions no live session stands for (live ones expire on their own timers). */
  private startSweep(): void {
    const persistence = this.persistence;
    if (!persistence || this.closing) return;
    this.sweepTimer = setInterval(() => {
      persistence.sweep().catch((err: unknown) => logError(this.logger, { err: String(err) }, 'MQTT stored-session sweep failed'));
    }, this.options.sessionSweepMs);
    this.sweepTimer.unref();
  }

  handleSocket(socket: Duplex, firstBytes?: Buffer): void {
    this.accept(() => new StreamTransport(socket), () => socket.destroy(), firstBytes);
  }

  handleWebSocket(socket: MessageSocket, tlsIdentity?: string): WebSocketHandler {
    const transport = new WebSocketTransport(socket, tlsIdentity);
    this.accept(() => transport, () => socket.terminate());
    return transport;
  }

  private accept(make: () => Transport, destroy: () => void, firstBytes?: Buffer): void {
    try {
      if (this.closing) {
        destroy();
        return;
      }
      new Connection(this, make(), handlers).start(firstBytes);
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'MQTT connection setup failed');
      try {
        destroy();
      } catch {
        // already gone
      }
    }
  }

  async close(): Promise<void> {
    if (this.closing) return this.waitClosed();
    this.closing = true;
    clearInterval(this.sweepTimer);
    await this.ready.catch(() => {});
    // Sessions end with the server (a stored one stays in the store, restored at the next start):
    // wills still pending are published first, while the other clients can still receive them;
    // then everyone is disconnected.
    const sessions = this.registry.all();
    for (const s of sessions) {
      try {
        s.publishWill();
      } catch (err) {
        this.logger.warn({ clientId: s.clientId, err: String(err) }, 'will on shutdown failed');
      }
    }
    for (const c of [...this.connections]) c.shutdown();
    for (const s of sessions) {
      try {
        s.suspend();
      } catch (err) {
        this.logger.warn({ clientId: s.clientId, err: String(err) }, 'session end on shutdown failed');
      }
    }
    return this.waitClosed();
  }

  private async waitClosed(): Promise<void> {
    const all = Promise.all([...this.connections].map((c) => c.closed));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 3_000)));
    const r = await Promise.race([all, timeout]);
    clearTimeout(timer);
    if (r === 'timeout') {
      for (const c of [...this.connections]) c.destroy();
      await Promise.race([Promise.all([...this.connections].map((c) => c.closed)), new Promise((r2) => setTimeout(r2, 500))]);
    }
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Math.floor(n)));
}

export function createMqttGate(router: Router, options: MqttGateOptions = {}): MqttGate {
  return new Gate(router, options);
}

// One MQTT session: it outlives its network connections (persistent sessions, clean session 0 /
// v5 session expiry) and keeps the core session attached meanwhile, so subscriptions stay live
// and QoS 1/2 messages queue while the client is away. Holds the outbound in-flight window, the
// packet id allocator, the inbound QoS 2 ids awaiting PUBREL, the offline queue and the will.
import type { Subscription } from '../core/broker.ts';
import type { Payload } from '../core/payload.ts';
import type { Session } from '../core/session.ts';
import type { MqttSessionState, MqttSubscriptionRecord } from '../core/store.ts';
import type { Publication, PublishOptions, QoS } from '../core/types.ts';
import type { ProtocolVersion } from './codes.ts';

/** One message on its way to the client. Dropped entirely once acknowledged. */
export interface Outbound {
  /** The publication; released after PUBREC (only the packet id matters for PUBREL/PUBCOMP). */
  pub: Publication | undefined;
  qos: QoS;
  retain: boolean;
  subscriptionIdentifier?: number;
  packetId: number;
  state: 'publish' | 'pubrel';
}

/** What a session needs from the connection currently serving it (implemented by Connection). */
export interface Link {
  /** The client's Receive Maximum (65535 before v5). */
  readonly receiveMaximum: number;
  /**
   * Writes a PUBLISH. False when the message was dropped instead (expired, larger than the
   * client's Maximum Packet Size, or QoS 0 over the soft send-buffer limit): the caller treats a
   * dropped QoS 1/2 message as complete, as the spec prescribes for oversized packets.
   */
  sendPublish(out: Outbound, dup: boolean): boolean;
  sendPubrel(packetId: number): void;
  /** Server-side disconnect (v5 DISCONNECT with `code` first); the session is already detached. */
  disconnect(code: number, reason: string): void;
  buffered(): number;
}

export interface Will {
  topic: string[];
  payload: Payload;
  options: PublishOptions;
  delayMs: number;
}

export interface SubscriptionEntry {
  record: MqttSubscriptionRecord;
  sub: Subscription;
}

/** What a session needs from the gate. */
export interface SessionEnv {
  readonly maxQueued: number;
  ended(session: MqttSession): void;
  dropped(kind: 'queueFull' | 'offlineQos0'): void;
  warn(obj: object, msg: string): void;
}

/** Packet identifiers 1..65535, wrapping, skipping ids still in use. */
export class PacketIds {
  private last = 0;

  next(inUse: { has(id: number): boolean; readonly size: number }): number | undefined {
    if (inUse.size >= 65535) return undefined;
    for (let k = 0; k < 65535; k++) {
      this.last = this.last >= 65535 ? 1 : this.last + 1;
      if (!inUse.has(this.last)) return this.last;
    }
    return undefined;
  }
}

/** setTimeout for delays beyond the 24.8-day limit of Node timers. Unref'd; `fn` never throws out. */
function longTimer(fn: () => void, ms: number, warn: (obj: object, msg: string) => void): { cancel(): void } {
  let t: NodeJS.Timeout;
  const due = Date.now() + ms;
  const run = (): void => {
    try {
      fn();
    } catch (err) {
      warn({ err: String(err) }, 'MQTT session timer failed');
    }
  };
  const arm = (): void => {
    const left = due - Date.now();
    t = setTimeout(left > 2 ** 31 - 1 ? arm : run, Math.max(0, Math.min(left, 2 ** 31 - 1)));
    t.unref();
  };
  arm();
  return { cancel: () => clearTimeout(t) };
}

export const NEVER_EXPIRES = 0xffffffff;

export class MqttSession {
  core!: Session;
  link: Link | undefined;
  readonly subs = new Map<string, SubscriptionEntry>();
  readonly inflight = new Map<number, Outbound>();
  readonly inboundQos2 = new Set<number>();
  /** Session Expiry Interval in seconds (0 = ends with the connection, 0xFFFFFFFF = never). */
  expiryInterval = 0;
  protocolVersion: ProtocolVersion = 4;
  /** Will of the current (or last, while its delay runs) connection. */
  will: Will | undefined;
  ended = false;
  disconnectedAt: number | undefined;
  private queue: Outbound[] = [];
  private qhead = 0;
  private readonly ids = new PacketIds();
  private willTimer: { cancel(): void } | undefined;
  private expiryTimer: { cancel(): void } | undefined;

  constructor(
    readonly realm: string,
    readonly clientId: string,
    private readonly env: SessionEnv,
  ) {}

  get queued(): number {
    return this.queue.length - this.qhead;
  }

  /** A delivery from core (through the peer). */
  deliver(out: Outbound): void {
    if (this.ended) return;
    const link = this.link;
    if (out.qos === 0) {
      if (link) link.sendPublish(out, false);
      else this.env.dropped('offlineQos0');
      return;
    }
    if (link && this.queued === 0 && this.inflight.size < link.receiveMaximum) this.sendNew(link, out);
    else this.enqueue(out);
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) received: the message is done. */
  complete(packetId: number, expect: 'puback' | 'pubcomp'): boolean {
    const out = this.inflight.get(packetId);
    if (!out) return false;
    if (expect === 'puback' ? out.qos !== 1 : out.state !== 'pubrel') return false;
    this.inflight.delete(packetId);
    this.pump();
    return true;
  }

  /** PUBREC received. Returns 'pubrel' when a PUBREL must be sent, 'done' when the flow ended, 'unknown'. */
  received(packetId: number, failed: boolean): 'pubrel' | 'done' | 'unknown' {
    const out = this.inflight.get(packetId);
    if (!out || out.qos !== 2) return 'unknown';
    if (failed) {
      this.inflight.delete(packetId);
      this.pump();
      return 'done';
    }
    out.state = 'pubrel';
    out.pub = undefined;
    return 'pubrel';
  }

  /** A connection takes over this session; `resumed` retransmits unacknowledged messages. */
  attach(link: Link, resumed: boolean): void {
    this.willTimer?.cancel();
    this.expiryTimer?.cancel();
    this.willTimer = this.expiryTimer = undefined;
    this.will = undefined;
    this.disconnectedAt = undefined;
    this.link = link;
    if (resumed) {
      for (const out of [...this.inflight.values()]) {
        if (this.link !== link) return;
        if (out.state === 'pubrel') link.sendPubrel(out.packetId);
        else if (!link.sendPublish(out, true)) this.inflight.delete(out.packetId);
      }
    } else {
      this.inflight.clear();
      this.inboundQos2.clear();
      this.queue = [];
      this.qhead = 0;
    }
    this.pump();
  }

  /** The connection went away; `clean` = DISCONNECT 0x00 (the will is discarded). */
  detach(link: Link, clean: boolean): void {
    if (this.link !== link || this.ended) return;
    this.link = undefined;
    this.disconnectedAt = Date.now();
    if (clean) this.will = undefined;
    if (this.expiryInterval === 0) {
      this.end();
      return;
    }
    const will = this.will;
    if (will) {
      if (will.delayMs <= 0) this.publishWill();
      else this.willTimer = longTimer(() => this.publishWill(), will.delayMs, this.env.warn);
    }
    if (this.expiryInterval !== NEVER_EXPIRES) this.expiryTimer = longTimer(() => this.end(), this.expiryInterval * 1000, this.env.warn);
  }

  /** Another connection claims this client id: the current one is closed (v5: DISCONNECT 0x8E). */
  takeover(code: number): void {
    const link = this.link;
    if (!link) return;
    this.detach(link, false);
    link.disconnect(code, 'session taken over by another connection');
  }

  /** The router closes this session (meta kill, shutdown): disconnect, will, end. */
  kill(code: number, message: string): void {
    const link = this.link;
    this.link = undefined;
    link?.disconnect(code, message);
    this.end();
  }

  /** Publishes the pending will now (session end, server shutdown). */
  publishWill(): void {
    this.willTimer?.cancel();
    this.willTimer = undefined;
    const will = this.will;
    this.will = undefined;
    if (!will) return;
    const failed = (err: unknown): void => this.env.warn({ clientId: this.clientId, err: String(err) }, 'will message could not be published');
    try {
      // Authorized at CONNECT; routed even when the session is about to leave.
      Promise.resolve(this.core.realm.routePublication(will.topic, will.payload, will.options, this.core)).catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  /** Ends the session: will (if still pending), core session left, state dropped. */
  end(): void {
    if (this.ended) return;
    this.expiryTimer?.cancel();
    this.expiryTimer = undefined;
    this.publishWill();
    this.ended = true;
    this.link = undefined;
    this.core?.leave();
    this.subs.clear();
    this.inflight.clear();
    this.inboundQos2.clear();
    this.queue = [];
    this.qhead = 0;
    this.env.ended(this);
  }

  /** Forgets a subscription core ended on its own (meta API). */
  forget(subscriptionId: number): void {
    for (const [filter, e] of this.subs) if (e.sub.id === subscriptionId) this.subs.delete(filter);
  }

  /** The persistable part, in the Store's MQTT session record shape (seam for lib/core/store.ts). */
  toRecord(): MqttSessionState {
    return {
      subscriptions: [...this.subs.values()].map((e) => e.record),
      expiryInterval: this.expiryInterval,
      protocolVersion: this.protocolVersion,
      disconnectedAt: this.disconnectedAt,
    };
  }

  /** Sends queued messages while the client's window has room. */
  pump(): void {
    const link = this.link;
    if (!link) return;
    while (this.qhead < this.queue.length && this.inflight.size < link.receiveMaximum && this.link === link) {
      const out = this.queue[this.qhead] as Outbound;
      this.queue[this.qhead++] = undefined as unknown as Outbound;
      this.sendNew(link, out);
    }
    if (this.qhead > 0 && this.qhead === this.queue.length) {
      this.queue = [];
      this.qhead = 0;
    } else if (this.qhead > 1024 && this.qhead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qhead);
      this.qhead = 0;
    }
  }

  private sendNew(link: Link, out: Outbound): void {
    const id = this.ids.next(this.inflight);
    if (id === undefined) {
      this.enqueue(out);
      return;
    }
    out.packetId = id;
    out.state = 'publish';
    this.inflight.set(id, out);
    if (!link.sendPublish(out, false)) this.inflight.delete(id);
  }

  private enqueue(out: Outbound): void {
    if (this.queued >= this.env.maxQueued) {
      this.queue[this.qhead++] = undefined as unknown as Outbound;
      this.env.dropped('queueFull');
    }
    this.queue.push(out);
  }
}

/**
 * Live MQTT sessions by realm + client id. The memory registry is the default; a store-backed
 * registry (lib/core/store.ts MQTT session methods) can implement the same interface and write
 * each session's record through (toRecord) on add/remove.
 */
export interface SessionRegistry {
  get(realm: string, clientId: string): MqttSession | undefined;
  add(session: MqttSession): void;
  /** Removes the session if it is the one registered for its realm + client id. */
  remove(session: MqttSession): void;
  all(): MqttSession[];
  readonly size: number;
}

export class MemorySessionRegistry implements SessionRegistry {
  private readonly map = new Map<string, MqttSession>();

  private static key(realm: string, clientId: string): string {
    return `${realm}\u0000${clientId}`;
  }

  get(realm: string, clientId: string): MqttSession | undefined {
    return this.map.get(MemorySessionRegistry.key(realm, clientId));
  }

  add(session: MqttSession): void {
    this.map.set(MemorySessionRegistry.key(session.realm, session.clientId), session);
  }

  remove(session: MqttSession): void {
    const key = MemorySessionRegistry.key(session.realm, session.clientId);
    if (this.map.get(key) === session) this.map.delete(key);
  }

  all(): MqttSession[] {
    return [...this.map.values()];
  }

  get size(): number {
    return this.map.size;
  }
}

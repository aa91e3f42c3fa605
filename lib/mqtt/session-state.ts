// One MQTT session: it outlives its network connections (persistent sessions, clean session 0 /
// v5 session expiry) and keeps the core session attached meanwhile, so subscriptions stay live
// and QoS 1/2 messages queue while the client is away. Holds the outbound in-flight window, the
// packet id allocator, the inbound QoS 2 ids awaiting PUBREL, the offline queue and the will.
// When the router has a store, a persistent session writes each change through its journal
// (SessionJournal, implemented in session-store.ts); without one, it lives in memory only.
import type { Subscription } from '../core/routing-types.ts';
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
  /** Several when one copy stands for overlapping subscriptions (MQTT-3.3.4-4). */
  subscriptionIdentifier?: number | readonly number[];
  packetId: number;
  state: 'publish' | 'pubrel';
  /** Session-local sequence number, assigned when the journal first stores the message. */
  seq?: number;
  /** What it counts against the queue's byte bound while queued (see queuedSize). */
  size?: number;
}

/** Bytes a queued message is charged: payload and topic, plus a fixed overhead for the rest. */
export function queuedSize(out: Outbound): number {
  const pub = out.pub;
  if (pub === undefined) return 0;
  let n = 64 + pub.payload.bytes.length;
  for (const level of pub.topic) n += level.length + 1;
  return n;
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

/**
 * Write-through of a persistent session's state to the Store (session-store.ts). Present only
 * when the router has a store and the session outlives its connection. Calls come in the order
 * the state changes, and the store applies them in that order. A returned promise settles once
 * that write is committed and rejects when the store fails; the journal logs failures itself, so
 * a caller that does not wait for the write may drop the promise.
 */
export interface SessionJournal {
  /** The session record: subscriptions, expiry, protocol level, disconnect time, identity. */
  saveRecord(): Promise<void>;
  /**
   * A QoS 1/2 message appended to the offline queue (client away or its window full); `full`:
   * the session dropped its oldest queued message to make room, so the store trims it too.
   */
  queued(out: Outbound, full: boolean): Promise<unknown>;
  /** A QoS 1/2 message sent: in flight under out.packetId until acknowledged. */
  sent(out: Outbound): Promise<unknown>;
  /** The `count` oldest queued messages left the queue (called after their sent()). */
  dequeued(count: number): void;
  /** PUBREC received: only the packet id stays in flight (PUBREL sent). */
  released(out: Outbound): void;
  /** The flow of an outbound packet id ended (PUBACK, PUBCOMP, failed PUBREC, dropped). */
  completed(packetId: number): void;
  /** An inbound QoS 2 packet id is held until PUBREL (exactly once across restarts)... */
  inboundHeld(packetId: number): Promise<unknown>;
  /** ...and released by it. */
  inboundReleased(packetId: number): Promise<unknown>;
  /** The session ended: its record, queue and in-flight state are deleted. */
  erase(): void;
}

/** Store-backed persistent sessions of a gate (session-store.ts). */
export interface SessionPersistence {
  /** `fresh`: a new session, so state a previous one under this client id left is erased first. */
  journal(session: MqttSession, fresh: boolean): SessionJournal;
  /** Whether the realm's stored sessions are restored (realms created after the gate started are not, at first). */
  restored(realm: string): boolean;
  /** Restores the realm's stored sessions (once; later calls share the first). */
  restoreRealm(realm: string): Promise<number>;
}

/** What a session needs from the gate. */
export interface SessionEnv {
  readonly maxQueued: number;
  /** Bound on the bytes of a session's queue (queuedSize of each message). */
  readonly maxQueuedBytes: number;
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

/** The empty queue every session without queued messages shares; never written (pushes make a queue of its own). */
const NO_QUEUE: Outbound[] = [];

export class MqttSession {
  core!: Session;
  link: Link | undefined;
  // These three are made on first use: an empty Map or Set costs about 200 bytes, and many
  // sessions never subscribe or never have a QoS 1/2 message in flight.
  private subsByFilter: Map<string, SubscriptionEntry> | undefined;
  private wildcards: SubscriptionEntry[] | undefined;
  private inflightById: Map<number, Outbound> | undefined;
  private qos2Ids: Set<number> | undefined;
  /** Session Expiry Interval in seconds (0 = ends with the connection, 0xFFFFFFFF = never). */
  expiryInterval = 0;
  protocolVersion: ProtocolVersion = 4;
  /** Will of the current (or last, while its delay runs) connection. */
  will: Will | undefined;
  /** Write-through to the store; undefined without a store or for a session that ends with its connection. */
  journal: SessionJournal | undefined;
  ended = false;
  disconnectedAt: number | undefined;
  /** The offline queue from qhead on; NO_QUEUE while empty (idle sessions keep no array of their own). */
  private queue: Outbound[] = NO_QUEUE;
  private qhead = 0;
  /** Sum of queuedSize over the queue. */
  private queueBytes = 0;
  /** A queue-full drop was logged; logged again once the queue has moved (one line per episode). */
  private dropLogged = false;
  private ids: PacketIds | undefined;
  private willTimer: { cancel(): void } | undefined;
  private expiryTimer: { cancel(): void } | undefined;

  constructor(
    readonly realm: string,
    readonly clientId: string,
    private readonly env: SessionEnv,
  ) {}

  /** By filter. Change it through setSub / deleteSub (they keep wildcardSubs current). */
  get subs(): Map<string, SubscriptionEntry> {
    return (this.subsByFilter ??= new Map());
  }

  /** Outbound QoS 1/2 messages sent and not yet completed, by packet id. */
  get inflight(): Map<number, Outbound> {
    return (this.inflightById ??= new Map());
  }

  /** Inbound QoS 2 packet ids received and not yet released. */
  get inboundQos2(): Set<number> {
    return (this.qos2Ids ??= new Set());
  }

  /**
   * Logs through the gate. The peer warns through here rather than holding a callback of its own:
   * one made inside the CONNECT handler kept that handler's scope, the CONNECT packet included,
   * alive for the whole session.
   */
  warn(obj: object, msg: string): void {
    this.env.warn(obj, msg);
  }

  get queued(): number {
    return this.queue.length - this.qhead;
  }

  get queuedBytes(): number {
    return this.queueBytes;
  }

  /**
   * A delivery from core (through the peer). Returns the store write it caused (persistent
   * sessions only), which the publisher's acknowledgement waits for.
   */
  deliver(out: Outbound): Promise<unknown> | undefined {
    if (this.ended) return undefined;
    const link = this.link;
    if (out.qos === 0) {
      if (link) link.sendPublish(out, false);
      else this.env.dropped('offlineQos0');
      return undefined;
    }
    if (link && this.queued === 0 && this.inflight.size < link.receiveMaximum) return this.sendNew(link, out);
    return this.enqueue(out);
  }

  /**
   * PUBACK (QoS 1) or PUBCOMP (QoS 2, after PUBREL) received: the message is done. 'wrong' when
   * the packet id is in flight in another state (PUBCOMP for QoS 1 or before PUBREC, PUBACK for
   * QoS 2), a protocol violation; 'unknown' when nothing is in flight under it.
   */
  complete(packetId: number, expect: 'puback' | 'pubcomp'): 'done' | 'wrong' | 'unknown' {
    const out = this.inflight.get(packetId);
    if (!out) return 'unknown';
    if (expect === 'puback' ? out.qos !== 1 : out.state !== 'pubrel') return 'wrong';
    this.inflight.delete(packetId);
    this.journal?.completed(packetId);
    this.pump();
    return 'done';
  }

  /**
   * PUBREC received. Returns 'pubrel' when a PUBREL must be sent, 'done' when the flow ended,
   * 'wrong' for a QoS 1 message (a protocol violation), 'unknown' when nothing is in flight.
   */
  received(packetId: number, failed: boolean): 'pubrel' | 'done' | 'wrong' | 'unknown' {
    const out = this.inflight.get(packetId);
    if (!out) return 'unknown';
    if (out.qos !== 2) return 'wrong';
    if (failed) {
      this.inflight.delete(packetId);
      this.journal?.completed(packetId);
      this.pump();
      return 'done';
    }
    if (out.state === 'pubrel') return 'pubrel';
    out.state = 'pubrel';
    out.pub = undefined;
    this.journal?.released(out);
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
        else if (!link.sendPublish(out, true)) {
          this.inflight.delete(out.packetId);
          this.journal?.completed(out.packetId);
        }
      }
    } else {
      this.inflightById?.clear();
      this.qos2Ids?.clear();
      this.queue = NO_QUEUE;
      this.qhead = 0;
      this.queueBytes = 0;
    }
    this.pump();
  }

  /**
   * The connection went away; `clean` = DISCONNECT 0x00 (the will is discarded). `willWaits`: a
   * connection taking the session over is already there, so the will is left for it to cancel
   * (resuming) or for the session's end (see takeover).
   */
  detach(link: Link, clean: boolean, willWaits = false): void {
    if (this.link !== link || this.ended) return;
    this.link = undefined;
    this.disconnectedAt = Date.now();
    if (clean) this.will = undefined;
    if (this.expiryInterval === 0) {
      this.end();
      return;
    }
    void this.journal?.saveRecord();
    const will = this.will;
    if (will && !willWaits) {
      if (will.delayMs <= 0) this.publishWill();
      else this.willTimer = longTimer(() => this.publishWill(), will.delayMs, this.env.warn);
    }
    if (this.expiryInterval !== NEVER_EXPIRES) this.expiryTimer = longTimer(() => this.end(), this.expiryInterval * 1000, this.env.warn);
  }

  /**
   * Another connection claims this client id: the current one is closed (v5: DISCONNECT 0x8E).
   * A v5 will waits, even with a Will Delay Interval of 0: the new connection to the session came
   * before the delay ran out, so resuming cancels the will and a clean start, which ends the
   * session, publishes it (MQTT-3.1.3-9, MQTT-3.1.2-8). A session that ends with its connection
   * (expiry 0) publishes it now. 3.1.1 publishes it as the old connection closes (§3.1.2.5).
   */
  takeover(code: number): void {
    const link = this.link;
    if (!link) return;
    this.detach(link, false, this.protocolVersion === 5);
    link.disconnect(code, 'session taken over by another connection');
  }

  /**
   * The router closes this session: disconnect, will, end. A meta kill ends it for good; a
   * shutdown (`suspend`) keeps its stored state for the next start.
   */
  kill(code: number, message: string, suspend = false): void {
    const link = this.link;
    if (suspend) this.suspend();
    this.link = undefined;
    link?.disconnect(code, message);
    this.end();
  }

  /**
   * The server stops: the session leaves with it, but its stored state stays and is restored at
   * the next start (as offline since now, when it was connected). Without a journal: end().
   */
  suspend(): void {
    const journal = this.journal;
    this.journal = undefined;
    if (journal && !this.ended && this.link) {
      this.link = undefined;
      this.disconnectedAt = Date.now();
      void journal.saveRecord();
    }
    this.end();
  }

  /**
   * Restored from the store without a connection: in-flight, inbound QoS 2 and queued state as
   * stored (nothing is journaled again), offline since `since`, expiring its interval after that.
   */
  restore(inflight: readonly Outbound[], inbound: readonly number[], queue: Outbound[], since: number): void {
    for (const out of inflight) this.inflight.set(out.packetId, out);
    for (const id of inbound) this.inboundQos2.add(id);
    this.queue = queue;
    this.qhead = 0;
    this.queueBytes = 0;
    for (const out of queue) this.queueBytes += out.size ??= queuedSize(out);
    this.disconnectedAt = since;
    if (this.expiryInterval !== NEVER_EXPIRES) {
      this.expiryTimer = longTimer(() => this.end(), Math.max(0, since + this.expiryInterval * 1000 - Date.now()), this.env.warn);
    }
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

  /** Ends the session: will (if still pending), core session left, state dropped (also from the store). */
  end(): void {
    if (this.ended) return;
    const journal = this.journal;
    this.journal = undefined;
    journal?.erase();
    this.expiryTimer?.cancel();
    this.expiryTimer = undefined;
    this.publishWill();
    this.ended = true;
    this.link = undefined;
    this.core?.leave();
    this.subsByFilter?.clear();
    this.inflightById?.clear();
    this.qos2Ids?.clear();
    this.queue = NO_QUEUE;
    this.qhead = 0;
    this.queueBytes = 0;
    this.env.ended(this);
  }

  setSub(filter: string, entry: SubscriptionEntry): void {
    this.subs.set(filter, entry);
    this.wildcards = undefined;
  }

  deleteSub(filter: string): void {
    if (this.subs.delete(filter)) this.wildcards = undefined;
  }

  /** The subscriptions whose filter has a wildcard and is not shared: the only ones that can overlap. */
  get wildcardSubs(): readonly SubscriptionEntry[] {
    this.wildcards ??= [...this.subs.values()].filter((e) => e.sub.shareGroup === undefined && e.sub.pattern.match !== 'exact');
    return this.wildcards;
  }

  /** Forgets a subscription core ended on its own (meta API). */
  forget(subscriptionId: number): void {
    let changed = false;
    for (const [filter, e] of this.subs) {
      if (e.sub.id === subscriptionId) {
        this.deleteSub(filter);
        changed = true;
      }
    }
    if (changed) void this.journal?.saveRecord();
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
    let moved = 0;
    while (this.qhead < this.queue.length && this.inflight.size < link.receiveMaximum && this.link === link) {
      const out = this.queue[this.qhead] as Outbound;
      this.queue[this.qhead++] = undefined as unknown as Outbound;
      this.queueBytes -= out.size ?? 0;
      moved++;
      void this.sendNew(link, out);
    }
    // In the store: put in flight first, then dequeue — a crash between the two leaves a
    // duplicate that the restore recognizes by its sequence number, never a loss.
    if (moved > 0) {
      this.dropLogged = false;
      this.journal?.dequeued(moved);
    }
    if (this.qhead > 0 && this.qhead === this.queue.length) {
      this.queue = NO_QUEUE;
      this.qhead = 0;
    } else if (this.qhead > 1024 && this.qhead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qhead);
      this.qhead = 0;
    }
  }

  private sendNew(link: Link, out: Outbound): Promise<unknown> | undefined {
    if (out.pub === undefined) return undefined; // a stored message that could not be decoded
    const id = (this.ids ??= new PacketIds()).next(this.inflight);
    if (id === undefined) return this.enqueue(out);
    out.packetId = id;
    out.state = 'publish';
    this.inflight.set(id, out);
    if (!link.sendPublish(out, false)) {
      this.inflight.delete(id);
      return undefined;
    }
    return this.journal?.sent(out);
  }

  /**
   * Appends to the offline queue; the oldest messages go while it is over its message or byte
   * bound (the store trims alike). Every drop is counted, and the first of an episode logged.
   */
  private enqueue(out: Outbound): Promise<unknown> | undefined {
    const size = (out.size = queuedSize(out));
    let dropped = 0;
    while (this.qhead < this.queue.length && (this.queued >= this.env.maxQueued || this.queueBytes + size > this.env.maxQueuedBytes)) {
      const old = this.queue[this.qhead] as Outbound;
      this.queue[this.qhead++] = undefined as unknown as Outbound;
      this.queueBytes -= old.size ?? 0;
      dropped++;
      this.env.dropped('queueFull');
    }
    if (dropped > 0 && !this.dropLogged) {
      this.dropLogged = true;
      this.env.warn(
        { realm: this.realm, clientId: this.clientId, queued: this.queued, queuedBytes: this.queueBytes, maxQueued: this.env.maxQueued, maxQueuedBytes: this.env.maxQueuedBytes },
        'MQTT session queue full: oldest QoS 1/2 messages dropped (counted in kitsune_dropped_queued_total)',
      );
    }
    if (this.queue === NO_QUEUE) this.queue = [];
    this.queue.push(out);
    this.queueBytes += size;
    return this.journal?.queued(out, dropped > 0);
  }
}

/**
 * Live MQTT sessions by realm + client id (connected, or persistent and offline). Persistence is
 * not the registry's concern: each persistent session writes through its own SessionJournal, and
 * the gate restores stored sessions into this registry at start (session-store.ts).
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
  /** By realm, then client id: a joined key would be one more string per session. */
  private readonly realms = new Map<string, Map<string, MqttSession>>();
  private count = 0;

  get(realm: string, clientId: string): MqttSession | undefined {
    return this.realms.get(realm)?.get(clientId);
  }

  add(session: MqttSession): void {
    let byId = this.realms.get(session.realm);
    if (!byId) this.realms.set(session.realm, (byId = new Map()));
    const size = byId.size;
    byId.set(session.clientId, session);
    this.count += byId.size - size;
  }

  remove(session: MqttSession): void {
    const byId = this.realms.get(session.realm);
    if (byId?.get(session.clientId) !== session) return;
    byId.delete(session.clientId);
    this.count--;
    if (byId.size === 0) this.realms.delete(session.realm);
  }

  all(): MqttSession[] {
    const out: MqttSession[] = [];
    for (const byId of this.realms.values()) for (const s of byId.values()) out.push(s);
    return out;
  }

  get size(): number {
    return this.count;
  }
}

// Persistent MQTT sessions in the router's Store. A session that outlives its connection (clean
// session off, or v5 session expiry > 0) writes each change through a journal: the session record
// (subscriptions with their options, expiry, protocol level, disconnect time, identity), the
// offline queue of QoS 1/2 messages, the outbound in-flight QoS 1/2 state, and the inbound QoS 2
// packet ids awaiting PUBREL. At start the gate restores every stored session of its realms, so
// subscriptions are live again at once (offline sessions keep receiving into their queues), expired
// sessions are deleted, and the others expire on schedule from their disconnect time. A realm
// created later (autoCreateRealms) is restored on the first CONNECT into it.
//
// Layout in the Store (values are MessagePack; publications encoded by core's codec):
//   record      saveMqttSession(realm, clientId)   identity in `extra`
//   queue       enqueueMqtt / peekMqtt / drainMqtt  StoredOutbound
//   in flight   putInflight(realm, clientId, id)    StoredOutbound (PUBREL sent: marker only)
//   inbound     putInflight(realm, inboundKey(clientId), id)   QoS 2 ids awaiting PUBREL
import { Packr } from 'msgpackr';
import { anonymousMqttAuthid } from '../core/auth/principals.ts';
import { decodePublication, encodePublication } from '../core/codec.ts';
import type { MqttSessionListing, Store } from '../core/store.ts';
import type { Publication, QoS } from '../core/types.ts';
import { type GateContext, type Logger, logError } from './context.ts';
import { attachSession, type MqttIdentity } from './peer.ts';
import { MqttSession, NEVER_EXPIRES, type Outbound, type SessionJournal, type SessionPersistence } from './session-state.ts';
import { subscribeRecord } from './subscribe.ts';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', moreTypes: false });

/** One queued or in-flight message as stored. */
interface StoredOutbound {
  /** Session-local sequence number (see Outbound.seq). */
  s: number;
  /** QoS of this delivery. */
  q: QoS;
  /** Retain flag of this delivery. */
  r?: 1;
  /** Subscription identifier (v5). */
  i?: number | number[];
  /** PUBREL sent: only the packet id is left. */
  rel?: 1;
  /** The publication (core codec), absent with `rel`. */
  p?: Uint8Array;
}

const INBOUND_MARK = packr.pack(1);
/** publication.frames key of the stored publication blob, shared by a fan-out to many sessions. */
const STORED = 'mqtt|stored';

/**
 * The pseudo client id under which a session's inbound QoS 2 packet ids are kept in the store's
 * in-flight table (its own ids 1..65535 are the outbound ones). U+0000 cannot occur in an MQTT
 * client id (CONNECT refuses it), so this never names a real client.
 */
export function inboundKey(clientId: string): string {
  return `${clientId}\u0000in`;
}

function encodeOutbound(out: Outbound): Uint8Array {
  const rec: StoredOutbound = { s: out.seq as number, q: out.qos };
  if (out.state === 'pubrel' || out.pub === undefined) {
    rec.rel = 1;
    return packr.pack(rec);
  }
  const pub = out.pub;
  let blob = pub.frames.get(STORED) as Uint8Array | undefined;
  if (blob === undefined) {
    blob = encodePublication(pub.topic, pub.payload, pub.qos, pub.publisher, pub.headers);
    pub.frames.set(STORED, blob);
  }
  rec.p = blob;
  if (out.retain) rec.r = 1;
  if (out.subscriptionIdentifier !== undefined) rec.i = typeof out.subscriptionIdentifier === 'number' ? out.subscriptionIdentifier : [...out.subscriptionIdentifier];
  return packr.pack(rec);
}

/** The stored message, or undefined when it cannot be decoded. */
function decodeOutbound(value: Uint8Array, packetId: number): Outbound | undefined {
  try {
    const rec = packr.unpack(value) as StoredOutbound;
    const seq = typeof rec.s === 'number' ? rec.s : 0;
    if (rec.rel === 1) return { pub: undefined, qos: 2, retain: false, packetId, state: 'pubrel', seq };
    if (!(rec.p instanceof Uint8Array) || (rec.q !== 1 && rec.q !== 2)) return undefined;
    const d = decodePublication(rec.p);
    const retain = rec.r === 1;
    const pub: Publication = { id: 0, topic: d.topic, payload: d.payload, publisher: d.publisher, qos: d.qos, retain, headers: d.headers, frames: new Map() };
    return { pub, qos: rec.q, retain, subscriptionIdentifier: rec.i, packetId, state: 'publish', seq };
  } catch {
    return undefined;
  }
}

function encodeIdentity(identity: MqttIdentity): Uint8Array {
  const { authid, authrole, authmethod, authprovider } = identity;
  return packr.pack({ authid, authrole, authmethod, authprovider });
}

function decodeIdentity(extra: Uint8Array | undefined): MqttIdentity | undefined {
  if (!extra) return undefined;
  try {
    const v = packr.unpack(extra) as Partial<MqttIdentity>;
    if (typeof v.authid !== 'string' || typeof v.authrole !== 'string') return undefined;
    return { authid: v.authid, authrole: v.authrole, authmethod: String(v.authmethod ?? 'anonymous'), authprovider: String(v.authprovider ?? 'static') };
  } catch {
    return undefined;
  }
}

/** The gate's store-backed persistence: journals for persistent sessions, and the restore at start. */
export class SessionStore implements SessionPersistence {
  readonly store: Store;
  /** Offline queue bound per session (the store trims like the session does). */
  readonly maxQueued: number;
  private readonly logger: Logger;
  private readonly realms = new Map<string, Promise<number>>();

  constructor(private readonly gate: GateContext) {
    this.store = gate.router.store as Store;
    this.maxQueued = gate.options.maxQueuedMessages;
    this.logger = gate.logger;
  }

  journal(session: MqttSession, fresh: boolean): SessionJournal {
    const journal = new Journal(this, session, 0);
    // A new session replaces whatever an earlier one under this client id left behind.
    if (fresh) this.erase(session.realm, session.clientId);
    return journal;
  }

  /** Deletes a session's record, queue and in-flight state (outbound and inbound). */
  erase(realm: string, clientId: string): void {
    void this.track(this.store.deleteMqttSession(realm, clientId), realm, clientId, 'delete');
    void this.track(this.store.deleteMqttSession(realm, inboundKey(clientId)), realm, clientId, 'delete');
  }

  /** Logs a failed write; the promise still rejects for whoever waits on it, but may be dropped. */
  track<T>(p: Promise<T>, realm: string, clientId: string, what: string): Promise<T> {
    p.catch((err: unknown) => logError(this.logger, { realm, clientId, err: String((err as Error)?.message ?? err) }, `MQTT session store write failed (${what})`));
    return p;
  }

  /** Restores the stored sessions of every realm the router has now (see restoreRealm). */
  async restore(): Promise<number> {
    let n = 0;
    for (const realm of [...this.gate.router.realms.keys()]) n += await this.restoreRealm(realm);
    return n;
  }

  restored(realm: string): boolean {
    return this.realms.has(realm);
  }

  /**
   * Restores a realm's stored sessions: expired ones are deleted, the others get their core
   * session and subscriptions back, with their in-flight, inbound QoS 2 and queued state, offline
   * since their disconnect time. Resolves to the number restored; rejects when the store cannot
   * be read (and a later call tries again).
   */
  restoreRealm(realm: string): Promise<number> {
    let p = this.realms.get(realm);
    if (!p) {
      p = this.restoreAll(realm);
      this.realms.set(realm, p);
      p.catch(() => this.realms.delete(realm));
    }
    return p;
  }

  private async restoreAll(realm: string): Promise<number> {
    let n = 0;
    const listed = await this.store.listMqttSessions(realm);
    for (const listing of listed) if (await this.restoreOne(this.gate, realm, listing)) n++;
    return n;
  }

  /**
   * The expiry a stored session has under today's options: capped by maxSessionExpiry, and for
   * 3.1 / 3.1.1 sessions (stored by earlier versions as never expiring) by v3SessionExpiry.
   */
  private expiryOf(listing: MqttSessionListing): number {
    const o = this.gate.options;
    const cap = listing.protocolVersion === 5 ? o.maxSessionExpiry : Math.min(o.maxSessionExpiry, o.v3SessionExpiry);
    return Math.min(listing.expiryInterval, cap);
  }

  /**
   * Deletes stored sessions that expired and that no live session stands for (live ones end on
   * their own expiry timers): those that could not be restored, or whose delete was lost. Resolves
   * to the number deleted.
   */
  async sweep(): Promise<number> {
    let n = 0;
    const now = Date.now();
    for (const realm of [...this.realms.keys()]) {
      for (const listing of await this.store.listMqttSessions(realm)) {
        if (this.gate.registry.get(realm, listing.clientId)) continue;
        if (!expired(this.expiryOf(listing), listing.disconnectedAt ?? now, now)) continue;
        this.erase(realm, listing.clientId);
        n++;
      }
    }
    if (n > 0) this.logger.info({ sessions: n }, 'expired stored MQTT sessions deleted');
    return n;
  }

  private async restoreOne(gate: GateContext, realm: string, listing: MqttSessionListing): Promise<boolean> {
    const { clientId } = listing;
    const log = { realm, clientId };
    const now = Date.now();
    const expiry = this.expiryOf(listing);
    // Connected when the server stopped without a goodbye (a crash): offline since now.
    const since = listing.disconnectedAt ?? now;
    if (expired(expiry, since, now)) {
      gate.logger.info(log, 'stored MQTT session expired while the server was down: deleted');
      this.erase(realm, clientId);
      return false;
    }
    const identity = decodeIdentity(listing.extra);
    if (!identity) {
      gate.logger.warn(log, 'stored MQTT session has no usable identity: deleted');
      this.erase(realm, clientId);
      return false;
    }
    // Written before anonymous authids were derived from the client id (they were the client id):
    // given today's, so the client that owns it can still resume it.
    if (identity.authmethod === 'anonymous' && identity.authid === clientId) identity.authid = anonymousMqttAuthid(clientId);
    if (gate.registry.get(realm, clientId)) return false;
    const [inflight, inbound, queued] = await Promise.all([
      this.store.listInflight(realm, clientId),
      this.store.listInflight(realm, inboundKey(clientId)),
      this.store.peekMqtt(realm, clientId),
    ]);

    const session = new MqttSession(realm, clientId, gate.sessionEnv);
    session.expiryInterval = expiry;
    gate.trackPersistence(session);
    session.protocolVersion = listing.protocolVersion === 3 || listing.protocolVersion === 5 ? listing.protocolVersion : 4;
    try {
      attachSession(gate.router, session, identity, { kind: 'stored', clientId, protocolVersion: session.protocolVersion });
    } catch (err) {
      // Kept in the store: a configuration change (a role, the session limit) may be undone.
      gate.logger.warn({ ...log, err: String(err) }, 'stored MQTT session could not be restored');
      return false;
    }
    let changed = listing.disconnectedAt === undefined || expiry !== listing.expiryInterval;
    for (const record of listing.subscriptions) {
      try {
        subscribeRecord(session, record);
      } catch (err) {
        gate.logger.warn({ ...log, filter: record.filter, err: String(err) }, 'stored MQTT subscription could not be restored: dropped');
        changed = true;
      }
    }

    const journal = new Journal(this, session, 0);
    const out: Outbound[] = [];
    const inFlightSeqs = new Set<number>();
    for (const f of inflight) {
      const o = decodeOutbound(f.value, f.packetId);
      if (!o) {
        gate.logger.warn({ ...log, packetId: f.packetId }, 'stored in-flight MQTT message could not be decoded: dropped');
        journal.completed(f.packetId);
        continue;
      }
      out.push(o);
      inFlightSeqs.add(o.seq as number);
      journal.seen(o.seq as number);
    }
    const queue: Outbound[] = [];
    let duplicates = 0;
    for (const m of queued) {
      const o = decodeOutbound(m.value, 0);
      if (o) journal.seen(o.seq as number);
      // Already in flight: the server stopped between putting it in flight and dequeuing it.
      if (queue.length === 0 && o && inFlightSeqs.has(o.seq as number)) {
        duplicates++;
        continue;
      }
      if (!o || o.state !== 'publish') {
        gate.logger.warn(log, 'stored queued MQTT message could not be decoded: skipped');
        // Keeps its place (so the queue matches the store's); never sent.
        queue.push({ pub: undefined, qos: 1, retain: false, packetId: 0, state: 'publish' });
        continue;
      }
      queue.push(o);
    }
    // A lower queue bound than when they were stored: the oldest go, in the store as well.
    const excess = Math.max(0, queue.length - this.maxQueued);
    if (excess > 0) {
      queue.splice(0, excess);
      gate.stats.droppedQueueFull += excess;
      gate.dropped.queueFull += excess;
      gate.router.stats.droppedQueued += excess;
    }
    const inboundIds = inbound.map((f) => f.packetId);

    session.restore(out, inboundIds, queue, since);
    session.journal = journal;
    gate.registry.add(session);
    if (duplicates + excess > 0) journal.dequeued(duplicates + excess);
    if (changed) void journal.saveRecord();
    gate.logger.debug({ ...log, subscriptions: session.subs.size, inflight: out.length, inbound: inboundIds.length, queued: queue.length }, 'MQTT session restored');
    return true;
  }
}

function expired(expiry: number, since: number, now: number): boolean {
  return expiry === 0 || (expiry !== NEVER_EXPIRES && since + expiry * 1000 <= now);
}

/** One persistent session's write-through (see SessionJournal). */
class Journal implements SessionJournal {
  private extra: Uint8Array | undefined;

  constructor(
    private readonly owner: SessionStore,
    private readonly session: MqttSession,
    /** Last sequence number given out. */
    private seq: number,
  ) {}

  /** A stored sequence number: later messages get higher ones. */
  seen(seq: number): void {
    if (seq > this.seq) this.seq = seq;
  }

  private track<T>(p: Promise<T>, what: string): Promise<T> {
    return this.owner.track(p, this.session.realm, this.session.clientId, what);
  }

  private encode(out: Outbound): Uint8Array {
    out.seq ??= ++this.seq;
    return encodeOutbound(out);
  }

  saveRecord(): Promise<void> {
    const s = this.session;
    this.extra ??= encodeIdentity(s.core.identity);
    return this.track(this.owner.store.saveMqttSession(s.realm, s.clientId, { ...s.toRecord(), extra: this.extra }), 'session');
  }

  queued(out: Outbound, full: boolean): Promise<unknown> {
    const s = this.session;
    // The stored queue mirrors the session's: it only needs trimming when the session dropped one
    // (a trim costs the engine a scan of the queue, an append alone does not), to the same length.
    return this.track(this.owner.store.enqueueMqtt(s.realm, s.clientId, this.encode(out), full ? s.queued : undefined), 'queue');
  }

  sent(out: Outbound): Promise<unknown> {
    const s = this.session;
    return this.track(this.owner.store.putInflight(s.realm, s.clientId, out.packetId, this.encode(out)), 'in-flight');
  }

  dequeued(count: number): void {
    const s = this.session;
    void this.track(this.owner.store.drainMqtt(s.realm, s.clientId, count), 'dequeue');
  }

  released(out: Outbound): void {
    const s = this.session;
    void this.track(this.owner.store.putInflight(s.realm, s.clientId, out.packetId, this.encode(out)), 'in-flight');
  }

  completed(packetId: number): void {
    const s = this.session;
    void this.track(this.owner.store.deleteInflight(s.realm, s.clientId, packetId), 'in-flight');
  }

  inboundHeld(packetId: number): Promise<unknown> {
    const s = this.session;
    return this.track(this.owner.store.putInflight(s.realm, inboundKey(s.clientId), packetId, INBOUND_MARK), 'inbound QoS 2');
  }

  inboundReleased(packetId: number): Promise<unknown> {
    const s = this.session;
    return this.track(this.owner.store.deleteInflight(s.realm, inboundKey(s.clientId), packetId), 'inbound QoS 2');
  }

  erase(): void {
    this.owner.erase(this.session.realm, this.session.clientId);
  }
}

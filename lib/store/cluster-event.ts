// The wire form of a publication travelling between nodes (one Redis Pub/Sub message per routed
// publication per realm). MessagePack, so bytes stay bytes, args/kwargs stay args/kwargs and
// 64-bit integers stay exact; with the sending node and its sequence number, so a receiver counts
// what it missed. Reading is strict: anything another version or a corruption could produce is
// refused with a reason (the caller counts and drops it), never handed to the gates half-formed.
import { packRecord, payloadOf, type StoredPayload, storedPayload, unpackRecord } from '../core/codec.ts';
import type { RemoteEvent } from '../core/cluster.ts';
import type { Publication, PublicationHeaders, Publisher, PublishOptions, QoS } from '../core/types.ts';

export const EVENT_VERSION = 1;
/** Bounds on what a message may hold: the gates' own limits are far below these. */
const MAX_LEVELS = 1_000;
const MAX_AUDIENCE = 100_000;
const MAX_NODE_ID = 64;

/** The audience filters, short keys (they travel with every publication that sets them). */
interface WireAudience {
  /** excludeMe === false (the default, true, is not sent) */
  m?: false;
  x?: number[];
  xa?: string[];
  xr?: string[];
  e?: number[];
  ea?: string[];
  er?: string[];
}

interface WireEvent extends StoredPayload {
  v: number;
  /** sending node */
  n: string;
  /** the sender's sequence number on this realm's channel */
  s: number;
  /** publication id */
  i: number;
  t: string[];
  p?: Publisher;
  /** publisher's session id, disclosed or not (exclude_me, no-local) */
  ps?: number;
  q?: QoS;
  r?: true;
  h?: PublicationHeaders;
  o?: WireAudience;
}

export interface DecodedEvent {
  node: string;
  seq: number;
  publication: Publication;
  options: PublishOptions;
}

export class MalformedEvent extends Error {}

function audienceOf(o: PublishOptions): WireAudience | undefined {
  if (o.excludeMe !== false && !o.exclude && !o.excludeAuthid && !o.excludeAuthrole && !o.eligible && !o.eligibleAuthid && !o.eligibleAuthrole) return undefined;
  const a: WireAudience = {};
  if (o.excludeMe === false) a.m = false;
  if (o.exclude) a.x = o.exclude;
  if (o.excludeAuthid) a.xa = o.excludeAuthid;
  if (o.excludeAuthrole) a.xr = o.excludeAuthrole;
  if (o.eligible) a.e = o.eligible;
  if (o.eligibleAuthid) a.ea = o.eligibleAuthid;
  if (o.eligibleAuthrole) a.er = o.eligibleAuthrole;
  return a;
}

export function encodeEvent(node: string, seq: number, publication: Publication, options: PublishOptions): Uint8Array {
  // v and n first: a node recognises its own messages by their first bytes (sentBy) without decoding.
  const w = { v: EVENT_VERSION, n: node, ...storedPayload(publication.payload) } as WireEvent;
  w.s = seq;
  w.i = publication.id;
  w.t = publication.topic;
  if (publication.publisher) w.p = publication.publisher;
  if (publication.publisherSession !== undefined) w.ps = publication.publisherSession;
  if (publication.qos) w.q = publication.qos;
  if (publication.retain) w.r = true;
  if (publication.headers) w.h = publication.headers;
  const audience = audienceOf(options);
  if (audience) w.o = audience;
  return packRecord(w);
}

/**
 * The bytes every message `node` sends starts with after the map header: {v: 1, n: node, ...}
 * (MessagePack fixstr keys and node id). Undefined for an id too long to be a fixstr.
 */
export function senderPrefix(node: string): Buffer | undefined {
  const id = Buffer.from(node, 'utf8');
  if (id.length > 31) return undefined;
  return Buffer.concat([Buffer.from([0xa1, 0x76, EVENT_VERSION, 0xa1, 0x6e, 0xa0 | id.length]), id]);
}

/** True when the message certainly comes from the node of `prefix` (false: decode it to know). */
export function sentBy(message: Uint8Array, prefix: Buffer | undefined): boolean {
  if (prefix === undefined) return false;
  // The map header: fixmap (1 byte), map16 (3) or map32 (5).
  const first = message[0] ?? 0;
  const at = first >= 0x80 && first <= 0x8f ? 1 : first === 0xde ? 3 : first === 0xdf ? 5 : -1;
  if (at < 0 || message.length <= at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (message[at + i] !== prefix[i]) return false;
  return true;
}

function fail(why: string): never {
  throw new MalformedEvent(why);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function list<T>(v: unknown, what: string, item: (x: unknown) => x is T): T[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > MAX_AUDIENCE || !v.every(item)) fail(`${what} is not a list of the right kind`);
  return v;
}

const isString = (x: unknown): x is string => typeof x === 'string';

function publisherOf(v: unknown): Publisher | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || !isId(v.session) || !isString(v.authid) || !isString(v.authrole) || !['wamp', 'mqtt', 'http', 'local'].includes(v.protocol as string)) fail('bad publisher');
  return v as unknown as Publisher;
}

function headersOf(v: unknown): PublicationHeaders | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) fail('bad headers');
  const h = v as PublicationHeaders;
  if (h.contentType !== undefined && !isString(h.contentType)) fail('bad content type');
  if (h.responseTopic !== undefined && !isString(h.responseTopic)) fail('bad response topic');
  if (h.payloadFormat !== undefined && h.payloadFormat !== 0 && h.payloadFormat !== 1) fail('bad payload format');
  if (h.correlationData !== undefined && !(h.correlationData instanceof Uint8Array)) fail('bad correlation data');
  if (h.expiresAt !== undefined && typeof h.expiresAt !== 'number') fail('bad expiry');
  if (h.userProperties !== undefined) {
    if (!isObject(h.userProperties)) fail('bad user properties');
    for (const p of Object.values(h.userProperties)) if (!isString(p) && !(Array.isArray(p) && p.every(isString))) fail('bad user property');
  }
  return h;
}

function optionsOf(v: unknown): PublishOptions {
  if (v === undefined) return {};
  if (!isObject(v)) fail('bad audience');
  const o: PublishOptions = {};
  if (v.m !== undefined) {
    if (v.m !== false) fail('bad exclude_me');
    o.excludeMe = false;
  }
  o.exclude = list(v.x, 'exclude', isId);
  o.excludeAuthid = list(v.xa, 'exclude_authid', isString);
  o.excludeAuthrole = list(v.xr, 'exclude_authrole', isString);
  o.eligible = list(v.e, 'eligible', isId);
  o.eligibleAuthid = list(v.ea, 'eligible_authid', isString);
  o.eligibleAuthrole = list(v.er, 'eligible_authrole', isString);
  return o;
}

/** Throws MalformedEvent (or msgpackr's error on bytes that are not MessagePack). */
export function decodeEvent(blob: Uint8Array): DecodedEvent {
  const w = unpackRecord(blob);
  if (!isObject(w)) fail('not a map');
  if (w.v !== EVENT_VERSION) fail(`version ${String(w.v)}, expected ${EVENT_VERSION}`);
  if (!isString(w.n) || w.n.length === 0 || w.n.length > MAX_NODE_ID) fail('bad node id');
  if (!isId(w.s) || w.s === 0) fail('bad sequence number');
  if (!isId(w.i)) fail('bad publication id');
  if (!Array.isArray(w.t) || w.t.length === 0 || w.t.length > MAX_LEVELS || !w.t.every(isString)) fail('bad topic');
  if (w.b !== undefined ? !(w.b instanceof Uint8Array) : (w.a !== undefined && !Array.isArray(w.a)) || (w.k !== undefined && !isObject(w.k))) fail('bad payload');
  if (w.q !== undefined && w.q !== 1 && w.q !== 2) fail('bad qos');
  if (w.r !== undefined && w.r !== true) fail('bad retain flag');
  if (w.ps !== undefined && !isId(w.ps)) fail('bad publisher session');
  const publication: Publication = {
    id: w.i,
    topic: w.t,
    payload: payloadOf(w as StoredPayload),
    publisher: publisherOf(w.p),
    publisherSession: w.ps as number | undefined,
    qos: (w.q as QoS | undefined) ?? 0,
    retain: w.r === true,
    headers: headersOf(w.h),
    frames: new Map(),
  };
  return { node: w.n, seq: w.s, publication, options: optionsOf(w.o) };
}

export function remoteEvent(realm: string, decoded: DecodedEvent): RemoteEvent {
  return { realm, publication: decoded.publication, options: decoded.options };
}

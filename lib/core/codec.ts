// Encodes publications and payloads as opaque blobs for the Store, keeping every payload exactly:
// bytes stay bytes, args/kwargs stay args/kwargs (MessagePack keeps binary values intact, and
// integers beyond 2^53, BigInts, as 64-bit integers).
import { Packr } from 'msgpackr';
import { Payload } from './payload.ts';
import type { PublicationHeaders, Publisher, QoS } from './types.ts';

// 'auto' (in msgpackr's README and code, not its typings): 64-bit integers beyond ±2^53 come back as
// BigInt, smaller ones as Numbers (see exactInteger).
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as unknown as 'bigint', largeBigIntToFloat: true, moreTypes: false });

export interface StoredPayload {
  /** bytes-native payload */
  b?: Uint8Array;
  a?: unknown[];
  k?: Record<string, unknown>;
}

export interface StoredPublication extends StoredPayload {
  /** publisher, when disclosed */
  p?: Publisher;
  q?: QoS;
  h?: PublicationHeaders;
  /** levels of the topic (keys are opaque to the store) */
  t?: string[];
}

/** A payload as plain fields (b, or a and k), for a record another module packs. */
export function storedPayload(payload: Payload): StoredPayload {
  if (payload.isBytes) return { b: payload.bytes };
  const out: StoredPayload = {};
  if (payload.args) out.a = payload.args;
  if (payload.kwargs) out.k = payload.kwargs;
  return out;
}

export function payloadOf(s: StoredPayload): Payload {
  if (s.b !== undefined) return Payload.fromBytes(s.b);
  return Payload.fromArgs(s.a, s.k);
}

/** MessagePack with the settings above (binary kept, 64-bit integers exact). */
export function packRecord(record: object): Uint8Array {
  return packr.pack(record);
}

/** Throws on bytes that are not MessagePack. */
export function unpackRecord(blob: Uint8Array): unknown {
  return packr.unpack(blob);
}

export function encodePayload(payload: Payload): Uint8Array {
  return packr.pack(storedPayload(payload));
}

export function decodePayload(blob: Uint8Array): Payload {
  return payloadOf(packr.unpack(blob) as StoredPayload);
}

export interface DecodedPublication {
  topic: string[];
  payload: Payload;
  publisher?: Publisher;
  qos: QoS;
  headers?: PublicationHeaders;
}

export function encodePublication(topic: string[], payload: Payload, qos: QoS, publisher?: Publisher, headers?: PublicationHeaders): Uint8Array {
  const s: StoredPublication = storedPayload(payload);
  s.t = topic;
  if (qos) s.q = qos;
  if (publisher) s.p = publisher;
  if (headers) s.h = headers;
  return packr.pack(s);
}

export function decodePublication(blob: Uint8Array): DecodedPublication {
  const s = packr.unpack(blob) as StoredPublication;
  return { topic: s.t ?? [], payload: payloadOf(s), publisher: s.p, qos: s.q ?? 0, headers: s.h };
}

/** The store key of a topic: unambiguous for any level content (MQTT levels may hold '.' or '/'). */
export function topicKey(topic: readonly string[]): string {
  return JSON.stringify(topic);
}

/** What the topicKey() of every topic strictly below `topic` starts with (and no other key does). */
export function topicKeyPrefix(topic: readonly string[]): string {
  return topic.length === 0 ? '[' : `${topicKey(topic).slice(0, -1)},`;
}

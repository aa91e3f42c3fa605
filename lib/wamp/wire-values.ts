// Value-tree passes the WAMP codecs run around the underlying encoders.
//
// Decoders only ever hand the session layer JSON-like values plus binary (Uint8Array), Date and BigInt,
// nested at most maxDepth deep (Limits.maxNestingDepth). That way a message one client sent can always be re-encoded for any other
// client: no cycles (CBOR shared-reference tags), no exotic objects, no nesting so deep that a
// recursive encoder overflows the stack, and integers in one form whatever the serializer: a Number
// up to ±2^53, a BigInt beyond it within 64 bits (exactInteger in lib/core/json-exact.ts).
//
// Encoders copy on write: a message that needs no rewriting is passed to the encoder as is.

/** A message that cannot be decoded or encoded. The session layer answers it with a protocol violation. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

/** `err` as a WireError whose message starts with `what`. */
export function asWireError(err: unknown, what: string): WireError {
  if (err instanceof WireError) return err;
  return new WireError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
}

import { defaultLimits } from '../core/config.ts';
import { exactInteger } from '../core/json-exact.ts';

/**
 * Deepest nesting accepted in a WAMP message: containers sit at depth 0 (the message's own list) to
 * maxDepth - 1. One value per process (see setMaxNestingDepth); the walkers below recurse at most
 * this deep, and everything else (the scanners) checks it before going deeper.
 */
export let maxDepth = defaultLimits.maxNestingDepth;

/** Highest maxNestingDepth accepted: recursion that deep stays far from V8's stack limit. */
export const NESTING_DEPTH_CEILING = 1000;

/** Sets maxDepth (Limits.maxNestingDepth). Throws on a value outside [2, NESTING_DEPTH_CEILING]. */
export function setMaxNestingDepth(depth: number): void {
  if (!Number.isInteger(depth) || depth < 2 || depth > NESTING_DEPTH_CEILING) {
    throw new Error(`maxNestingDepth must be an integer in [2, ${NESTING_DEPTH_CEILING}], got ${depth}`);
  }
  maxDepth = depth;
}

// How refusals start their messages, so the session layer, which only gets the message (transports
// report undecodable frames as text), can count them.
const TOO_DEEP = 'message nested deeper than ';
const UNSUPPORTED = 'unsupported ';

export const isTooDeep = (message: string): boolean => message.startsWith(TOO_DEEP);
export const isUnsupportedType = (message: string): boolean => message.startsWith(UNSUPPORTED);

/** A WireError for a container past maxDepth. */
export const tooDeepError = (): WireError => new WireError(`${TOO_DEEP}${maxDepth} levels`);

/** A WireError for a value type the router does not accept, e.g. `unsupportedError('CBOR tag 28')`. */
export const unsupportedError = (what: string): WireError => new WireError(UNSUPPORTED + what);

const TWO_53 = 2 ** 53;

function tooDeep(): never {
  throw tooDeepError();
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Checks a tree decoded from msgpack or CBOR in place: a BigInt takes the form exactInteger gives (cbor-x
 * makes one of every 8-byte integer and bignum tag, whatever its size), anything but plain data is
 * rejected.
 */
export function sanitizeDecoded(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return v;
    case 'bigint':
      return exactInteger(v);
    case 'object': {
      if (v === null || v instanceof Uint8Array) return v;
      if (depth >= maxDepth) tooDeep();
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          if ((typeof x === 'object' && x !== null) || typeof x === 'bigint') v[i] = sanitizeDecoded(x, depth + 1);
        }
        return v;
      }
      if (v instanceof Date) return v;
      if (!isPlainObject(v)) throw unsupportedError(`value type ${v.constructor?.name ?? 'object'}`);
      const o = v as Record<string, unknown>;
      for (const k in o) {
        const x = o[k];
        if ((typeof x === 'object' && x !== null) || typeof x === 'bigint') o[k] = sanitizeDecoded(x, depth + 1);
      }
      return v;
    }
    default:
      throw unsupportedError(`value type ${typeof v}`);
  }
}

function fromBase64(s: string): Buffer {
  return Buffer.from(s.slice(1), 'base64');
}

/** Set by reviveJson when it met a number at or beyond ±2^53: JSON.parse may have rounded an integer. */
export const revived = { unsafeNumber: false };

/**
 * Walks a JSON.parse result in place: enforces maxDepth and, when `binary` is set, turns WAMP's
 * "\u0000" + base64 strings back into Buffers. Sets revived.unsafeNumber (the caller resets it).
 * The array and object loops repeat one body: a shared per-element helper cost 3-4% of a 30-key decode.
 */
export function reviveJson(v: object, depth: number, binary: boolean): void {
  if (depth >= maxDepth) tooDeep();
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object') {
        if (x !== null) reviveJson(x, depth + 1, binary);
      } else if (typeof x === 'number') {
        if (x >= TWO_53 || x <= -TWO_53) revived.unsafeNumber = true;
      } else if (binary && typeof x === 'string' && x.charCodeAt(0) === 0) v[i] = fromBase64(x);
    }
    return;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    if (typeof x === 'object') {
      if (x !== null) reviveJson(x, depth + 1, binary);
    } else if (typeof x === 'number') {
      if (x >= TWO_53 || x <= -TWO_53) revived.unsafeNumber = true;
    } else if (binary && typeof x === 'string' && x.charCodeAt(0) === 0) o[k] = fromBase64(x);
  }
}

// The two encode-side rewrites below are written out separately rather than as one walker taking a
// leaf callback: on the hot path that callback per value cost about half the walk.

function toBase64String(v: Uint8Array): string {
  return '\u0000' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

/**
 * For JSON: binary → "\u0000" + base64 (WAMP's convention); BigInts stay for stringifyJson
 * (lib/core/json-exact.ts) to write as literals. Copy on write.
 * (lib/core/payload.ts has jsonWithBinary, but its replacer runs for every value and sees a Buffer
 * only after Buffer#toJSON turned it into an array of numbers: measured 1.8x slower on a small EVENT
 * and 7x on one with a 64 KiB binary.)
 */
export function prepareJson(v: unknown, depth = 0): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Uint8Array) return toBase64String(v);
  if (depth >= maxDepth) tooDeep();
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x !== 'object' || x === null) continue;
      const y = prepareJson(x, depth + 1);
      if (y !== x) (out ??= v.slice())[i] = y;
    }
    return out ?? v;
  }
  if (!isPlainObject(v)) return v; // Date and friends: JSON.stringify knows them
  const o = v as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const k in o) {
    const x = o[k];
    if (typeof x !== 'object' || x === null) continue;
    const y = prepareJson(x, depth + 1);
    if (y !== x) (out ??= { ...o })[k] = y;
  }
  return out ?? v;
}

/** An integer that msgpackr/cbor-x would write as float64 but WAMP wants as a 64-bit integer. */
function isWideInt(v: number): boolean {
  return (v > 0xffffffff || v < -0x80000000) && Number.isInteger(v) && v <= TWO_53 && v >= -TWO_53;
}

/** Values msgpackr/cbor-x would write in a way other WAMP peers do not expect, or containers. */
function needsRewrite(x: unknown): boolean {
  return typeof x === 'number' ? isWideInt(x) : x === undefined || (typeof x === 'object' && x !== null);
}

/**
 * For msgpack and CBOR: integers beyond 32 bits become BigInt, because msgpackr and cbor-x write any
 * Number outside the 32-bit range as float64, and WAMP ids (up to 2^53) must be integers on the wire
 * (autobahn-python, for one, rejects a float id). undefined becomes null (cbor-x would write CBOR
 * `undefined`, which e.g. Python's cbor2 does not turn into None). Copy on write.
 */
export function prepareBinaryFormat(v: unknown, depth = 0): unknown {
  if (typeof v === 'number') return isWideInt(v) ? BigInt(v) : v;
  if (v === undefined) return null;
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return v;
  if (depth >= maxDepth) tooDeep();
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (!needsRewrite(x)) continue;
      const y = prepareBinaryFormat(x, depth + 1);
      if (y !== x) (out ??= v.slice())[i] = y;
    }
    return out ?? v;
  }
  if (!isPlainObject(v)) return v;
  const o = v as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const k in o) {
    const x = o[k];
    if (!needsRewrite(x)) continue;
    const y = prepareBinaryFormat(x, depth + 1);
    if (y !== x) (out ??= { ...o })[k] = y;
  }
  return out ?? v;
}

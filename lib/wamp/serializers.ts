// The three WAMP serializers. Each turns a WAMP message (an array whose first element is the integer
// message type) into bytes and back; transports pick one by WebSocket subprotocol or RawSocket id.
import { cborx, packr } from './binary-encoders.ts';
import { checkCbor } from './cbor-scan.ts';
import { checkMsgpack } from './msgpack-check.ts';
import { decodeDeferringArgs } from './json-frame.ts';
import { decodeDeferringArgs as decodeMsgpackDeferringArgs } from './msgpack-frame.ts';
import { nestsTooDeep } from './json-scan.ts';
import { parseJsonExact, stringifyJson } from '../core/json-exact.ts';
import { WireError, asWireError, prepareBinaryFormat, prepareJson, reviveJson, revived, sanitizeDecoded, tooDeepError } from './wire-values.ts';

export { WireError } from './wire-values.ts';

export type SerializerName = 'json' | 'msgpack' | 'cbor';

export interface Serializer {
  readonly name: SerializerName;
  /** WebSocket subprotocol: 'wamp.2.json' | 'wamp.2.msgpack' | 'wamp.2.cbor'. */
  readonly subprotocol: string;
  /** RawSocket serializer id: 1 json, 2 msgpack, 3 cbor. */
  readonly rawSocketId: number;
  /** False for json, whose WebSocket frames are text. */
  readonly binary: boolean;
  /** Throws WireError when the message holds something the format cannot carry (e.g. a cycle). */
  encode(msg: unknown[]): Buffer;
  /** Throws WireError unless `data` holds exactly one non-empty array whose first element is an integer. */
  decode(data: Buffer): unknown[];
  /**
   * decode() for the router's handlers: a PUBLISH's, CALL's, YIELD's or ERROR's Arguments and
   * ArgumentsKw may come back still encoded, as one DeferredArgs (deferred-args.ts) in their place.
   */
  decodeDeferringArgs(data: Buffer): unknown[];
}

function checkEnvelope(v: unknown): unknown[] {
  if (!Array.isArray(v) || v.length === 0 || !Number.isInteger(v[0])) {
    throw new WireError('a WAMP message must be a non-empty array starting with an integer message type');
  }
  return v;
}

// A literal NUL can only appear in JSON text as the escape \u0000, so without it there is no binary
// string to revive and the walk only has to check depth. Searched in the decoded string: a
// Buffer#indexOf for it cost more than the utf8 decode itself on small messages.
const NUL_ESCAPE = '\\u0000';

const json: Serializer = {
  name: 'json',
  subprotocol: 'wamp.2.json',
  rawSocketId: 1,
  binary: false,
  encode(msg) {
    try {
      return Buffer.from(stringifyJson(prepareJson(msg)) as string);
    } catch (err) {
      throw asWireError(err, 'cannot encode JSON');
    }
  },
  decode(data) {
    const text = data.toString('utf8');
    if (nestsTooDeep(text)) throw tooDeepError();
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      throw asWireError(err, 'invalid JSON');
    }
    const binary = text.includes(NUL_ESCAPE);
    revived.unsafeNumber = false;
    reviveJson(checkEnvelope(v), 0, binary);
    if (!revived.unsafeNumber) return v as unknown[];
    // A number at or beyond ±2^53 may be an integer JSON.parse rounded: parse again, exactly.
    const exact = parseJsonExact(text) as unknown[];
    reviveJson(exact, 0, binary);
    return exact;
  },
  decodeDeferringArgs(data) {
    return decodeDeferringArgs(data, this.subprotocol) ?? this.decode(data);
  },
};

function binaryCodec(
  name: 'msgpack' | 'cbor',
  rawSocketId: number,
  enc: (v: unknown) => Buffer,
  dec: (b: Buffer) => unknown,
  deferArgs?: (data: Buffer, format: string) => unknown[] | undefined,
): Serializer {
  return {
    name,
    subprotocol: `wamp.2.${name}`,
    rawSocketId,
    binary: true,
    encode(msg) {
      try {
        return enc(prepareBinaryFormat(msg));
      } catch (err) {
        throw asWireError(err, `cannot encode ${name}`);
      }
    },
    decode(data) {
      let v: unknown;
      try {
        // Binary values come back as views into `data` (no copy).
        v = dec(data);
      } catch (err) {
        throw asWireError(err, `invalid ${name}`);
      }
      return sanitizeDecoded(checkEnvelope(v), 0) as unknown[];
    },
    decodeDeferringArgs(data) {
      return deferArgs?.(data, this.subprotocol) ?? this.decode(data);
    },
  };
}

// Both decoders see a frame only after a linear check of it (cbor-scan.ts, msgpack-check.ts): they
// accept extensions that build shared, huge or exotic structures.
const msgpack = binaryCodec(
  'msgpack',
  2,
  (v) => packr.pack(v),
  (b) => {
    checkMsgpack(b);
    return packr.unpack(b);
  },
  decodeMsgpackDeferringArgs,
);
const cbor = binaryCodec('cbor', 3, (v) => cborx.encode(v), (b) => {
  checkCbor(b);
  return cborx.decode(b);
});

/** All serializers, in the router's order of preference. */
export const serializers: readonly Serializer[] = [json, msgpack, cbor];

export function serializerByName(name: SerializerName): Serializer {
  return name === 'json' ? json : name === 'msgpack' ? msgpack : cbor;
}

export function serializerBySubprotocol(p: string): Serializer | undefined {
  return serializers.find((s) => s.subprotocol === p);
}

export function serializerByRawSocketId(id: number): Serializer | undefined {
  return serializers.find((s) => s.rawSocketId === id);
}

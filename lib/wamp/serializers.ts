// The three WAMP serializers. Each turns a WAMP message (an array whose first element is the integer
// message type) into bytes and back; transports pick one by WebSocket subprotocol or RawSocket id.
import { Packr } from 'msgpackr';
import { Encoder as CborEncoder } from 'cbor-x';
import type { EncodedArgs } from '../core/payload.ts';
import { decodeDeferringArgs, encodeWithArgs } from './json-frame.ts';
import { WireError, prepareBinaryFormat, prepareJson, reviveJson, sanitizeDecoded } from './wire-values.ts';

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
   * ArgumentsKw may come back still encoded, as one DeferredArgs (json-frame.ts) in their place.
   */
  decodeDeferringArgs(data: Buffer): unknown[];
  /** Present when arguments can be passed through in this format without re-encoding. */
  readonly passthrough?: ArgsPassthrough;
}

export interface ArgsPassthrough {
  /** Encodes `head` followed by arguments already encoded in this format (a DeferredArgs). */
  encodeWithArgs(head: unknown[], args: EncodedArgs): Buffer;
}

function checkEnvelope(v: unknown): unknown[] {
  if (!Array.isArray(v) || v.length === 0 || !Number.isInteger(v[0])) {
    throw new WireError('a WAMP message must be a non-empty array starting with an integer message type');
  }
  return v;
}

function asWireError(err: unknown, what: string): WireError {
  if (err instanceof WireError) return err;
  return new WireError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
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
      return Buffer.from(JSON.stringify(prepareJson(msg)));
    } catch (err) {
      throw asWireError(err, 'cannot encode JSON');
    }
  },
  decode(data) {
    const text = data.toString('utf8');
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      throw asWireError(err, 'invalid JSON');
    }
    const msg = checkEnvelope(v);
    reviveJson(msg, 0, text.includes(NUL_ESCAPE));
    return msg;
  },
  decodeDeferringArgs(data) {
    return decodeDeferringArgs(data, this.subprotocol) ?? this.decode(data);
  },
  passthrough: {
    encodeWithArgs(head, args) {
      try {
        return encodeWithArgs(head, args);
      } catch (err) {
        throw asWireError(err, 'cannot encode JSON');
      }
    },
  },
};

// Shared options of msgpackr and cbor-x: plain objects for maps, no record/structure extensions (other
// WAMP peers do not speak them), compact map headers (and no 65535-key limit), 64-bit integers decoded
// as Numbers (WAMP ids are at most 2^53), undefined written as nil/null for interop.
const common = {
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  bundleStrings: false,
  structuredClone: false,
  largeBigIntToFloat: true,
  encodeUndefinedAsNil: true,
} as const;

const packr = new Packr({ ...common, int64AsType: 'number', moreTypes: false });

// cbor-x: no `pack` (shared-string packing), no tag on Uint8Array; int64AsNumber is honoured by the decoder
// although its typings omit it.
const cborx = new CborEncoder({ ...common, pack: false, tagUint8Array: false, int64AsNumber: true } as ConstructorParameters<
  typeof CborEncoder
>[0]);

function binaryCodec(
  name: 'msgpack' | 'cbor',
  rawSocketId: number,
  enc: (v: unknown) => Buffer,
  dec: (b: Buffer) => unknown,
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
      return this.decode(data);
    },
  };
}

const msgpack = binaryCodec('msgpack', 2, (v) => packr.pack(v), (b) => packr.unpack(b));
const cbor = binaryCodec('cbor', 3, (v) => cborx.encode(v), (b) => cborx.decode(b));

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

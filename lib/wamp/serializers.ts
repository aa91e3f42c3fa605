// The three WAMP serializers. Each turns a WAMP message (an array whose first element is the integer
// message type) into bytes and back; transports pick one by WebSocket subprotocol or RawSocket id.
import { Packr } from 'msgpackr';
import { Encoder as CborEncoder } from 'cbor-x';
import { jsonTail } from './json-tail.ts';
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
  /** Present when arguments can be passed through in this format without re-encoding. */
  readonly passthrough?: ArgsPassthrough;
}

export interface ArgsPassthrough {
  /**
   * `count` elements from `index` of the message in `frame` (a frame decode() accepted), still
   * encoded: the arguments as the sender wrote them. `count` is 1 (Arguments only) or the number of
   * elements left. Undefined when they cannot be cut out.
   */
  tail(frame: Buffer, index: number, count: number): Buffer | undefined;
  /** Encodes `head` followed by the elements of a (non-empty) tail() already encoded in this format. */
  encodeWithTail(head: unknown[], tail: Uint8Array): Buffer;
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

/**
 * The last frame decode() accepted whose arguments may go to other JSON peers as written. Not a
 * frame holding binary values (a sender's sloppy base64 would reach strict receivers, which reject
 * it; decoding and encoding again makes it canonical) or numbers beyond the float64 range (strict
 * parsers reject those; encoding again writes null). A handler asks for the tail of the frame it
 * is handling, right after it was decoded.
 */
let verbatimFrame: Buffer | undefined;

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
    const binary = text.includes(NUL_ESCAPE);
    const infinite = reviveJson(msg, 0, binary);
    verbatimFrame = binary || infinite ? undefined : data;
    return msg;
  },
  passthrough: {
    tail: (frame, index, count) => (frame === verbatimFrame ? jsonTail(frame, index, count) : undefined),
    encodeWithTail(head, tail) {
      let text: string;
      try {
        text = JSON.stringify(prepareJson(head));
      } catch (err) {
        throw asWireError(err, 'cannot encode JSON');
      }
      // "[head" + "," + tail + "]", written straight into one buffer
      const n = Buffer.byteLength(text);
      const out = Buffer.allocUnsafe(n + tail.length + 1);
      out.write(text, 0);
      out[n - 1] = 0x2c;
      out.set(tail, n);
      out[n + tail.length] = 0x5d;
      return out;
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

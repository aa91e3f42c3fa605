// RawSocket door: handshakes with mutated magic, length exponent, serializer and reserved bytes,
// then frames of every type with lying lengths, PINGs and PONGs, around valid and broken HELLOs.
import fc from 'fast-check';
import type { Door } from '../harness/door.ts';
import { rawFrame } from './framing.ts';
import { encodeWamp, type SerializerName } from './wamp-values.ts';

interface RawFrameInput {
  type: number;
  /** Announce this many bytes more (or fewer) than sent; null: the truth. */
  lengthDelta: number | null;
  payload: 'hello' | 'publish' | 'empty' | Uint8Array;
  repeat: number;
}

interface RawCase {
  handshake: { magic: number; lengthExponent: number; serializer: number; reserved: [number, number] };
  frames: RawFrameInput[];
}

const SERIALIZER_BY_ID: Record<number, SerializerName> = { 1: 'json', 2: 'msgpack', 3: 'cbor' };
const HELLO = [1, 'realm1', { roles: { publisher: {}, subscriber: {} } }];
const PUBLISH = [16, 1, { acknowledge: true }, 'fuzz.raw', ['x']];

const arb: fc.Arbitrary<RawCase> = fc.record({
  handshake: fc.record({
    magic: fc.oneof({ weight: 9, arbitrary: fc.constant(0x7f) }, { weight: 1, arbitrary: fc.nat(255) }),
    lengthExponent: fc.nat(15),
    serializer: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(1, 2, 3) }, { weight: 1, arbitrary: fc.nat(15) }),
    reserved: fc.oneof({ weight: 6, arbitrary: fc.constant<[number, number]>([0, 0]) }, { weight: 1, arbitrary: fc.tuple(fc.nat(255), fc.nat(255)) }),
  }),
  frames: fc.array(
    fc.record({
      type: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.constantFrom(1, 2) }, { weight: 1, arbitrary: fc.nat(255) }),
      lengthDelta: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: -4, max: 4 }) }, { weight: 1, arbitrary: fc.constantFrom(2 ** 24 - 1, 2 ** 16, 2 ** 20) }),
      payload: fc.oneof(fc.constantFrom('hello' as const, 'publish' as const, 'empty' as const), fc.uint8Array({ maxLength: 48 })),
      repeat: fc.oneof({ weight: 30, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 2000 }) }),
    }),
    { maxLength: 5 },
  ),
});

export const rawsocketDoor: Door<RawCase> = {
  name: 'rawsocket',
  arb,
  listener: 'rawsocket',
  encode(c) {
    const h = c.handshake;
    const handshake = Buffer.from([h.magic, ((h.lengthExponent & 15) << 4) | (h.serializer & 15), h.reserved[0], h.reserved[1]]);
    const serializer = SERIALIZER_BY_ID[h.serializer & 15] ?? 'json';
    const frames = c.frames.map((f) => {
      const payload =
        f.payload === 'hello' ? encodeWamp(serializer, { kind: 'message', value: HELLO })
        : f.payload === 'publish' ? encodeWamp(serializer, { kind: 'message', value: PUBLISH })
        : f.payload === 'empty' ? Buffer.alloc(0)
        : Buffer.from(f.payload);
      const one = rawFrame(payload, f.type, f.lengthDelta === null ? payload.length : f.lengthDelta > 4 ? f.lengthDelta : payload.length + f.lengthDelta);
      return f.repeat === 1 ? one : Buffer.concat(Array.from({ length: f.repeat }, () => one));
    });
    return [handshake, ...frames];
  },
};

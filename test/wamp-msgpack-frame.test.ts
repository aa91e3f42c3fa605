// The MessagePack fast path: a PUBLISH/CALL/YIELD/ERROR decoded with its arguments left encoded means
// what the full decode means (or is left to it), in every encoding width of every type, and a head
// written by hand is what msgpackr would write.
import test from 'ava';
import { packr } from '../lib/wamp/binary-encoders.ts';
import { decodeDeferringArgs, encodeWithArgs, MsgpackArgs } from '../lib/wamp/msgpack-frame.ts';
import { serializerByName } from '../lib/wamp/serializers.ts';
import { maxDepth, prepareBinaryFormat } from '../lib/wamp/wire-values.ts';
import { bytes } from './helpers/bytes.ts';
import { checkFastPath } from './helpers/fast-path.ts';
import { mutate, prng } from './helpers/random.ts';

const msgpack = serializerByName('msgpack');
const FORMAT = 'wamp.2.msgpack';
type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

function be(bytes: number, n: number | bigint): number[] {
  let v = BigInt.asUintN(bytes * 8, BigInt(n));
  const out: number[] = [];
  for (let k = 0; k < bytes; k++) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** A header of one of the widths that can hold `length`: [fix, 8-bit, 16-bit, 32-bit] type bytes. */
function header(r: Rand, length: number, fix: number | undefined, fixMax: number, types: [number | undefined, number, number]): number[] {
  const choices: number[][] = [];
  if (fix !== undefined && length <= fixMax) choices.push([fix | length]);
  if (types[0] !== undefined && length < 0x100) choices.push([types[0], length]);
  if (length < 0x10000) choices.push([types[1], ...be(2, length)]);
  choices.push([types[2], ...be(4, length)]);
  return pick(r, choices);
}

/** MessagePack for `v` in a random one of its encodings (non-canonical widths, float32 included). */
function rawPack(r: Rand, v: unknown): number[] {
  if (v === null) return [0xc0];
  if (typeof v === 'boolean') return [v ? 0xc3 : 0xc2];
  if (typeof v === 'bigint') return r() < 0.5 ? [0xcf, ...be(8, v)] : [0xd3, ...be(8, v)];
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) {
      const f = Buffer.alloc(9);
      if (r() < 0.5) return [0xca, ...(f.writeFloatBE(v, 1), f.subarray(1, 5))];
      f.writeDoubleBE(v, 1);
      return [0xcb, ...f.subarray(1)];
    }
    const choices: number[][] = [];
    if (v >= 0 && v < 0x80) choices.push([v]);
    if (v < 0 && v >= -32) choices.push([v & 0xff]);
    if (v >= 0 && v < 0x100) choices.push([0xcc, v]);
    if (v >= 0 && v < 0x10000) choices.push([0xcd, ...be(2, v)]);
    if (v >= 0 && v <= 0xffffffff) choices.push([0xce, ...be(4, v)]);
    if (v >= 0) choices.push([0xcf, ...be(8, v)]);
    if (v >= -0x80 && v < 0x80) choices.push([0xd0, v & 0xff]);
    if (v >= -0x8000 && v < 0x8000) choices.push([0xd1, ...be(2, v)]);
    if (v >= -0x80000000 && v < 0x80000000) choices.push([0xd2, ...be(4, v)]);
    choices.push([0xd3, ...be(8, v)]);
    return pick(r, choices);
  }
  if (typeof v === 'string') {
    const b = Buffer.from(v);
    return [...header(r, b.length, 0xa0, 31, [0xd9, 0xda, 0xdb]), ...b];
  }
  if (v instanceof Uint8Array) return [...header(r, v.length, undefined, 0, [0xc4, 0xc5, 0xc6]), ...v];
  if (Array.isArray(v)) return [...header(r, v.length, 0x90, 15, [undefined, 0xdc, 0xdd]), ...v.flatMap((x) => rawPack(r, x))];
  const entries = Object.entries(v as Record<string, unknown>);
  return [...header(r, entries.length, 0x80, 15, [undefined, 0xde, 0xdf]), ...entries.flatMap(([k, x]) => [...rawPack(r, k), ...rawPack(r, x)])];
}

function randomValue(r: Rand, depth: number): unknown {
  switch (Math.floor(r() * (depth > 3 ? 7 : 9))) {
    case 0:
      return pick(r, [null, true, false]);
    case 1:
      return Math.floor(r() * 2 ** (1 + Math.floor(r() * 53))) * (r() < 0.3 ? -1 : 1);
    case 2:
      return r() < 0.2 ? BigInt.asUintN(64, BigInt(Math.floor(r() * 2 ** 53)) * 4099n) : (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
    case 3:
    case 4:
      return Array.from({ length: Math.floor(r() * 6) }, () => pick(r, ['a', 'é', '\u2028', '😀', '"', 'x'.repeat(40), '\u0000'])).join('');
    case 5:
      return r() < 0.5 ? 'y'.repeat(Math.floor(r() * 300)) : 'k';
    case 6:
      return Buffer.from(Array.from({ length: Math.floor(r() * 6) }, () => Math.floor(r() * 256)));
    case 7:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let n = Math.floor(r() * 4); n > 0; n--) o[pick(r, ['a', 'b', 'c', 'caf\u00e9', ''])] = randomValue(r, depth + 1);
      return o;
    }
  }
}

function randomFrame(r: Rand): Buffer {
  const type = pick(r, [16, 48, 70, 8, 32, 64]);
  const head: unknown[] = [type];
  const id = (): number => Math.floor(r() * 2 ** (1 + Math.floor(r() * 53))) + 1;
  if (type === 8) head.push(68, id(), r() < 0.5 ? {} : { x: randomValue(r, 3) }, 'com.err');
  else if (type === 70) head.push(id(), r() < 0.7 ? {} : { progress: true });
  else head.push(id(), r() < 0.7 ? {} : { acknowledge: true, exclude: [id()] }, r() < 0.8 ? 'com.example.topic' : 'caf\u00e9.q'.repeat(Math.floor(r() * 12)));
  const tail: unknown[] = [];
  const shape = r();
  if (shape > 0.15) tail.push(r() < 0.1 ? [] : Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomValue(r, 2)));
  if (shape > 0.55) tail.push(r() < 0.2 ? {} : { k: randomValue(r, 2), 'a b': 1 });
  // the message type as a fixint, as every encoder writes it (other widths are left to the full decode)
  const elements = [...head, ...tail];
  return Buffer.from([...header(r, elements.length, 0x90, 15, [undefined, 0xdc, 0xdd]), type, ...elements.slice(1).flatMap((x) => rawPack(r, x))]);
}

const MUTATION_BYTES = [0xc0, 0xc1, 0xc7, 0xd4, 0xd6, 0xff, 0x90, 0x91, 0x80, 0x81, 0xa1, 0xa9, 0xdc, 0xde, 0xcf, 0xd3, 0xca, 0x00, 0x01, 0x7f, 0xc3, 0x28, 0xed];

test('decoding with the arguments left encoded gives what the full decode gives, or leaves the frame to it: 20,000 random frames', (t) => {
  const r = prng(23);
  const frames = Array.from({ length: 20_000 }, () => {
    const b = randomFrame(r);
    return r() < 0.3 ? mutate(r, b, MUTATION_BYTES) : b;
  });
  const { fast, deferred } = checkFastPath(
    t,
    {
      serializer: msgpack,
      decode: (b) => decodeDeferringArgs(b, FORMAT),
      cutFrom: (b, a) => a instanceof MsgpackArgs && b.includes(a.bytes),
      show: (b) => b.toString('hex'),
    },
    frames,
  );
  t.true(fast > 8000 && deferred > 5000, `most frames take the fast path (${fast}, ${deferred} with arguments)`);
});

const frame = bytes;
/** [16, 1, {}, "t", <args>] with `args` as raw bytes. */
const publish = (...args: (number | number[] | string)[]): Buffer => frame(0x95, 16, 1, 0x80, 0xa1, 't', ...args);

test('frames left to the full decode: extension types, non-string keys, "__proto__", invalid UTF-8, wrong argument types, other messages', (t) => {
  const refused: [string, Buffer][] = [
    ['a timestamp', publish(0x91, 0xd6, 0xff, 0, 0, 0, 1)],
    ['an unknown extension', publish(0x91, 0xd4, 5, 1)],
    ['an ext 8', publish(0x91, 0xc7, 1, 5, 1)],
    ['0xc1', publish(0x91, 0xc1)],
    ['an integer key', publish(0x91, 0x81, 0x01, 0x02)],
    ['a binary key', publish(0x91, 0x81, 0xc4, 1, 0x61, 0x02)],
    ['a "__proto__" key', publish(0x91, 0x81, 0xa9, '__proto__', 0x01)],
    ['a "__proto__" key as str 8', frame(0x96, 16, 1, 0x80, 0xa1, 't', 0x90, 0x81, 0xd9, 9, '__proto__', 0x01)],
    ['invalid UTF-8', publish(0x91, 0xa2, 0xc3, 0x28)],
    ['an encoded surrogate', publish(0x91, 0xa3, 0xed, 0xa0, 0x80)],
    ['Arguments that are a map', publish(0x81, 0xa1, 'a', 1)],
    ['ArgumentsKw that are a list', frame(0x96, 16, 1, 0x80, 0xa1, 't', 0x91, 1, 0x91, 2)],
    ['one element too many', frame(0x97, 16, 1, 0x80, 0xa1, 't', 0x91, 1, 0x80, 3)],
    ['trailing bytes', publish(0x91, 1, 0xc0)],
    ['a truncated frame', publish(0x92, 1)],
    ['a string cut short', publish(0x91, 0xa5, 'ab')],
    ['a message type as uint 8', frame(0x95, 0xcc, 16, 1, 0x80, 0xa1, 't', 0x91, 1)],
    ['SUBSCRIBE', frame(0x94, 32, 1, 0x80, 0xa1, 't')],
    ['a map', frame(0x81, 0xa1, 'a', 1)],
    ['a head cut short', frame(0x95, 16, 1, 0x80)],
  ];
  for (const [what, b] of refused) t.is(decodeDeferringArgs(b, FORMAT), undefined, what);
  // nesting: the deepest the full decode allows is left encoded, one deeper is left to it (and refused)
  const nested = (d: number): Buffer => frame(0x95, 16, 1, 0x80, 0xa1, 't', Array(d - 1).fill(0x91), 0x90);
  t.true(decodeDeferringArgs(nested(maxDepth - 1), FORMAT)?.[4] instanceof MsgpackArgs);
  t.notThrows(() => msgpack.decode(nested(maxDepth - 1)));
  t.is(decodeDeferringArgs(nested(maxDepth), FORMAT), undefined);
  t.throws(() => msgpack.decode(nested(maxDepth)));
});

test('the arguments are cut exactly, empty ones are dropped, and the head is read in every width', (t) => {
  const passed = (b: Buffer): string | undefined => {
    const d = decodeDeferringArgs(b, FORMAT)?.find((x) => x instanceof MsgpackArgs) as MsgpackArgs | undefined;
    return d && `${d.count}:${d.bytes.toString('hex')}`;
  };
  t.is(passed(publish(0x92, 1, 0xa1, 'x')), '1:9201a178');
  t.is(passed(frame(0x96, 16, 1, 0x80, 0xa1, 't', 0x91, 1, 0x81, 0xa1, 'k', 0xc0)), '2:910181a16bc0');
  // an empty ArgumentsKw is dropped, in any width
  t.is(passed(frame(0x96, 16, 1, 0x80, 0xa1, 't', 0x91, 1, 0xde, 0, 0)), '1:9101');
  t.is(passed(frame(0x96, 16, 1, 0x80, 0xa1, 't', 0xdc, 0, 0, 0x81, 0xa1, 'k', 1)), '2:dc000081a16b01');
  t.deepEqual(decodeDeferringArgs(frame(0x96, 16, 1, 0x80, 0xa1, 't', 0xdd, 0, 0, 0, 0, 0x80), FORMAT), [16, 1, {}, 't', [], {}]);
  t.deepEqual(decodeDeferringArgs(frame(0x94, 48, 7, 0x80, 0xa1, 't'), FORMAT), [48, 7, {}, 't']);
  // ids in every width, a str 8 and a str 16 URI, options through msgpackr
  t.deepEqual(decodeDeferringArgs(frame(0x93, 70, 0xcd, 0x12, 0x34, 0x81, 0xa1, 'p', 0xc3), FORMAT), [70, 0x1234, { p: true }]);
  t.deepEqual(decodeDeferringArgs(frame(0x95, 8, 0xcc, 68, [0xce, 1, 2, 3, 4], 0x80, [0xd9, 3], 'a.b'), FORMAT), [8, 68, 0x01020304, {}, 'a.b']);
  t.deepEqual(decodeDeferringArgs(frame(0x95, 8, 68, [0xcf, 0, 0x20, 0, 0, 0, 0, 0, 3], 0x80, [0xda, 0, 3], 'a.b'), FORMAT), [8, 68, 2n ** 53n + 3n, {}, 'a.b']);
  t.deepEqual(decodeDeferringArgs(frame(0x95, 8, 68, [0xd3, 0, 0, 1, 0, 0, 0, 0, 0], 0x80, 0xa1, 'e'), FORMAT), [8, 68, 2 ** 40, {}, 'e']);
  t.deepEqual(decodeDeferringArgs(frame(0x95, 8, 68, [0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe], 0x80, 0xa1, 'e'), FORMAT), [8, 68, -2, {}, 'e']);
  // a message in an array 16 header
  t.is(passed(frame(0xdc, 0, 5, 16, 1, 0x80, 0xa1, 't', 0x91, 0xca, 0x3f, 0x8c, 0xcc, 0xcd)), '1:91ca3f8ccccd');
});

test('a head written by hand is what msgpackr writes, and the arguments follow it unchanged', (t) => {
  const argsValues: unknown[][] = [[['café', 1]], [[], { k: [1, { z: null }] }], [[Buffer.from([1, 2]), 2 ** 40]]];
  const heads: unknown[][] = [
    [36, 0, 9, {}],
    [36, 127, 128, {}],
    [36, 255, 256, {}],
    [36, 65_535, 65_536, {}],
    [36, 2 ** 32 - 1, 2 ** 32, {}],
    [50, 2 ** 53, { progress: true }],
    [8, 48, 4_503_599_627_370_496, {}, 'com.error.caf\u00e9'],
    [36, -1, 1.5, null, undefined, 'x', [1, {}], Buffer.from([1, 2])],
    Array.from({ length: 16 }, (_, k) => k),
  ];
  for (const values of argsValues) {
    const args = new MsgpackArgs(FORMAT, Buffer.concat(values.map((v) => Buffer.from(packr.pack(prepareBinaryFormat(v))))), values.length);
    for (const head of heads) {
      const expected = Buffer.from(packr.pack(prepareBinaryFormat([...head, ...values])));
      t.is(encodeWithArgs(head, args).toString('hex'), expected.toString('hex'), JSON.stringify(head));
    }
  }
});

// WAMP messages that are structured but wrong: valid type codes with arguments of the wrong type or
// arity, option dictionaries with odd values, odd URIs and ids, deep nesting, lying length headers,
// CBOR tags (28/29 are shared references, which can build cycles), then a few mutated bytes on top.
import { Encoder as CborEncoder, Tag } from 'cbor-x';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { stringifyJson } from '../../../lib/core/json-exact.ts';

export type SerializerName = 'json' | 'msgpack' | 'cbor';

/** One WAMP message as the fuzzer sends it, before serialization. */
export type WampInput =
  | { kind: 'message'; value: unknown[] }
  /** A CALL whose args nest `depth` arrays or maps (built as bytes: no recursion on our side either). */
  | { kind: 'deep'; depth: number; map: boolean }
  /** A container header announcing `count` items that are not there (msgpack/cbor; JSON: truncated). */
  | { kind: 'lyingCount'; count: number }
  /** CBOR only: a value wrapped in tags (shared values 28, references 29, and others). */
  | { kind: 'tagged'; tags: number[]; value: unknown; selfRef: boolean }
  | { kind: 'bytes'; bytes: Uint8Array };

export interface Mutation {
  at: number;
  op: 'flip' | 'insert' | 'delete';
  byte: number;
}

const CODES = [1, 2, 3, 4, 5, 6, 8, 16, 17, 32, 33, 34, 35, 36, 48, 49, 50, 64, 65, 66, 67, 68, 69, 70];
/** Slot kinds per client-sent message type (the shape a valid message has). */
const SHAPES: Record<number, string[]> = {
  1: ['uri', 'dict'],
  5: ['str', 'dict'],
  6: ['dict', 'uri'],
  3: ['dict', 'uri'],
  8: ['code', 'id', 'dict', 'uri', 'list', 'dict'],
  16: ['id', 'dict', 'uri', 'list', 'dict'],
  32: ['id', 'dict', 'uri'],
  34: ['id', 'id'],
  48: ['id', 'dict', 'uri', 'list', 'dict'],
  49: ['id', 'dict'],
  64: ['id', 'dict', 'uri'],
  66: ['id', 'id'],
  70: ['id', 'dict', 'list', 'dict'],
};
const OPTION_KEYS = [
  'acknowledge', 'exclude_me', 'exclude', 'exclude_authid', 'eligible', 'eligible_authrole', 'match', 'retain', 'when', 'watch', 'will',
  'receive_progress', 'progress', 'timeout', 'disclose_me', 'invoke', 'concurrency', 'mode', 'get_retained', 'after', 'roles',
  'authmethods', 'authid', 'authextra', 'force', 'ppt_scheme', 'trustlevel', '__proto__', 'constructor', 'toString', '',
];
const URIS = [
  'com.example.topic', 'a', '', '.', 'a..b', 'a.', '.a', 'realm1', 'wamp.session.count', 'wamp.session.list', 'wamp.session.get',
  'wamp.session.kill', 'wamp.subscription.list', 'wamp.subscription.lookup', 'wamp.subscription.match', 'wamp.subscription.get',
  'wamp.registration.list', 'wamp.registration.lookup', 'wamp.registration.match', 'wamp.registration.list_callees',
  'wamp.session.add_testament', 'wamp.session.flush_testaments', 'wamp.error.canceled', 'hustmq.q', 'hustmq.do.q', 'esub.k',
  'a.b#c', 'a/b/c', '+', '#', '$SYS.x', 'a b', 'é.ü', '\u0000', 'x'.repeat(300),
];
const MATCH = ['exact', 'prefix', 'wildcard', 'regex', '', 'EXACT'];

const ints = fc.oneof(
  fc.integer({ min: -3, max: 10 }),
  fc.constantFrom(0, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_SAFE_INTEGER),
  fc.maxSafeInteger(),
  // 64-bit integers beyond 2^53 decode as BigInt: as ids (refused), options and arguments
  fc.constantFrom(2n ** 53n + 1n, -(2n ** 63n), 2n ** 64n - 1n, 1558266424841951553n),
);
const STRINGS = ['', 'a', 'realm1', '\u0000', '\ud800', '\udc00x', 'é', '\u0000AAEC', '\u0000!!', 'ticket', 'wampcra', 'anonymous', '0', '-1', 'null', '\n', ' '];
// Mostly picked from a pool: fast-check's free strings cost ~20 µs each, and 10^4 cases need speed.
const strings = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...STRINGS) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) });
/** An object from key/value pairs (cheaper than fc.dictionary, whose keys are kept unique). */
const dict = (key: fc.Arbitrary<string>, value: fc.Arbitrary<unknown>, max: number): fc.Arbitrary<Record<string, unknown>> =>
  fc.array(fc.tuple(key, value), { maxLength: max }).map((pairs) => Object.fromEntries(pairs) as Record<string, unknown>);
const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  ints,
  fc.double(),
  strings,
  fc.constantFrom(...URIS),
  fc.constantFrom(...MATCH),
  fc.uint8Array({ maxLength: 16 }),
);

const { value: anyValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'xsmall', withCrossShrink: true }, scalar, fc.array(tie('value'), { maxLength: 3 }), dict(fc.oneof(strings, fc.constantFrom(...OPTION_KEYS)), tie('value'), 3)),
}));

const options = dict(fc.constantFrom(...OPTION_KEYS), fc.oneof(scalar, anyValue, fc.array(ints, { maxLength: 4 })), 4);
const uri = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(...URIS) },
  { weight: 4, arbitrary: strings },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => 'a.'.repeat(n) + 'z') },
);

const slot: Record<string, fc.Arbitrary<unknown>> = {
  uri,
  str: strings,
  id: ints,
  code: fc.constantFrom(...CODES),
  dict: options,
  list: fc.array(anyValue, { maxLength: 4 }),
};

/** A message of a known type, each slot of the right kind (mostly) or anything, arity off sometimes. */
const shaped = fc
  .constantFrom(...Object.keys(SHAPES).map(Number))
  .chain((code) =>
    fc.tuple(
      fc.tuple(...(SHAPES[code] as string[]).map((k) => fc.oneof({ weight: 4, arbitrary: slot[k] as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyValue }))),
      fc.integer({ min: -2, max: 1 }),
    ).map(([slots, arity]) => [code, ...(arity < 0 ? slots.slice(0, slots.length + arity) : arity > 0 ? [...slots, null] : slots)]),
  );
const anyCode = fc.oneof(fc.constantFrom(...CODES), fc.integer({ min: -1, max: 300 }), fc.double(), strings, fc.constant(null));
const loose = fc.tuple(anyCode, fc.array(anyValue, { maxLength: 7 })).map(([code, rest]) => [code, ...rest]);

export function wampInput(serializer: SerializerName): fc.Arbitrary<WampInput> {
  const message = fc.oneof(shaped, loose, fc.array(anyValue, { maxLength: 3 })).map((value): WampInput => ({ kind: 'message', value: value as unknown[] }));
  const depth = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 200 }) }, { weight: 1, arbitrary: fc.integer({ min: 5000, max: 50_000 }) });
  const deep = fc.record({ depth, map: fc.boolean() }).map((d): WampInput => ({ kind: 'deep', ...d }));
  const lying = fc.oneof(fc.integer({ min: 5, max: 70_000 }), fc.constantFrom(2 ** 32 - 1, 2 ** 31)).map((count): WampInput => ({ kind: 'lyingCount', count }));
  const bytes = fc.uint8Array({ maxLength: 64 }).map((b): WampInput => ({ kind: 'bytes', bytes: b }));
  const tagged = fc
    .record({ tags: fc.array(fc.constantFrom(0, 1, 2, 3, 4, 5, 21, 24, 25, 27, 28, 29, 32, 64, 256, 258, 259, 55799, 0xffff, 2 ** 32 - 1), { minLength: 1, maxLength: 3 }), value: anyValue, selfRef: fc.boolean() })
    .map((t): WampInput => ({ kind: 'tagged', ...t }));
  const kinds = [
    { weight: 12, arbitrary: message },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: lying },
    { weight: 1, arbitrary: bytes },
  ];
  if (serializer === 'cbor') kinds.push({ weight: 3, arbitrary: tagged });
  return fc.oneof(...kinds);
}

export const mutations = fc.array(fc.record({ at: fc.nat(), op: fc.constantFrom('flip', 'insert', 'delete'), byte: fc.nat(255) }) as fc.Arbitrary<Mutation>, { maxLength: 2 });

export function applyMutations(b: Buffer, ms: readonly Mutation[]): Buffer {
  let out = b;
  for (const m of ms) {
    const at = out.length ? m.at % (out.length + (m.op === 'insert' ? 1 : 0)) : 0;
    if (m.op === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.from([m.byte]), out.subarray(at)]);
    else if (!out.length) continue;
    else if (m.op === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
    else {
      out = Buffer.from(out);
      out[at] = m.byte;
    }
  }
  return out;
}

const packr = new Packr({ useRecords: false });
const cborEncoder = new CborEncoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: true } as ConstructorParameters<typeof CborEncoder>[0]);

/** JSON the WAMP way: binary as "\u0000" + base64. */
function jsonValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return `\u0000${Buffer.from(v).toString('base64')}`;
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
  return v;
}

function encodeValue(serializer: SerializerName, v: unknown): Buffer {
  if (serializer === 'json') return Buffer.from(stringifyJson(jsonValue(v)) ?? 'null'); // BigInt as its literal
  if (serializer === 'msgpack') return Buffer.from(packr.pack(v));
  return Buffer.from(cborEncoder.encode(v));
}

/** The prefix [48, 1, {}, "x", of a CALL with 5 items, in each serializer, for hand-built tails. */
const CALL_PREFIX: Record<SerializerName, Buffer> = {
  json: Buffer.from('[48,1,{},"x",'),
  msgpack: Buffer.from([0x95, 48, 1, 0x80, 0xa1, 0x78]),
  cbor: Buffer.from([0x85, 0x18, 48, 1, 0xa0, 0x61, 0x78]),
};

export function encodeWamp(serializer: SerializerName, input: WampInput): Buffer {
  switch (input.kind) {
    case 'message':
      return encodeValue(serializer, input.value);
    case 'bytes':
      return Buffer.from(input.bytes);
    case 'deep': {
      const n = input.depth;
      if (serializer === 'json') {
        const [open, close] = input.map ? ['{"a":', '}'] : ['[', ']'];
        return Buffer.concat([CALL_PREFIX.json, Buffer.from(`[${open.repeat(n)}0${close.repeat(n)}]]`)]);
      }
      const msgpack = serializer === 'msgpack';
      const list = Buffer.from([msgpack ? 0x91 : 0x81]);
      const level = input.map ? Buffer.from(msgpack ? [0x81, 0xa1, 0x61] : [0xa1, 0x61, 0x61]) : list;
      const levels = Buffer.alloc(level.length * n);
      for (let i = 0; i < n; i++) level.copy(levels, i * level.length);
      return Buffer.concat([CALL_PREFIX[serializer], list, levels, Buffer.from([msgpack ? 0xc0 : 0xf6])]);
    }
    case 'lyingCount': {
      const c = input.count;
      if (serializer === 'json') return Buffer.concat([CALL_PREFIX.json, Buffer.from('['.repeat(Math.min(c, 1000)))]);
      if (serializer === 'msgpack') {
        const h = Buffer.alloc(5);
        h[0] = 0xdd;
        h.writeUInt32BE(c >>> 0, 1);
        return Buffer.concat([CALL_PREFIX.msgpack, Buffer.from([0x91]), h, Buffer.from([1, 2])]);
      }
      const h = Buffer.alloc(5);
      h[0] = 0x9a;
      h.writeUInt32BE(c >>> 0, 1);
      return Buffer.concat([CALL_PREFIX.cbor, Buffer.from([0x81]), h, Buffer.from([1, 2])]);
    }
    case 'tagged': {
      let v: unknown = input.value;
      for (const tag of input.tags) v = new Tag(tag === 29 && input.selfRef ? 0 : v, tag);
      const body = Buffer.from(cborEncoder.encode(input.selfRef ? new Tag([new Tag(0, 29), v], 28) : v));
      return Buffer.concat([Buffer.from([0x86]), CALL_PREFIX.cbor.subarray(1), Buffer.from([0x81]), body, Buffer.from([0xa0])]);
    }
  }
}

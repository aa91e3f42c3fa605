// The JSON fast path: the scanner accepts exactly what JSON.parse accepts, a PUBLISH/CALL/YIELD/ERROR
// decoded with its arguments left encoded means what the full decode means (or is left to it), and a
// head written by hand is what JSON.stringify would write.
import test from 'ava';
import { decodeDeferringArgs, encodeWithArgs, JsonArgs } from '../lib/wamp/json-frame.ts';
import { scanValue, seen, skipSpace } from '../lib/wamp/json-scan.ts';
import { serializerByName } from '../lib/wamp/serializers.ts';
import { maxDepth } from '../lib/wamp/wire-values.ts';
import { checkFastPath } from './helpers/fast-path.ts';
import { mutate, prng } from './helpers/random.ts';

const json = serializerByName('json');
const FORMAT = 'wamp.2.json';

function scans(bytes: Buffer): boolean {
  const start = skipSpace(bytes, 0);
  const end = scanValue(bytes, start, 1);
  return end >= 0 && skipSpace(bytes, end) === bytes.length;
}

function parses(bytes: Buffer): boolean {
  try {
    JSON.parse(bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

const EDGES = [
  '0', '-0', '01', '-', '1.', '.5', '1.5e', '1e+', '1E-7', '2.50E+3', '-12.0e+00', '+1', '0x10', '1_000', 'NaN', 'Infinity',
  'true', 'tru', 'truee', 'false', 'nul', 'null', 'TRUE',
  '""', '"a', '"\\"', '"\\/\\b\\f\\n\\r\\t\\\\"', '"\\x"', '"\\\'"', '"\\a"', '"\\U0041"', '"\\0"', '"\\u12"', '"\\u12G4"', '"\\uD800"', '"\\u0000x"', '"tab\there"', "'single'",
  '[]', '[,]', '[1,]', '[1 2]', '[ 1 , 2 ]', '{}', '{"a":1,}', '{"a" 1}', '{a:1}', '{"a":1 "b":2}', '{ "a" : [ {} ] }', '{"__proto__":1}',
  ' [1] ', '\t\r\n[1]\n', '[1]x', '\u00a0[1]', '\ufeff[1]', '[1]]', '[[1]', '{"a":{"b":{}}}}',
  '"caf\u00e9"', '"\u{1F600}"', '[1e400]', '[-1E999]',
];

test('the scanner accepts exactly what JSON.parse accepts: edge cases', (t) => {
  for (const s of EDGES) {
    const b = Buffer.from(s);
    t.is(scans(b), parses(b), JSON.stringify(s));
  }
  // raw control characters and bytes that are not UTF-8
  t.false(scans(Buffer.from([0x22, 0x01, 0x22])));
  t.is(scans(Buffer.from([0x22, 0xff, 0xfe, 0x22])), parses(Buffer.from([0x22, 0xff, 0xfe, 0x22])));
  t.false(scans(Buffer.from([0x5b, 0x31, 0x00, 0x5d])));
});

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 6 : 8));
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return Math.floor(r() * 2 ** 53) * (r() < 0.2 ? -1 : 1);
    case 3:
      return (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
    case 4:
    case 5:
      return Array.from({ length: Math.floor(r() * 6) }, () => String.fromCharCode(...Array.from({ length: Math.floor(r() * 5) }, () => [0x22, 0x5c, 0x0a, 0x41, 0xe9, 0x2028, 0xd83d, 0x7b][Math.floor(r() * 8)] as number))).join('');
    case 6:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let n = Math.floor(r() * 4); n > 0; n--) o[String.fromCharCode(0x61 + Math.floor(r() * 5))] = randomValue(r, depth + 1);
      return o;
    }
  }
}

/** JSON text of `v` with random spacing around its structure. */
function spaced(r: () => number, v: unknown): string {
  return JSON.stringify(v, null, r() < 0.5 ? undefined : ' ').replace(/([,:[{])/g, (m) => (r() < 0.2 ? `${m}${' \t\n\r'[Math.floor(r() * 4)]}` : m));
}

const MUTATION_BYTES = [0x22, 0x5c, 0x2c, 0x3a, 0x5b, 0x5d, 0x7b, 0x7d, 0x20, 0x30, 0x2d, 0x2e, 0x65, 0x75, 0x00, 0x1f, 0xc3, 0xff, 0x6e];

test('the scanner accepts exactly what JSON.parse accepts: 20,000 random values and mutations of them', (t) => {
  const r = prng(7);
  let accepted = 0;
  for (let n = 0; n < 20_000; n++) {
    let b: Buffer = Buffer.from(spaced(r, randomValue(r, 0)));
    for (let m = Math.floor(r() * 3); m > 0; m--) b = mutate(r, b, MUTATION_BYTES);
    const ok = parses(b);
    if (scans(b) !== ok) t.fail(`scanner and JSON.parse disagree on ${JSON.stringify(b.toString('latin1'))}`);
    if (ok) accepted++;
  }
  t.true(accepted > 5000 && accepted < 19_000, `a mix of valid and invalid inputs (${accepted} valid)`);
});

test('the scanner flags "\\u0000" escapes and numbers beyond float64, and nothing else', (t) => {
  const flags = (s: string): [boolean, boolean] => {
    seen.nul = false;
    seen.huge = false;
    t.true(scans(Buffer.from(s)), s);
    return [seen.nul, seen.huge];
  };
  t.deepEqual(flags('["\\u0000AQ==", 1]'), [true, false]);
  t.deepEqual(flags('["a\\u0000"]'), [true, false]);
  t.deepEqual(flags('["\\\\u0000", "\\u00001"]'), [true, false]);
  t.deepEqual(flags('["\\\\u0000"]'), [false, false]);
  t.deepEqual(flags('[1e308, 1.7976931348623157e308, 1e-400, 123456789012345678901234567890]'), [false, false]);
  t.deepEqual(flags('[1e309]'), [false, true]);
  t.deepEqual(flags(`[${'9'.repeat(400)}]`), [false, true]);
  t.deepEqual(flags('{"n": -2e400}'), [false, true]);
});

function randomFrame(r: () => number): string {
  const type = [16, 48, 70, 8, 32, 64][Math.floor(r() * 6)] as number;
  const head: unknown[] = [type];
  const id = (): number => Math.floor(r() * 2 ** 53) + 1;
  if (type === 8) head.push(68, id(), r() < 0.5 ? {} : { x: randomValue(r, 3) }, 'com.err');
  else if (type === 70) head.push(id(), r() < 0.7 ? {} : { progress: true });
  else head.push(id(), r() < 0.7 ? {} : { acknowledge: true, exclude: [id()] }, r() < 0.8 ? 'com.example.topic' : 'caf\u00e9."q"');
  const tail: unknown[] = [];
  const shape = r();
  if (shape > 0.15) tail.push(r() < 0.1 ? [] : Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomValue(r, 2)));
  if (shape > 0.55) tail.push(r() < 0.2 ? {} : { k: randomValue(r, 2), 'a b': 1 });
  return spaced(r, [...head, ...tail]);
}

test('decoding with the arguments left encoded gives what the full decode gives, or leaves the frame to it: 20,000 random frames', (t) => {
  const r = prng(11);
  const frames = Array.from({ length: 20_000 }, () => {
    const b = Buffer.from(randomFrame(r));
    return r() < 0.3 ? mutate(r, b, MUTATION_BYTES) : b;
  });
  const { fast, deferred } = checkFastPath(
    t,
    {
      serializer: json,
      decode: (b) => decodeDeferringArgs(b, FORMAT),
      // the text from the Arguments to the last non-empty element, and its length in bytes
      cutFrom: (b, a) => a instanceof JsonArgs && b.toString('utf8').includes(a.text) && Buffer.byteLength(a.text) === a.byteLength,
      show: (b) => JSON.stringify(b.toString('latin1')),
    },
    frames,
  );
  t.true(fast > 8000 && deferred > 5000, `most frames take the fast path (${fast}, ${deferred} with arguments)`);
});

test('frames left to the full decode: binary values, huge numbers, invalid UTF-8, wrong argument types, other messages', (t) => {
  const refused = [
    '[16,1,{},"t",["\\u0000AQ=="]]',
    '[16,1,{"x":"\\u0000AQ=="},"t",[1]]',
    '[16,1,{},"t",[1e400]]',
    '[16,1,{},"t",{"a":1}]',
    '[16,1,{},"t",[1],[2]]',
    '[16,1,{},"t",[1],{},3]',
    '[16,1,{},"t",[1]] x',
    '[16,1,{},"t",["\ufffd"]]',
    '[016,1,{},"t",[1]]',
    '[160,1,{},"t",[1]]',
    '[32,1,{},"t"]',
    '{"a":1}',
    '[16,1,{},"t",[1]',
  ];
  for (const s of refused) t.is(decodeDeferringArgs(Buffer.from(s), FORMAT), undefined, s);
  t.is(decodeDeferringArgs(Buffer.concat([Buffer.from('[16,1,{},"t",["'), Buffer.from([0xc3, 0x28]), Buffer.from('"]]')]), FORMAT), undefined);
  // nesting: the deepest the full decode allows is left encoded, one deeper is left to it (and refused)
  const nested = (d: number): Buffer => Buffer.from(`[16,1,{},"t",${'['.repeat(d)}${']'.repeat(d)}]`);
  t.true(decodeDeferringArgs(nested(maxDepth - 1), FORMAT)?.[4] instanceof JsonArgs);
  t.notThrows(() => json.decode(nested(maxDepth - 1)));
  t.is(decodeDeferringArgs(nested(maxDepth), FORMAT), undefined);
  t.throws(() => json.decode(nested(maxDepth)));
});

test('the arguments are cut exactly, empty ones are dropped, and an escaped head goes through JSON.parse', (t) => {
  const text = (s: string): string | undefined => {
    const msg = decodeDeferringArgs(Buffer.from(s), FORMAT);
    const d = msg?.find((x) => x instanceof JsonArgs) as JsonArgs | undefined;
    return d?.text;
  };
  t.is(text('[16, 7, {"a": "]}\\",["}, "x.y", [1, "two"]]'), '[1, "two"]');
  t.is(text('[16,7,{},"t",[1],{"k":[{"]":1}]}]'), '[1],{"k":[{"]":1}]}');
  t.is(text('[16,7,{},"t",[1,{}] , { } ]'), '[1,{}]');
  t.is(text(' [ 70 , 3 , {} , ["a"] ] '), '["a"]');
  t.is(text('[16,7,{},"t",[ ],{"k":1}]'), '[ ],{"k":1}');
  t.deepEqual(decodeDeferringArgs(Buffer.from('[16,7,{},"t",[],{ }]'), FORMAT), [16, 7, {}, 't', [], {}]);
  t.deepEqual(decodeDeferringArgs(Buffer.from('[48,7,{},"t"]'), FORMAT), [48, 7, {}, 't']);
  t.deepEqual(decodeDeferringArgs(Buffer.from('[8,68,9007199254740992,{"e":[1,{"f":null}]},"caf\\u00e9\\"q\\""]'), FORMAT), [
    8,
    68,
    2 ** 53,
    { e: [1, { f: null }] },
    'café"q"',
  ]);
  // numbers the hand parser leaves to others: 17 digits (exact: a BigInt), a sign, an exponent
  t.deepEqual(decodeDeferringArgs(Buffer.from('[8,12345678901234567,-5,1.5e2,"t"]'), FORMAT), [8, 12345678901234567n, -5, 150, 't']);
});

test('a head written by hand is what JSON.stringify writes', (t) => {
  const args = new JsonArgs(FORMAT, '["caf\u00e9",1]', Buffer.byteLength('["caf\u00e9",1]'), false);
  const heads: unknown[][] = [
    [36, 0, 9, {}],
    [36, 10, 99_999_999, {}],
    [36, 100_000_000, 100_000_001, { publisher: 5, topic: 'a.b' }],
    [50, 2 ** 53, { progress: true }],
    [8, 48, 4_503_599_627_370_496, {}, 'com.error.caf\u00e9'],
    [36, -1, 1.5, null, undefined, 'x"y', [1, {}], Buffer.from([1, 2])],
  ];
  for (const head of heads) {
    const expected = JSON.stringify(head.map((x) => (x instanceof Uint8Array ? '\u0000' + Buffer.from(x).toString('base64') : x))).slice(0, -1) + `,${args.text}]`;
    t.is(encodeWithArgs(head, args).toString('utf8'), expected);
  }
});

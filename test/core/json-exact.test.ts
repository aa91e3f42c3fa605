// The exact JSON paths of lib/core/json-exact.ts: the same values as JSON.parse / JSON.stringify
// except for integers beyond 2^53, any nesting without recursion, and the corners JSON.parse has
// (__proto__ keys, escapes, duplicate keys).
import test from 'ava';
import { exactInteger, mayHoldBigInteger, parseJson, parseJsonExact, stringifyJson, stringifyJsonExact } from '../../lib/core/json-exact.ts';
import { Payload } from '../../lib/core/payload.ts';
import { sameValue } from '../../lib/core/values.ts';
import { prng } from '../helpers/random.ts';

/** A random JSON value without integers beyond 2^53 (so JSON.parse is exact on it). */
function randomValue(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 4 ? 5 : 7));
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return r() < 0.5 ? Math.floor((r() - 0.5) * 2 ** 40) : r() < 0.9 ? (r() - 0.5) * 10 ** Math.floor(r() * 30 - 20) : -1.5e300;
    case 3:
    case 4:
      return ['', 'a', 'caf\u00e9', '"q"\\', '\u0000x', '\ud800', '12345678901234567890', 'line\nnext'][Math.floor(r() * 8)];
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 4); i > 0; i--) o[['a', 'b', '1', '__proto__', 'k\u00e9'][Math.floor(r() * 5)] as string] = randomValue(r, depth + 1);
      return o;
    }
  }
}

test('parseJsonExact gives what JSON.parse gives for 3,000 random texts, with random spacing', (t) => {
  const r = prng(18);
  for (let n = 0; n < 3000; n++) {
    let text = JSON.stringify(randomValue(r));
    if (r() < 0.3) text = text.replace(/([,:[\]{}])/g, (c) => (r() < 0.3 ? ` ${c}\n\t` : c));
    t.deepEqual(parseJsonExact(text), JSON.parse(text), text);
  }
  // duplicate keys: the last wins; __proto__ is an own key, not the prototype
  const o = parseJsonExact('{"a":1,"a":2,"__proto__":{"x":1}}') as Record<string, unknown>;
  t.is(o.a, 2);
  t.is(Object.getPrototypeOf(o), Object.prototype);
  t.deepEqual(Object.keys(o), ['a', '__proto__']);
});

test('integers beyond 2^53 become BigInt within -2^63 .. 2^64-1; everything else stays a Number', (t) => {
  const text = '[-9223372036854775808,18446744073709551615,9007199254740993,-9007199254740993,1558266424841951553,9007199254740992,-9223372036854775809,18446744073709551616,1.5e300,12345678901234567.0,1e16,123456789012345678901234567890]';
  t.deepEqual(parseJsonExact(text), [
    -(2n ** 63n),
    2n ** 64n - 1n,
    2n ** 53n + 1n,
    -(2n ** 53n) - 1n,
    1558266424841951553n,
    2 ** 53,
    -(2 ** 63),
    2 ** 64,
    1.5e300,
    12345678901234568,
    1e16,
    1.2345678901234568e29,
  ]);
  t.deepEqual(parseJson(text), parseJsonExact(text));
  t.is(parseJson('[1,"12345678901234567890"]') instanceof Array, true);
  t.deepEqual(parseJson('[1,"12345678901234567890"]'), [1, '12345678901234567890']);
  t.is(exactInteger(5n), 5);
  t.is(exactInteger(-(2n ** 53n)), -(2 ** 53));
  t.is(exactInteger(2n ** 53n + 1n), 2n ** 53n + 1n);
  t.is(exactInteger(-(2n ** 64n)), -(2 ** 64));
});

test('mayHoldBigInteger finds every run of 16 digits wherever it starts', (t) => {
  for (let pad = 0; pad < 40; pad++) {
    t.true(mayHoldBigInteger('x'.repeat(pad) + '1234567890123456'), `at ${pad}`);
    t.true(mayHoldBigInteger('x'.repeat(pad) + '1234567890123456' + 'x'.repeat(pad)), `inside at ${pad}`);
    t.false(mayHoldBigInteger('x'.repeat(pad) + '123456789012345' + 'x'.repeat(pad)), `15 digits at ${pad}`);
    t.false(mayHoldBigInteger(`${'x'.repeat(pad)}123456789012345,123456789012345`), `two short runs at ${pad}`);
  }
});

test('stringifyJsonExact writes what JSON.stringify writes, BigInt as a bare literal', (t) => {
  const r = prng(53);
  for (let n = 0; n < 2000; n++) {
    const v = randomValue(r);
    t.is(stringifyJsonExact(v), JSON.stringify(v));
  }
  const odd = { u: undefined, f: () => 1, list: [undefined, () => 1, Symbol('s')], date: new Date(0), num: new Number(3), nan: NaN, nested: { toJSON: () => 'j' } };
  t.is(stringifyJsonExact(odd), JSON.stringify(odd));
  t.is(stringifyJsonExact(undefined), undefined);
  t.is(stringifyJsonExact([2n ** 64n - 1n, { k: -(2n ** 63n) }]), '[18446744073709551615,{"k":-9223372036854775808}]');
  t.is(stringifyJson({ a: 1n }), '{"a":1}');
  t.is(stringifyJsonExact([Buffer.from([1, 2])]), '["\\u0000AQI="]');
  const cyclic: unknown[] = [1n];
  cyclic.push(cyclic);
  t.throws(() => stringifyJsonExact(cyclic), { instanceOf: TypeError });
});

test('nesting far deeper than the stack allows is parsed and written in a loop', (t) => {
  const depth = 200_000;
  const text = '['.repeat(depth) + '9007199254740993' + ']'.repeat(depth);
  let v = parseJsonExact(text);
  t.is(stringifyJsonExact(v), text);
  for (let i = 0; i < depth; i++) v = (v as unknown[])[0];
  t.is(v, 2n ** 53n + 1n);
});

test('payloads: MQTT JSON bytes give BigInt, args with BigInt give exact JSON bytes, and equal values compare equal', (t) => {
  const text = '{"id":1558266424841951553,"n":[-9223372036854775808]}';
  const fromBytes = Payload.fromBytes(Buffer.from(text));
  t.deepEqual(fromBytes.args, [{ id: 1558266424841951553n, n: [-(2n ** 63n)] }]);
  const fromArgs = Payload.fromArgs([{ id: 1558266424841951553n, n: [-(2n ** 63n)] }]);
  t.is(Buffer.from(fromArgs.bytes).toString(), text);
  t.true(fromArgs.equals(fromBytes));
  t.is(Buffer.from(Payload.fromArgs([2n ** 64n - 1n, Buffer.from([1])]).bytes).toString(), '{"args":[18446744073709551615,"\\u0000AQ=="],"kwargs":{}}');
  t.true(sameValue({ a: 5n }, { a: 5 }));
  t.true(sameValue([2n ** 60n], [2n ** 60n]));
  t.false(sameValue(5n, '5'));
  t.false(sameValue(2n ** 60n, 2 ** 60 + 2 ** 10));
});

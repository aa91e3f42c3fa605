// The linear pre-scans in front of cbor-x and msgpackr (cbor-scan.ts, msgpack-check.ts): they let
// every plain WAMP value through, and whatever they let through decodes to plain data only.
import test from 'ava';
import fc from 'fast-check';
import { cborx, packr } from '../../lib/wamp/binary-encoders.ts';
import { checkCbor } from '../../lib/wamp/cbor-scan.ts';
import { checkMsgpack } from '../../lib/wamp/msgpack-check.ts';
import { serializerByName } from '../../lib/wamp/serializers.ts';
import { NESTING_DEPTH_CEILING, WireError, maxDepth, sanitizeDecoded, setMaxNestingDepth } from '../../lib/wamp/wire-values.ts';
import { mutate, prng } from '../helpers/random.ts';

const plainValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 5 }),
  ),
})).value;

const message = fc.tuple(fc.integer({ min: 1, max: 70 }), fc.array(plainValue, { maxLength: 4 })).map(([type, rest]) => [type, ...rest]);

for (const name of ['cbor', 'msgpack'] as const) {
  const check = name === 'cbor' ? checkCbor : checkMsgpack;
  const s = serializerByName(name);

  test(`${name}: every message of plain values passes the pre-scan and decodes as encoded`, (t) => {
    fc.assert(
      fc.property(message, (msg) => {
        const frame = s.encode(msg);
        check(frame);
        t.deepEqual(s.decode(frame), s.decode(s.encode(s.decode(frame))));
      }),
      { seed: 16, numRuns: 300 },
    );
    t.pass();
  });

  test(`${name}: mutated frames are refused with a WireError or decode to plain data`, (t) => {
    const r = prng(16);
    const seeds = fc.sample(message, { seed: 16, numRuns: 50 }).map((m) => s.encode(m));
    const bytes = [0x00, 0x18, 0x1f, 0x80, 0x9f, 0xa0, 0xc1, 0xc7, 0xd4, 0xd8, 0xd9, 0xdc, 0xdf, 0xf7, 0xf8, 0xff];
    let passed = 0;
    for (let i = 0; i < 3000; i++) {
      const frame = mutate(r, seeds[i % seeds.length] as Buffer, bytes);
      let ok = true;
      try {
        check(frame);
      } catch (err) {
        t.true(err instanceof WireError);
        ok = false;
      }
      if (!ok) continue;
      passed++;
      let v: unknown;
      try {
        v = name === 'cbor' ? cborx.decode(frame) : packr.unpack(frame);
      } catch {
        continue; // the decoder's own refusal: the serializer turns it into a WireError
      }
      t.notThrows(() => sanitizeDecoded(v, 0));
    }
    t.true(passed > 0);
  });
}

test("msgpack: msgpackr's default packer writing undefined (ext 0) still decodes, as null-like undefined", (t) => {
  const frame = Buffer.from([0x93, 0x01, 0xa1, 0x72, 0x81, 0xa1, 0x61, 0xd4, 0x00, 0x00]); // [1, "r", {a: undefined}]
  t.notThrows(() => checkMsgpack(frame));
  t.deepEqual(serializerByName('msgpack').decode(frame), [1, 'r', { a: undefined }]);
});

test('maxNestingDepth outside [2, 1000] is refused', (t) => {
  const before = maxDepth;
  for (const bad of [0, 1, 1.5, NESTING_DEPTH_CEILING + 1, Number.NaN]) t.throws(() => setMaxNestingDepth(bad));
  t.is(maxDepth, before);
});

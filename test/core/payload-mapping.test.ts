// The bytes ⇄ args/kwargs mapping of core's Payload (README "MQTT ⇄ WAMP payloads"): each row of
// the table in both directions, and the round-trip property: bytes → WAMP values → bytes gives the
// same bytes, except JSON written otherwise than JSON.stringify writes it (same value, canonical
// spelling) and a quoted JSON string (its text).
import test from 'ava';
import fc from 'fast-check';
import { headersAsAttribute, headersFromAttribute } from '../../lib/core/mqtt-attribute.ts';
import { Payload } from '../../lib/core/payload.ts';

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');
const NOT_UTF8 = Buffer.from([0x00, 0xff, 0x80, 0x7b]);

/** What a WAMP peer does with an event: take its values and publish them again. */
function viaWamp(b: Uint8Array): Buffer {
  const p = Payload.fromBytes(b);
  return Buffer.from(Payload.fromArgs(p.args, p.kwargs).bytes);
}

test('bytes → WAMP: JSON is its value, other UTF-8 text a string, the rest binary, empty no arguments', (t) => {
  const rows: [Uint8Array, unknown[] | undefined][] = [
    [bytes(''), undefined],
    [bytes('21.5'), [21.5]],
    [bytes('true'), [true]],
    [bytes('null'), [null]],
    [bytes('{"a":1}'), [{ a: 1 }]],
    [bytes('[1,"x"]'), [[1, 'x']]],
    [bytes('"open"'), ['open']],
    [bytes('open'), ['open']],
    [bytes('grüße, not JSON'), ['grüße, not JSON']],
    [bytes('\ufeffBOM kept'), ['\ufeffBOM kept']],
    [NOT_UTF8, [NOT_UTF8]],
  ];
  for (const [b, args] of rows) {
    const p = Payload.fromBytes(b);
    t.deepEqual(p.args, args, JSON.stringify(Buffer.from(b).toString('latin1')));
    t.is(p.kwargs, undefined);
  }
});

test('WAMP → bytes: a string is its UTF-8 text, binary as it is, other values JSON', (t) => {
  const rows: [unknown[] | undefined, Record<string, unknown> | undefined, Buffer][] = [
    [undefined, undefined, bytes('')],
    [['open'], undefined, bytes('open')],
    [['grüße'], undefined, bytes('grüße')],
    [[''], undefined, bytes('')],
    [['"quoted"'], undefined, bytes('"quoted"')],
    [[21.5], undefined, bytes('21.5')],
    [[false], undefined, bytes('false')],
    [[null], undefined, bytes('null')],
    [[{ a: [1, 'x'] }], undefined, bytes('{"a":[1,"x"]}')],
    [[[1, 2]], undefined, bytes('[1,2]')],
    [[NOT_UTF8], undefined, NOT_UTF8],
    [undefined, { a: 1 }, bytes('{"a":1}')],
    [['a', 'b'], undefined, bytes('{"args":["a","b"],"kwargs":{}}')],
    [['a'], { k: 'v' }, bytes('{"args":["a"],"kwargs":{"k":"v"}}')],
  ];
  for (const [args, kwargs, out] of rows) t.deepEqual(Buffer.from(Payload.fromArgs(args, kwargs).bytes), out, JSON.stringify([args, kwargs]));
});

test('round trip bytes → WAMP → bytes: identical, but for JSON in another spelling and a quoted string', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ unit: 'binary', maxLength: 32 }).map(bytes), fc.json().map(bytes)), (b) => {
      const back = viaWamp(b);
      let value: unknown;
      let isJson = false;
      try {
        value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b));
        isJson = true;
      } catch {
        // binary or plain text: must come back exactly
      }
      if (!isJson) return Buffer.compare(back, Buffer.from(b)) === 0;
      return Buffer.compare(back, bytes(typeof value === 'string' ? value : JSON.stringify(value))) === 0;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('round trip of JSON as JSON.stringify writes it (every value but a string) is byte-identical', (t) => {
  fc.assert(
    fc.property(
      fc.jsonValue().filter((v) => typeof v !== 'string'),
      (v) => {
        const b = bytes(JSON.stringify(v));
        return Buffer.compare(viaWamp(b), b) === 0;
      },
    ),
    { numRuns: 2000 },
  );
  t.pass();
});

test('the _mqtt attribute: read from publish options, shown in event details, bad values refused', (t) => {
  const now = 1_000_000;
  const corr = new Uint8Array([1, 2, 3]);
  const h = headersFromAttribute(
    { content_type: 'text/plain', payload_format_indicator: 1, response_topic: 'reply/to', correlation_data: corr, user_properties: { a: 'b', l: ['1', '2'] }, message_expiry_interval: 60 },
    now,
  );
  t.deepEqual(h, { contentType: 'text/plain', payloadFormat: 1, responseTopic: 'reply/to', correlationData: corr, userProperties: { a: 'b', l: ['1', '2'] }, expiresAt: now + 60_000 });
  t.deepEqual(headersAsAttribute(h!, now + 10_500), {
    content_type: 'text/plain',
    payload_format_indicator: 1,
    response_topic: 'reply/to',
    correlation_data: corr,
    user_properties: { a: 'b', l: ['1', '2'] },
    message_expiry_interval: 50,
  });
  t.deepEqual(headersFromAttribute({ correlation_data: 'abc' }, now), { correlationData: bytes('abc') });
  t.is(headersFromAttribute({}, now), undefined);
  t.is(headersFromAttribute(null, now), undefined);
  t.is(headersAsAttribute({}, now), undefined);
  for (const bad of [
    'text',
    [1],
    { contentType: 'x' },
    { content_type: 5 },
    { content_type: 'a\u0000b' },
    { content_type: '\ud800' },
    { content_type: 'x'.repeat(65_536) },
    { payload_format_indicator: 2 },
    { response_topic: '' },
    { response_topic: 'a/+/b' },
    { response_topic: 'a/#' },
    { correlation_data: 7 },
    { correlation_data: new Uint8Array(65_536) },
    { user_properties: [] },
    { user_properties: { a: 1 } },
    { user_properties: { a: ['x', 2] } },
    { message_expiry_interval: -1 },
    { message_expiry_interval: 1.5 },
    { message_expiry_interval: 2 ** 32 },
  ]) {
    t.throws(() => headersFromAttribute(bad, now), { message: /_mqtt/ }, JSON.stringify(bad).slice(0, 80));
  }
});

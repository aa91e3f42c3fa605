// The WAMP serializers against the wamp-proto test vectors, plus binary, 2^53 and malformed input.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WireError, serializerByName, serializerByRawSocketId, serializerBySubprotocol, type SerializerName } from '../lib/wamp/serializers.ts';

const VECTORS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'wamp-vectors');
const NAMES: SerializerName[] = ['json', 'msgpack', 'cbor'];

interface Encoding {
  bytes_hex: string;
}
interface Sample {
  description: string;
  serializers?: Partial<Record<string, Encoding[]>>;
  expected_attributes?: Record<string, unknown>;
  wmsg?: unknown[];
}
interface VectorFile {
  wamp_message_code: number;
  samples: Sample[];
}

// Where each attribute the vectors name sits in the message array, by message type.
const LAYOUT: Record<number, string[]> = {
  1: ['realm', 'details'],
  2: ['session_id', 'details'],
  3: ['details', 'reason'],
  4: ['method', 'extra'],
  5: ['signature', 'extra'],
  6: ['details', 'reason'],
  8: ['request_type', 'request_id', 'details', 'error', 'args', 'kwargs'],
  16: ['request_id', 'options', 'topic', 'args', 'kwargs'],
  17: ['request_id', 'publication_id'],
  32: ['request_id', 'options', 'topic'],
  33: ['request_id', 'subscription_id'],
  34: ['request_id', 'subscription_id'],
  35: ['request_id'],
  36: ['subscription', 'publication', 'details', 'args', 'kwargs'],
  48: ['request_id', 'options', 'procedure', 'args', 'kwargs'],
  49: ['request_id', 'options'],
  50: ['request_id', 'details', 'args', 'kwargs'],
  64: ['request_id', 'options', 'procedure'],
  65: ['request_id', 'registration_id'],
  66: ['request_id', 'registration_id'],
  67: ['request_id'],
  68: ['request_id', 'registration_id', 'details', 'args', 'kwargs'],
  69: ['request_id', 'options'],
  70: ['request_id', 'options', 'args', 'kwargs'],
  337: ['publication_id'],
};

/** The message's value for a named attribute (`roles` lives in HELLO/WELCOME details). */
function attribute(msg: unknown[], name: string): { found: boolean; value?: unknown } {
  const layout = LAYOUT[msg[0] as number];
  if (!layout) return { found: false };
  if (name === 'message_type') return { found: true, value: msg[0] };
  if (name === 'roles') return { found: true, value: (msg[layout.indexOf('details') + 1] as { roles?: unknown }).roles };
  // a transparent payload (binary) takes the place of args
  const pos = layout.indexOf(name === 'payload' ? 'args' : name);
  if (pos === -1) return { found: false };
  return { found: true, value: msg[pos + 1] };
}

function listVectors(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listVectors(path.join(dir, e.name)) : e.name.endsWith('.json') ? [path.join(dir, e.name)] : []));
}

/** msgpackr writes a BigInt below 2^63 as int64 (0xd3) where Python's msgpack writes uint64 (0xcf): same value. */
function sameMsgpack(ours: Buffer, canonical: Buffer): boolean {
  if (ours.length !== canonical.length) return false;
  for (let i = 0; i < ours.length; i++) {
    if (ours[i] !== canonical[i] && !(canonical[i] === 0xcf && ours[i] === 0xd3)) return false;
  }
  return true;
}

const files = listVectors(VECTORS);

test('the vector fixtures are there', (t) => {
  t.true(files.length >= 20);
});

for (const file of files) {
  const vector = JSON.parse(fs.readFileSync(file, 'utf8')) as VectorFile;
  const rel = path.relative(VECTORS, file);
  for (const name of NAMES) {
    test(`${rel} [${name}]: decode canonical bytes, check attributes, round-trip`, (t) => {
      const ser = serializerByName(name);
      let checked = 0;
      for (const sample of vector.samples) {
        for (const enc of sample.serializers?.[name] ?? []) {
          const canonical = Buffer.from(enc.bytes_hex, 'hex');
          const msg = ser.decode(canonical);
          t.is(msg[0], vector.wamp_message_code, sample.description);
          for (const [key, expected] of Object.entries(sample.expected_attributes ?? {})) {
            const got = attribute(msg, key);
            t.true(got.found, `${sample.description}: attribute ${key} is mapped`);
            if (key === 'payload' && typeof expected === 'string') {
              t.true(Buffer.isBuffer(got.value), `${sample.description}: payload decodes as a Buffer`);
              t.is((got.value as Buffer).toString('hex'), expected, sample.description);
            } else if (key === 'payload') {
              t.false(Buffer.isBuffer(got.value), `${sample.description}: no transparent payload`);
            } else if (expected === null) {
              // null in a vector means "absent", unless a transparent payload took the args slot
              if (!(key === 'args' && sample.expected_attributes?.payload)) t.is(got.value, undefined, `${sample.description}: ${key}`);
            } else {
              t.deepEqual(got.value, expected, `${sample.description}: ${key}`);
            }
          }
          const again = ser.encode(msg);
          t.deepEqual(ser.decode(again), msg, `${sample.description}: round trip`);
          if (name === 'cbor') t.is(again.toString('hex'), enc.bytes_hex, `${sample.description}: canonical CBOR`);
          if (name === 'msgpack') t.true(sameMsgpack(again, canonical), `${sample.description}: canonical msgpack`);
          if (name === 'json') t.is(again.toString(), JSON.stringify(JSON.parse(canonical.toString())), `${sample.description}: compact JSON`);
          checked++;
        }
        if (sample.wmsg) {
          // validation samples: wire messages only, which must survive every serializer
          t.deepEqual(ser.decode(ser.encode(sample.wmsg)), sample.wmsg, sample.description);
          checked++;
        }
      }
      t.true(checked > 0);
    });
  }
}

test('lookup by subprotocol and RawSocket id', (t) => {
  for (const [id, name] of [[1, 'json'], [2, 'msgpack'], [3, 'cbor']] as const) {
    const s = serializerByName(name);
    t.is(serializerByRawSocketId(id), s);
    t.is(serializerBySubprotocol(`wamp.2.${name}`), s);
    t.is(s.subprotocol, `wamp.2.${name}`);
    t.is(s.binary, name !== 'json');
  }
  t.is(serializerByRawSocketId(0), undefined);
  t.is(serializerByRawSocketId(4), undefined);
  t.is(serializerBySubprotocol('wamp.2.ubjson'), undefined);
});

const BIN = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x7f]);

for (const name of NAMES) {
  const ser = serializerByName(name);

  test(`${name}: binary values survive in args and kwargs, at any depth`, (t) => {
    const u8 = new Uint8Array([9, 8, 7]);
    const big = Buffer.alloc(70_000, 0xab);
    const view = Buffer.from('xxhelloxx').subarray(2, 7); // a view with an offset into a larger buffer
    const msg = [16, 1, {}, 'com.example.bin', [BIN, 'text', [u8]], { b: big, nested: { v: view }, empty: Buffer.alloc(0) }];
    const out = ser.decode(ser.encode(msg));
    const args = out[4] as unknown[];
    const kwargs = out[5] as { b: Buffer; nested: { v: Buffer }; empty: Buffer };
    t.true(Buffer.isBuffer(args[0]));
    t.true(BIN.equals(args[0] as Buffer));
    t.is(args[1], 'text');
    t.deepEqual([...((args[2] as unknown[])[0] as Uint8Array)], [9, 8, 7]);
    t.true(big.equals(kwargs.b));
    t.is(kwargs.nested.v.toString(), 'hello');
    t.true(Buffer.isBuffer(kwargs.empty));
    t.is(kwargs.empty.length, 0);
    // encoding must not modify the caller's message
    t.true(Buffer.isBuffer(msg[4] && (msg[4] as unknown[])[0]));
  });

  test(`${name}: ids up to 2^53 survive as integers`, (t) => {
    const ids = [2 ** 53, 2 ** 53 - 1, 2 ** 32, 2 ** 32 + 1, 5512315355, 1, 0, -(2 ** 40)];
    const msg = [36, 2 ** 53, 2 ** 53 - 1, { publisher: 2 ** 53, ids }, [1.5, 2 ** 31, -1]];
    const bytes = ser.encode(msg);
    const out = ser.decode(bytes);
    t.deepEqual(out, msg);
    for (const v of [out[1], out[2], (out[3] as { publisher: number }).publisher]) t.is(typeof v, 'number');
    // on the wire the ids are integers, never floats (autobahn-python rejects a float id)
    const wire = bytes.toString('hex');
    if (name === 'msgpack') t.true(wire.startsWith('9524d30020000000000000d3001fffffffffffff'), wire);
    if (name === 'cbor') t.true(wire.startsWith('8518241b00200000000000001b001fffffffffffff'), wire);
    if (name === 'json') t.true(bytes.toString().startsWith('[36,9007199254740992,9007199254740991,'));
  });

  test(`${name}: encode throws WireError for what the format cannot carry`, (t) => {
    const cyclic: unknown[] = [1];
    cyclic.push(cyclic);
    t.throws(() => ser.encode(cyclic), { instanceOf: WireError });
  });

  test(`${name}: a message nested too deep is refused`, (t) => {
    let deep: unknown = 1;
    for (let i = 0; i < 150; i++) deep = [deep];
    t.throws(() => ser.encode([16, 1, {}, 't', [deep]]), { instanceOf: WireError });
  });
}

test('64-bit integers up to 2^53 from other implementations decode as numbers', (t) => {
  // [36, 2^53] with uint64 / int64 markers
  t.deepEqual(serializerByName('msgpack').decode(Buffer.from('9224cf0020000000000000', 'hex')), [36, 2 ** 53]);
  t.deepEqual(serializerByName('msgpack').decode(Buffer.from('9224d30020000000000000', 'hex')), [36, 2 ** 53]);
  t.deepEqual(serializerByName('cbor').decode(Buffer.from('8218241b0020000000000000', 'hex')), [36, 2 ** 53]);
  // a CBOR bignum tag past the 64-bit range gives a Number (rounded), not a BigInt
  t.deepEqual(serializerByName('cbor').decode(Buffer.from('821824c249' + '01' + '00'.repeat(8), 'hex')), [36, 2 ** 64]);
});

test('json: strings starting with NUL are binary both ways; other escapes stay strings', (t) => {
  const json = serializerByName('json');
  const text = JSON.stringify([36, 1, 2, {}, ['\u0000' + BIN.toString('base64'), 'plain \\u0000 text', 'a\u0000b']]);
  const msg = json.decode(Buffer.from(text));
  const args = msg[4] as unknown[];
  t.true(Buffer.isBuffer(args[0]) && BIN.equals(args[0] as Buffer));
  t.is(args[1], 'plain \\u0000 text');
  t.is(args[2], 'a\u0000b'); // NUL not at the start: an ordinary string
  t.is(json.encode(msg).toString(), text);
});

const MALFORMED: Record<SerializerName, [string, Buffer][]> = {
  json: [
    ['empty', Buffer.alloc(0)],
    ['not JSON', Buffer.from('hello')],
    ['object', Buffer.from('{"a":1}')],
    ['empty array', Buffer.from('[]')],
    ['string type', Buffer.from('["1"]')],
    ['float type', Buffer.from('[1.5]')],
    ['null type', Buffer.from('[null]')],
    ['truncated', Buffer.from('[1,')],
    ['trailing garbage', Buffer.from('[1] x')],
    ['scalar', Buffer.from('"x"')],
    ['nested too deep', Buffer.from('[1,' + '['.repeat(200) + ']'.repeat(200) + ']')],
  ],
  msgpack: [
    ['empty', Buffer.alloc(0)],
    ['reserved byte 0xc1', Buffer.from('c1', 'hex')],
    ['map', Buffer.from('80', 'hex')],
    ['empty array', Buffer.from('90', 'hex')],
    ['string type', Buffer.from('91a161', 'hex')],
    ['truncated', Buffer.from('9301', 'hex')],
    ['trailing bytes', Buffer.from('9101c0', 'hex')],
    ['unknown extension', Buffer.from('91d40501', 'hex')],
    ['huge declared length', Buffer.from('dd7fffffff01', 'hex')],
    ['nested too deep', Buffer.concat([Buffer.from('9201', 'hex'), Buffer.alloc(200, 0x91), Buffer.from('01', 'hex')])],
  ],
  cbor: [
    ['empty', Buffer.alloc(0)],
    ['break byte', Buffer.from('ff', 'hex')],
    ['map', Buffer.from('a0', 'hex')],
    ['empty array', Buffer.from('80', 'hex')],
    ['truncated', Buffer.from('8301', 'hex')],
    ['trailing bytes', Buffer.from('8101f6', 'hex')],
    ['cycle through shared references', Buffer.from('d81c8201d81d00', 'hex')],
    ['typed array tag', Buffer.from('8201d8554400008040', 'hex')],
    ['huge declared length', Buffer.from('9a7fffffff01', 'hex')],
    ['nested too deep', Buffer.concat([Buffer.from('8201', 'hex'), Buffer.alloc(200, 0x81), Buffer.from('01', 'hex')])],
  ],
};

for (const name of NAMES) {
  test(`${name}: malformed input throws WireError`, (t) => {
    const ser = serializerByName(name);
    for (const [what, bytes] of MALFORMED[name]) {
      t.throws(() => ser.decode(bytes), { instanceOf: WireError }, what);
    }
  });
}

for (const name of NAMES) {
  test(`${name}: undefined goes on the wire as null`, (t) => {
    const ser = serializerByName(name);
    t.deepEqual(ser.decode(ser.encode([8, 48, 1, {}, 'e', [1, undefined, 3]])), [8, 48, 1, {}, 'e', [1, null, 3]]);
  });
}

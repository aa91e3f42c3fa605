// JSON and MessagePack arguments pass through the router as the sender wrote them: a peer of the
// same serializer receives the exact bytes of the publisher's (or caller's, or callee's) Arguments
// and ArgumentsKw in its EVENT, INVOCATION and RESULT, while peers of other serializers get them
// decoded and re-encoded, and frames whose bytes a receiver could not take (invalid UTF-8) or that
// the full decode rewrites are re-encoded instead.
import test, { type ExecutionContext } from 'ava';
import { once } from 'node:events';
import WebSocket from 'ws';
import { RawWamp, T } from './helpers/raw-wamp.ts';
import { bytes } from './helpers/bytes.ts';
import { startTestServer } from './helpers/server.ts';
import { connectAutobahn } from './helpers/wamp.ts';
import { collect } from './helpers/autobahn.ts';

const text = (b: Buffer | undefined): string | undefined => b?.toString('utf8');

test('a JSON subscriber receives the publisher’s argument bytes unchanged; msgpack and cbor subscribers get the same values', async (t) => {
  const { urls } = await startTestServer(t);
  const jsonSub = await RawWamp.session(t, urls, { serializer: 'json' });
  const rawSub = await RawWamp.session(t, urls, { serializer: 'json', rawsocket: true });
  const msgpackSub = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  const cborSub = await connectAutobahn(t, urls, { serializer: 'cbor' });
  for (const s of [jsonSub, rawSub, msgpackSub]) await s.subscribe('com.pass.topic');
  const cborEvents = await collect(cborSub, 'com.pass.topic');
  const pub = await RawWamp.session(t, urls, { serializer: 'json' });

  // spacing, key order, a unicode escape, an escaped quote, a float written long: a re-encoding
  // would change the bytes, passing them through does not
  const args = '[ 1.0000000000000002, "caf\\u00e9 \\"q\\"", {"z": 1, "a": [true, null]}, 2.50E+3 ]';
  const kwargs = '{ "b": 2,  "a": "x" }';
  pub.sendBytes(Buffer.from(`[16, ${pub.id()}, {"acknowledge": true}, "com.pass.topic", ${args}, ${kwargs}]`));
  const published = await pub.nextOf(T.PUBLISHED);

  for (const s of [jsonSub, rawSub]) {
    const event = await s.nextOf(T.EVENT);
    t.is(event[2], published[2]);
    const frame = text(s.rawFrames.find((f) => f.toString().startsWith('[36,')));
    t.truthy(frame?.endsWith(`,${args}, ${kwargs}]`), frame);
    t.deepEqual(event.slice(4), [[1.0000000000000002, 'café "q"', { z: 1, a: [true, null] }, 2500], { b: 2, a: 'x' }]);
  }
  const m = await msgpackSub.nextOf(T.EVENT);
  t.deepEqual(m.slice(4), [[1.0000000000000002, 'café "q"', { z: 1, a: [true, null] }, 2500], { b: 2, a: 'x' }]);
  const [c] = await cborEvents.waitFor(1);
  t.is(c?.args[1], 'café "q"');
  t.deepEqual(c?.kwargs, { b: 2, a: 'x' });
});

test('binary values and numbers beyond float64 are encoded again, not passed through: canonical base64, null', async (t) => {
  const { urls } = await startTestServer(t);
  const sub = await RawWamp.session(t, urls, { serializer: 'json' });
  await sub.subscribe('com.pass.fix');
  const pub = await RawWamp.session(t, urls, { serializer: 'json' });
  // base64 without padding, which strict decoders (Python's b64decode, atob) refuse
  pub.sendBytes(Buffer.from(`[16, ${pub.id()}, {}, "com.pass.fix", ["\\u0000AAH+/w", 1]]`));
  pub.sendBytes(Buffer.from(`[16, ${pub.id()}, {}, "com.pass.fix", [1e400, {"n": -1E999}]]`));
  const e1 = await sub.nextOf(T.EVENT);
  const e2 = await sub.nextOf(T.EVENT);
  t.deepEqual(e1[4], [Buffer.from([0, 1, 0xfe, 0xff]), 1]);
  t.deepEqual(e2[4], [null, { n: null }]);
  const frames = sub.rawFrames.map((f) => f.toString()).filter((f) => f.startsWith('[36,'));
  t.true(frames[0]?.endsWith(',["\\u0000AAH+/w==",1]]'), frames[0]);
  t.true(frames[1]?.endsWith(',[null,{"n":null}]]'), frames[1]);
});

test('an empty ArgumentsKw is dropped, and a publication without arguments has none', async (t) => {
  const { urls } = await startTestServer(t);
  const sub = await RawWamp.session(t, urls, { serializer: 'json' });
  await sub.subscribe('com.pass.kw');
  const pub = await RawWamp.session(t, urls, { serializer: 'json' });
  pub.sendBytes(Buffer.from(`[16, ${pub.id()}, {}, "com.pass.kw", ["only"], { }]`));
  pub.sendBytes(Buffer.from(`[16, ${pub.id()}, {}, "com.pass.kw", [], {}]`));
  pub.sendBytes(Buffer.from(`[16, ${pub.id()}, {}, "com.pass.kw", [], {"k": 1}]`));
  const e1 = await sub.nextOf(T.EVENT);
  const e2 = await sub.nextOf(T.EVENT);
  const e3 = await sub.nextOf(T.EVENT);
  t.deepEqual(e1.slice(4), [['only']]);
  t.is(e2.length, 4);
  t.deepEqual(e3.slice(4), [[], { k: 1 }]);
  const frames = sub.rawFrames.map((f) => f.toString()).filter((f) => f.startsWith('[36,'));
  t.true(frames[0]?.endsWith(',["only"]]'), frames[0]);
  t.true(frames[2]?.endsWith(',[], {"k": 1}]'), frames[2]);
});

test('calls: the caller’s arguments reach the callee and the callee’s reach the caller byte for byte, errors included', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await RawWamp.session(t, urls, { serializer: 'json', rawsocket: true });
  const registration = await callee.register('com.pass.proc');
  const caller = await RawWamp.session(t, urls, { serializer: 'json' });
  const callArgs = '[ {"n": 1e3} , "x" ]';
  const request = caller.id();
  caller.sendBytes(Buffer.from(`[48, ${request}, {}, "com.pass.proc", ${callArgs}]`));
  const invocation = await callee.nextOf(T.INVOCATION);
  t.is(invocation[2], registration);
  t.true(text(callee.rawFrames.find((f) => f.toString().startsWith('[68,')))?.endsWith(`,${callArgs}]`));
  const yieldArgs = '["r" ,  2]';
  const yieldKw = '{"why":  "because"}';
  callee.sendBytes(Buffer.from(`[70, ${invocation[1] as number}, {}, ${yieldArgs}, ${yieldKw}]`));
  const result = await caller.nextOf(T.RESULT, request);
  t.deepEqual(result.slice(3), [['r', 2], { why: 'because' }]);
  t.true(text(caller.rawFrames.find((f) => f.toString().startsWith('[50,')))?.endsWith(`,${yieldArgs}, ${yieldKw}]`));

  const second = caller.id();
  caller.sendBytes(Buffer.from(`[48, ${second}, {}, "com.pass.proc", []]`));
  const inv2 = await callee.nextOf(T.INVOCATION);
  t.is(inv2.length, 4, 'no arguments: none in the INVOCATION');
  callee.sendBytes(Buffer.from(`[8, 68, ${inv2[1] as number}, {}, "com.pass.failed", [ "no" ]]`));
  const error = await caller.nextOf(T.ERROR, second, 2);
  t.deepEqual(error.slice(4), ['com.pass.failed', ['no']]);
  t.true(text(caller.rawFrames.find((f) => f.toString().startsWith('[8,')))?.endsWith(',"com.pass.failed",[ "no" ]]'));
});

/** A JSON publisher over WebSocket that sends its frames as binary frames (no UTF-8 check by ws). */
async function binaryFramePublisher(t: ExecutionContext, url: string): Promise<(frame: Buffer) => void> {
  const ws = new WebSocket(url, ['wamp.2.json']);
  t.teardown(() => ws.terminate());
  await once(ws, 'open');
  const welcome = once(ws, 'message');
  ws.send(Buffer.from('[1, "realm1", {"roles": {"publisher": {}}}]'), { binary: true });
  t.is(JSON.parse(String((await welcome)[0]))[0], T.WELCOME);
  return (frame) => ws.send(frame, { binary: true });
}

test('JSON with invalid UTF-8 (a binary WebSocket frame, a RawSocket frame) is re-encoded: subscribers get valid UTF-8 and stay connected', async (t) => {
  const { urls } = await startTestServer(t);
  const wsSub = await RawWamp.session(t, urls, { serializer: 'json' });
  await wsSub.subscribe('com.pass.utf8');
  const rawPub = await RawWamp.session(t, urls, { serializer: 'json', rawsocket: true });
  const publishers = [await binaryFramePublisher(t, urls.wamp as string), (frame: Buffer) => rawPub.sendBytes(frame)];
  for (const [i, send] of publishers.entries()) {
    send(Buffer.concat([Buffer.from(`[16, ${i + 1}, {}, "com.pass.utf8", ["a`), Buffer.from([0xc3, 0x28]), Buffer.from('b"]]')]));
    const event = await wsSub.nextOf(T.EVENT);
    t.is((event[4] as string[])[0], 'a\ufffd(b');
  }
  const frames = wsSub.rawFrames.filter((f) => f.toString().startsWith('[36,'));
  t.is(frames.length, 2);
  for (const f of frames) t.true(Buffer.from(f.toString('utf8'), 'utf8').equals(f), 'valid UTF-8 on the wire');
  t.false(wsSub.isClosed);
});

// MessagePack: bytes a re-encoding would change (a float32, a uint 64 beyond 2^53, a str 16 holding
// a short string) reach MessagePack peers as written.
const mp = bytes;
/** An id as a MessagePack uint 64. */
const mpId = (n: number): Buffer => {
  const b = Buffer.alloc(9);
  b[0] = 0xcf;
  b.writeBigUInt64BE(BigInt(n), 1);
  return b;
};
const MP_ARGS = mp(0x93, [0xca, 0x3f, 0x8c, 0xcc, 0xcd], [0xcf, 0, 0x20, 0, 0, 0, 0, 0, 3], [0xda, 0, 5], 'caf\u00e9');
const MP_KWARGS = mp(0x81, 0xa1, 'k', 0xc4, 2, 1, 2);
const MP_VALUES = [[1.100000023841858, 2n ** 53n + 3n, 'café'], { k: Buffer.from([1, 2]) }];

/** The raw frames of `s` whose message type is `type`. */
const framesOf = (s: RawWamp, type: number): Buffer[] => s.rawFrames.filter((f) => s.serializer.decode(f)[0] === type);

test('msgpack: subscribers of msgpack get the publisher’s argument bytes unchanged; json and autobahn subscribers get the same values', async (t) => {
  const { urls } = await startTestServer(t);
  const wsSub = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  const rawSub = await RawWamp.session(t, urls, { serializer: 'msgpack', rawsocket: true });
  const jsonSub = await RawWamp.session(t, urls, { serializer: 'json' });
  for (const s of [wsSub, rawSub, jsonSub]) await s.subscribe('com.pass.mp');
  const autobahnSub = await connectAutobahn(t, urls, { serializer: 'msgpack' });
  const autobahnEvents = await collect(autobahnSub, 'com.pass.mp');
  const pub = await RawWamp.session(t, urls, { serializer: 'msgpack', rawsocket: true });
  pub.sendBytes(mp(0x96, 16, mpId(pub.id()), 0x81, 0xab, 'acknowledge', 0xc3, 0xab, 'com.pass.mp', MP_ARGS, MP_KWARGS));
  const published = await pub.nextOf(T.PUBLISHED);

  for (const s of [wsSub, rawSub]) {
    const event = await s.nextOf(T.EVENT);
    t.is(event[2], published[2]);
    t.deepEqual(event.slice(4), MP_VALUES);
    const [frame] = framesOf(s, T.EVENT);
    t.true(frame?.subarray(frame.length - MP_ARGS.length - MP_KWARGS.length).equals(mp(MP_ARGS, MP_KWARGS)), frame?.toString('hex'));
  }
  const j = await jsonSub.nextOf(T.EVENT);
  t.deepEqual(j.slice(4), MP_VALUES);
  const [a] = await autobahnEvents.waitFor(1);
  t.deepEqual(a?.args.slice(1), [2 ** 53 + 4, 'café']); // autobahn's msgpack5 rounds (the router sent 2^53 + 3)
  t.is(Math.fround(a?.args[0] as number), Math.fround(1.1));
  t.deepEqual(Buffer.from(a?.kwargs?.k as Uint8Array), Buffer.from([1, 2]));
});

test('msgpack calls: the caller’s arguments reach the callee and the callee’s reach the caller byte for byte, errors included', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await RawWamp.session(t, urls, { serializer: 'msgpack', rawsocket: true });
  await callee.register('com.pass.mp.proc');
  const caller = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  const request = caller.id();
  caller.sendBytes(mp(0x95, 48, mpId(request), 0x80, 0xb0, 'com.pass.mp.proc', MP_ARGS));
  const invocation = await callee.nextOf(T.INVOCATION);
  t.deepEqual(invocation[4], MP_VALUES[0]);
  t.true(framesOf(callee, T.INVOCATION)[0]?.subarray(-MP_ARGS.length).equals(MP_ARGS));
  callee.sendBytes(mp(0x95, 70, mpId(invocation[1] as number), 0x80, 0x90, MP_KWARGS));
  const result = await caller.nextOf(T.RESULT, request);
  t.deepEqual(result.slice(3), [[], MP_VALUES[1]]);
  t.true(framesOf(caller, T.RESULT)[0]?.subarray(-1 - MP_KWARGS.length).equals(mp(0x90, MP_KWARGS)));

  const second = caller.id();
  caller.sendBytes(mp(0x95, 48, mpId(second), 0x80, 0xb0, 'com.pass.mp.proc', 0x90));
  const inv2 = await callee.nextOf(T.INVOCATION);
  t.is(inv2.length, 4, 'no arguments: none in the INVOCATION');
  callee.sendBytes(mp(0x96, 8, 68, mpId(inv2[1] as number), 0x80, 0xaf, 'com.pass.failed', MP_ARGS));
  const error = await caller.nextOf(T.ERROR, second, 2);
  t.deepEqual(error.slice(4), ['com.pass.failed', MP_VALUES[0]]);
  t.true(framesOf(caller, T.ERROR)[0]?.subarray(-MP_ARGS.length).equals(MP_ARGS));
});

test('msgpack with what the full decode rewrites (a timestamp, an integer map key) is re-encoded, and its subscribers stay connected', async (t) => {
  const { urls } = await startTestServer(t);
  const sub = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  await sub.subscribe('com.pass.mp.ext');
  const pub = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  pub.sendBytes(mp(0x95, 16, mpId(pub.id()), 0x80, 0xaf, 'com.pass.mp.ext', 0x91, [0xd6, 0xff, 0, 0, 0, 1]));
  pub.sendBytes(mp(0x95, 16, mpId(pub.id()), 0x80, 0xaf, 'com.pass.mp.ext', 0x91, [0x81, 0x07, 0xc3]));
  const e1 = await sub.nextOf(T.EVENT);
  const e2 = await sub.nextOf(T.EVENT);
  t.deepEqual(e1[4], [new Date(1000)]);
  t.deepEqual(e2[4], [{ 7: true }]);
  t.true(framesOf(sub, T.EVENT)[1]?.subarray(-4).equals(mp(0x81, 0xa1, '7', 0xc3)), 'the key re-encoded as the string "7"');
  t.false(sub.isClosed);
});

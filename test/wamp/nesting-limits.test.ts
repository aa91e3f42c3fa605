// Limits.maxNestingDepth in all three serializers, on the pass-through paths (PUBLISH/CALL arguments
// kept encoded) and the full decodes; CBOR tags and MessagePack extensions that build shared or
// exotic structures; Limits.helloTimeoutMs. Past a limit the session gets ABORT
// wamp.error.protocol_violation (the frame cannot be decoded, as with any malformed frame) and
// everyone else carries on.
import test, { type ExecutionContext } from 'ava';
import { Encoder as CborEncoder } from 'cbor-x';
import { Packr } from 'msgpackr';
import { collect, openAutobahn } from '../helpers/autobahn.ts';
import { RawWamp, T, type Msg, until } from '../helpers/raw-wamp.ts';
import { startTestServer } from '../helpers/server.ts';
import { wampBystanders } from '../helpers/wamp-bystanders.ts';
import { connectAutobahn, type SerializerName } from '../helpers/wamp.ts';

const VIOLATION = 'wamp.error.protocol_violation';
// Every server of this file uses the same depth: the codecs hold one value per process.
const DEPTH = 16;
const limits = { maxNestingDepth: DEPTH };

const start = (t: ExecutionContext) => startTestServer(t, { limits });

/**
 * Arguments such that the whole message nests `depth` levels deep: the message's list is level 1,
 * Arguments level 2, and the rest is a chain of lists.
 */
function argsOfDepth(depth: number): unknown[] {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth - 2; i++) v = [v];
  return [v];
}

/** ArgumentsKw (or HELLO.Details) such that the whole message nests `depth` levels deep. */
function kwargsOfDepth(depth: number): Record<string, unknown> {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth - 1; i++) v = { k: v };
  return v as Record<string, unknown>;
}

// The test's own encoders: the router's codecs, loaded in this process too, would refuse to encode
// the messages that are too deep.
const packr = new Packr({ useRecords: false });
const cborx = new CborEncoder({ useRecords: false, pack: false } as ConstructorParameters<typeof CborEncoder>[0]);
const encode: Record<SerializerName, (msg: Msg) => Buffer> = {
  json: (msg) => Buffer.from(JSON.stringify(msg)),
  msgpack: (msg) => packr.pack(msg),
  cbor: (msg) => cborx.encode(msg),
};

async function expectViolation(t: ExecutionContext, c: RawWamp): Promise<Msg> {
  const abort = await c.nextOf(T.ABORT);
  t.is(abort[2], VIOLATION);
  await c.closed;
  return abort;
}

for (const serializer of ['json', 'msgpack', 'cbor'] as SerializerName[]) {
  test(`${serializer}: autobahn arguments and kwargs at the depth limit pass, one level more ends that session only`, async (t) => {
    const { urls, router } = await start(t);
    const others = await wampBystanders(t, urls);
    const sub = await connectAutobahn(t, urls); // a JSON subscriber whatever the publisher speaks
    const events = await collect(sub, 'deep.t');
    const pub = await openAutobahn(t, urls, { serializer });
    await pub.session.publish('deep.t', argsOfDepth(DEPTH), {}, { acknowledge: true });
    await pub.session.publish('deep.t', [], kwargsOfDepth(DEPTH), { acknowledge: true });
    const got = await events.waitFor(2);
    t.deepEqual(got[0]!.args, argsOfDepth(DEPTH));
    t.deepEqual(got[1]!.kwargs, kwargsOfDepth(DEPTH));

    void pub.session.publish('deep.t', argsOfDepth(DEPTH + 1), {}, { acknowledge: true }).then(
      () => {},
      () => {},
    );
    // autobahn reports an ABORT in an established session as a lost connection
    t.is((await pub.closed).reason, 'lost');
    t.is(router.stats.wampTooDeep, 1);
    t.is(events.items.length, 2);
    await others.check();
  });

  for (const rawsocket of [false, true]) {
    const via = rawsocket ? 'RawSocket' : 'WebSocket';
    test(`${serializer} over ${via}: CALL arguments, kwargs and HELLO details past the depth limit: ABORT`, async (t) => {
      const { urls, router } = await start(t);
      const others = await wampBystanders(t, urls);
      const callee = await connectAutobahn(t, urls);
      await callee.register('deep.echo', () => 'ok');

      const ok = await RawWamp.session(t, urls, { serializer, rawsocket });
      const id = ok.id();
      ok.send([T.CALL, id, {}, 'deep.echo', argsOfDepth(DEPTH), kwargsOfDepth(DEPTH)]);
      t.is((await ok.reply(T.CALL, id))[0], T.RESULT);

      const call = await RawWamp.session(t, urls, { serializer, rawsocket });
      call.sendBytes(encode[serializer]([T.CALL, call.id(), {}, 'deep.echo', argsOfDepth(DEPTH + 1)]));
      await expectViolation(t, call);

      const kw = await RawWamp.session(t, urls, { serializer, rawsocket });
      kw.sendBytes(encode[serializer]([T.CALL, kw.id(), {}, 'deep.echo', [], kwargsOfDepth(DEPTH + 1)]));
      await expectViolation(t, kw);

      // HELLO is decoded in full: HELLO.Details is level 2
      const hello = rawsocket ? await RawWamp.rawsocket(t, urls.rawsocket!, { serializer }) : await RawWamp.ws(t, urls.wamp!, { serializer });
      hello.sendBytes(encode[serializer]([T.HELLO, 'realm1', kwargsOfDepth(DEPTH + 1)]));
      await expectViolation(t, hello);

      t.is(router.stats.wampTooDeep, 3);
      t.true(ok.isClosed === false);
      await others.check();
    });
  }
}

test('json: a deep value that the fast path cannot take (binary inside) is refused by the full decode too', async (t) => {
  const { urls, router } = await start(t);
  const c = await RawWamp.session(t, urls);
  let v = '"\\u0000AAEC"';
  for (let i = 0; i < DEPTH; i++) v = `[${v}]`; // with the message's list: DEPTH + 1 levels
  c.sendBytes(Buffer.from(`[16, 1, {}, "deep.t", ${v}]`));
  await expectViolation(t, c);
  t.is(router.stats.wampTooDeep, 1);
});

test('json: a 1 MiB frame of opening brackets is refused as too deep', async (t) => {
  const { urls, router } = await start(t);
  const others = await wampBystanders(t, urls);
  for (const frame of ['[16, 1, {}, "deep.t", ' + '['.repeat(1 << 20), '[1, "realm1", ' + '{"a": '.repeat(1 << 17)]) {
    const c = await RawWamp.session(t, urls);
    c.sendBytes(Buffer.from(frame));
    await expectViolation(t, c);
  }
  t.is(router.stats.wampTooDeep, 2);
  await others.check();
});

test('a deep JSON body from MQTT reaches MQTT subscribers; a WAMP subscriber loses that one event only', async (t) => {
  const mqtt = await import('mqtt');
  const { urls, router } = await startTestServer(t, { limits }, { mqttPort: 0 });
  const sub = await connectAutobahn(t, urls);
  const events = await collect(sub, 'deep.m');
  const m = await mqtt.connectAsync(urls.mqtt!, { reconnectPeriod: 0 });
  t.teardown(() => m.end(true));
  const got: Buffer[] = [];
  m.on('message', (_topic, payload) => got.push(payload));
  await m.subscribeAsync('deep/m');
  const body = '['.repeat(100_000) + ']'.repeat(100_000);
  await m.publishAsync('deep/m', body, { qos: 1 });
  await m.publishAsync('deep/m', '[1]', { qos: 1 });
  await events.waitFor(1);
  await until(() => got.length === 2);
  t.deepEqual(events.items[0]!.args, [[1]]);
  t.is(got[0]!.toString(), body);
  t.true(router.stats.droppedEvents >= 1);
});

/**
 * A PUBLISH whose Arguments are a list of value-sharing (tag 28) arrays, each holding two references
 * (tag 29) to the one before: 154 bytes whose tree has 2^13 leaves.
 */
function cborBomb(): Buffer {
  const levels = 13;
  const parts = [0x85, 0x10, 0x01, 0xa0, 0x66, ...Buffer.from('bomb.t'), 0x98, levels + 1, 0xd8, 0x1c, 0x80];
  for (let k = 1; k <= levels; k++) parts.push(0xd8, 0x1c, 0x82, 0xd8, 0x1d, 0x18, k - 1, 0xd8, 0x1d, 0x18, k - 1);
  return Buffer.from(parts);
}

test('the 154-byte CBOR value-sharing bomb as PUBLISH arguments is refused; JSON subscribers get nothing', async (t) => {
  const { urls, router } = await start(t);
  const others = await wampBystanders(t, urls);
  const sub = await connectAutobahn(t, urls);
  const events = await collect(sub, 'bomb.t');
  for (const rawsocket of [false, true]) {
    const c = await RawWamp.session(t, urls, { serializer: 'cbor', rawsocket });
    const bomb = cborBomb();
    t.true(bomb.length <= 160);
    c.sendBytes(bomb);
    const abort = await expectViolation(t, c);
    t.regex(String((abort[1] as { message?: string }).message), /CBOR tag 28/);
  }
  t.is(router.stats.wampUnsupportedTypes, 2);
  await others.check();
  t.is(events.items.length, 0);
});

const cborRefused: [string, number[]][] = [
  ['sharedref (tag 29)', [0x82, 0x01, 0xd8, 0x1d, 0x00]],
  ['a Set (tag 258)', [0x82, 0x01, 0xd9, 0x01, 0x02, 0x80]],
  ['a Map (tag 259)', [0x82, 0x01, 0xd9, 0x01, 0x03, 0xa0]],
  ['packed values (tag 51)', [0x82, 0x01, 0xd8, 0x33, 0x84, 0x80, 0x80, 0x80, 0x01]],
  ['a record definition (tag 57343)', [0x82, 0x01, 0xd9, 0xdf, 0xff, 0x83, 0x00, 0x81, 0x61, 0x61, 0x01]],
  ['an Error object (tag 27)', [0x82, 0x01, 0xd8, 0x1b, 0x82, 0x65, ...Buffer.from('Error'), 0x61, 0x78]],
  ['a 1 KiB bignum', [0x82, 0x01, 0xc2, 0x59, 0x04, 0x00, ...new Array<number>(1024).fill(0xff)]],
  ['a packed-value simple value', [0x82, 0x01, 0xf8, 0x20]],
  ['an array longer than the frame', [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
];
const msgpackRefused: [string, number[]][] = [
  ['a record definition (ext 0x72)', [0x92, 0x01, 0xd4, 0x72, 0x40]],
  ['a structured-clone reference (ext 0x70)', [0x92, 0x01, 0xd6, 0x70, 0, 0, 0, 0]],
  ['bundled strings (ext 0x62)', [0x92, 0x01, 0xd6, 0x62, 0, 0, 0, 6]],
  ['a Set (ext 0x73)', [0x92, 0x01, 0xd4, 0x73, 0x90]],
  ['a RegExp (ext 0x78)', [0x92, 0x01, 0xd4, 0x78, 0x92]],
  ['a BigInt (ext 0x42)', [0x92, 0x01, 0xc7, 0x10, 0x42, ...new Array<number>(16).fill(0x7f)]],
  ['a fixext 1 of type 0 with data other than undefined', [0x92, 0x01, 0xd4, 0x00, 0x01]],
  ['an array longer than the frame', [0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]],
];

for (const [serializer, cases] of [
  ['cbor', cborRefused],
  ['msgpack', msgpackRefused],
] as const) {
  for (const [what, bytes] of cases) {
    test(`${serializer}: ${what} is refused with ABORT`, async (t) => {
      const { urls, router } = await start(t);
      const c = await RawWamp.session(t, urls, { serializer });
      // as a PUBLISH's arguments (the pass-through path for msgpack) and as a whole message
      const asArgs = Buffer.concat([Buffer.from(serializer === 'cbor' ? [0x85, 0x10, 0x01, 0xa0, 0x61, 0x74] : [0x95, 0x10, 0x01, 0x80, 0xa1, 0x74]), Buffer.from(bytes)]);
      c.sendBytes(asArgs);
      await expectViolation(t, c);
      const d = await RawWamp.session(t, urls, { serializer });
      d.sendBytes(Buffer.from(bytes));
      await expectViolation(t, d);
      t.is(router.stats.protocolErrors, 2);
    });
  }
}

test('cbor: the tags a WAMP value may carry still decode (dates, small bignums, tagged bytes, self-described)', async (t) => {
  const { urls } = await start(t);
  const sub = await RawWamp.session(t, urls, { serializer: 'cbor' });
  await sub.subscribe('tags.t');
  const pub = await RawWamp.session(t, urls, { serializer: 'cbor' });
  // 55799([16, 1, {}, "tags.t", [1(0), 2(h'010000000000000000'), 64(h'0102'), "x", [_ 1, 2]]])
  const frame = Buffer.from(
    'd9d9f7' + '85' + '10' + '01' + 'a0' + '66' + Buffer.from('tags.t').toString('hex') + '85' + 'c100' + 'c249' + '01' + '00'.repeat(8) + 'd840420102' + '6178' + '9f0102ff',
    'hex',
  );
  pub.sendBytes(frame);
  const ev = await sub.nextOf(T.EVENT);
  t.deepEqual(ev[4], [new Date(0), 2 ** 64, Buffer.from([1, 2]), 'x', [1, 2]]);
});

test('a client that opens a WebSocket or a RawSocket and never sends HELLO is dropped after helloTimeoutMs', async (t) => {
  const { urls, router } = await startTestServer(t, { limits: { ...limits, helloTimeoutMs: 2000 } });
  const others = await wampBystanders(t, urls);
  const sessions = router.sessionCount;
  const ws = await RawWamp.ws(t, urls.wamp!);
  const raw = await RawWamp.rawsocket(t, urls.rawsocket!, { serializer: 'msgpack' });
  for (const c of [ws, raw]) {
    const abort = await c.next((m) => m[0] === T.ABORT, 10_000);
    t.is(abort[2], VIOLATION);
    await c.closed;
  }
  t.is(router.sessionCount, sessions);
  await others.check();
});

// Pub/sub and RPC over every transport and serializer (WebSocket json/msgpack/cbor, RawSocket
// json/msgpack/cbor), and binary payloads that survive each of them and every crossing between them.
import test from 'ava';
import type autobahn from 'autobahn';
import { collect } from './helpers/autobahn.ts';
import { RawWamp, T } from './helpers/raw-wamp.ts';
import { startTestServer } from './helpers/server.ts';
import { connectAutobahn, type SerializerName } from './helpers/wamp.ts';

const SERIALIZERS: SerializerName[] = ['json', 'msgpack', 'cbor'];
const BLOB = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x7f, 0x00, 0x10]);

function isBlob(v: unknown, expected: Buffer = BLOB): boolean {
  return v instanceof Uint8Array && Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(expected);
}

// autobahn: WebSocket with each serializer, and RawSocket (json only in autobahn for Node)
const autobahnConfigs: { name: string; serializer: SerializerName; rawsocket: boolean }[] = [
  { name: 'WebSocket json', serializer: 'json', rawsocket: false },
  { name: 'WebSocket msgpack', serializer: 'msgpack', rawsocket: false },
  { name: 'WebSocket cbor', serializer: 'cbor', rawsocket: false },
  { name: 'RawSocket json', serializer: 'json', rawsocket: true },
];

for (const cfg of autobahnConfigs) {
  test(`autobahn over ${cfg.name}: pub/sub and RPC`, async (t) => {
    const { urls, router } = await startTestServer(t);
    const a = await connectAutobahn(t, urls, cfg);
    const b = await connectAutobahn(t, urls, cfg);
    const session = [...router.realms.get('realm1')!.sessions.values()].find((s) => s.id === a.id)!;
    t.is(session.identity.transport.type, cfg.rawsocket ? 'rawsocket' : 'websocket');
    t.is(session.identity.transport.serializer, cfg.serializer);

    const events = await collect(b, 'com.ser.topic');
    await a.publish('com.ser.topic', [1, 'two', { three: [3.5, null, true] }], { big: Number.MAX_SAFE_INTEGER, neg: -7 }, { acknowledge: true });
    const [e] = await events.waitFor(1);
    t.deepEqual(e?.args, [1, 'two', { three: [3.5, null, true] }]);
    t.deepEqual(e?.kwargs, { big: Number.MAX_SAFE_INTEGER, neg: -7 });

    await b.register('com.ser.echo', (args, kwargs) => [args, kwargs]);
    t.deepEqual(await a.call('com.ser.echo', ['x', 1.25], { k: 'ü€' }), [['x', 1.25], { k: 'ü€' }]);
  });
}

for (const serializer of ['msgpack', 'cbor'] as const) {
  test(`autobahn WebSocket ${serializer}: Buffer args survive publish and call`, async (t) => {
    const { urls } = await startTestServer(t);
    const a = await connectAutobahn(t, urls, { serializer });
    const b = await connectAutobahn(t, urls, { serializer });
    const events = await collect(b, 'com.bin');
    await a.publish('com.bin', [BLOB, { nested: BLOB }], { blob: BLOB }, { acknowledge: true });
    const [e] = await events.waitFor(1);
    t.true(isBlob(e?.args[0]));
    t.true(isBlob((e?.args[1] as { nested: unknown }).nested));
    t.true(isBlob(e?.kwargs.blob));

    await b.register('com.bin.reverse', (args) => Buffer.from((args as Buffer[])[0]!).reverse());
    const r = await a.call('com.bin.reverse', [BLOB]);
    t.true(isBlob(r, Buffer.from(BLOB).reverse()));
  });
}

for (const serializer of SERIALIZERS) {
  test(`RawSocket ${serializer} (raw client): HELLO, SUBSCRIBE, PUBLISH, CALL with binary payloads`, async (t) => {
    const { urls, router } = await startTestServer(t);
    const sub = await RawWamp.session(t, urls, { rawsocket: true, serializer });
    const pub = await RawWamp.session(t, urls, { rawsocket: true, serializer });
    const session = router.realms.get('realm1')!.sessions.get(sub.sessionId)!;
    t.is(session.identity.transport.type, 'rawsocket');
    t.is(session.identity.transport.serializer, serializer);

    const sid = await sub.subscribe('com.raw.topic');
    const ack = await pub.publishAck('com.raw.topic', [BLOB, 'text'], { b: BLOB });
    t.is(ack[0], T.PUBLISHED);
    const ev = await sub.nextOf(T.EVENT);
    t.is(ev[1], sid);
    t.true(isBlob((ev[4] as unknown[])[0]));
    t.is((ev[4] as unknown[])[1], 'text');
    t.true(isBlob((ev[5] as { b: unknown }).b));

    await sub.register('com.raw.echo');
    const call = pub.call('com.raw.echo', [BLOB], { k: 1 });
    const inv = await sub.nextOf(T.INVOCATION);
    t.true(isBlob((inv[4] as unknown[])[0]));
    t.deepEqual(inv[5], { k: 1 });
    sub.send([T.YIELD, inv[1], {}, [(inv[4] as unknown[])[0], 'back']]);
    const res = await pub.callOutcome(call);
    t.is(res[0], T.RESULT);
    t.true(isBlob((res[3] as unknown[])[0]));
    t.is((res[3] as unknown[])[1], 'back');
  });
}

test('binary crosses every pair of serializers and transports, in events and in calls', async (t) => {
  const { urls } = await startTestServer(t);
  const clients: { name: string; c: RawWamp }[] = [];
  for (const serializer of SERIALIZERS) {
    clients.push({ name: `ws-${serializer}`, c: await RawWamp.session(t, urls, { serializer }) });
    clients.push({ name: `rs-${serializer}`, c: await RawWamp.session(t, urls, { serializer, rawsocket: true }) });
  }
  for (const { c } of clients) await c.subscribe('com.matrix');
  for (const { name, c } of clients) await c.register(`com.matrix.${name}`);

  for (const from of clients) {
    const payload = Buffer.concat([BLOB, Buffer.from(from.name)]);
    await from.c.publishAck('com.matrix', [payload], { from: from.name }, { exclude_me: false });
    for (const to of clients) {
      const ev = await to.c.nextOf(T.EVENT);
      t.true(isBlob((ev[4] as unknown[])[0], payload), `${from.name} → ${to.name}`);
      t.deepEqual(ev[5], { from: from.name });
    }
  }

  for (const caller of clients) {
    for (const callee of clients) {
      if (caller === callee) continue;
      const arg = Buffer.concat([BLOB, Buffer.from(`${caller.name}>${callee.name}`)]);
      const id = caller.c.call(`com.matrix.${callee.name}`, [arg]);
      const inv = await callee.c.nextOf(T.INVOCATION);
      t.true(isBlob((inv[4] as unknown[])[0], arg), `call ${caller.name} → ${callee.name}`);
      callee.c.send([T.YIELD, inv[1], {}, [Buffer.from(arg).reverse()]]);
      const res = await caller.c.callOutcome(id);
      t.true(isBlob((res[3] as unknown[])[0], Buffer.from(arg).reverse()), `result ${callee.name} → ${caller.name}`);
    }
  }
});

test('msgpack publisher (autobahn) → json subscriber: the binary arrives as WAMP \\u0000+base64 and decodes back', async (t) => {
  const { urls } = await startTestServer(t);
  const pub = await connectAutobahn(t, urls, { serializer: 'msgpack' });
  const sub = await RawWamp.session(t, urls, { serializer: 'json' });
  await sub.subscribe('com.tojson');
  await pub.publish('com.tojson', [BLOB], {}, { acknowledge: true });
  const ev = await sub.nextOf(T.EVENT);
  t.true(isBlob((ev[4] as unknown[])[0]));
  const text = sub.rawFrames.at(-1)!.toString('utf8');
  t.true(text.includes(JSON.stringify('\u0000' + BLOB.toString('base64'))), text);

  // and the other way: a json client's binary string reaches a cbor autobahn client as bytes
  const cborSub = await connectAutobahn(t, urls, { serializer: 'cbor' });
  const events = await collect(cborSub, 'com.fromjson');
  await sub.publishAck('com.fromjson', [BLOB]);
  const [e] = await events.waitFor(1);
  t.true(isBlob(e?.args[0]));
});

test('json subscribers of different subscriptions each get a correct frame (fan-out encodes per subscription)', async (t) => {
  const { urls } = await startTestServer(t);
  const s1 = await RawWamp.session(t, urls, { serializer: 'json' });
  const s2 = await RawWamp.session(t, urls, { serializer: 'json' });
  const s3 = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  const exact = await s1.subscribe('com.fan.out');
  const prefix = await s2.subscribe('com.fan', { match: 'prefix' });
  const exact3 = await s3.subscribe('com.fan.out');
  t.is(exact, exact3);
  const pub = await connectAutobahn(t, urls);
  await (pub.publish('com.fan.out', ['x'], {}, { acknowledge: true }) as PromiseLike<autobahn.IPublication>);
  t.deepEqual((await s1.nextOf(T.EVENT)).slice(1).filter((_, i) => i !== 1), [exact, {}, ['x']]);
  t.deepEqual((await s2.nextOf(T.EVENT)).slice(1).filter((_, i) => i !== 1), [prefix, { topic: 'com.fan.out' }, ['x']]);
  t.deepEqual((await s3.nextOf(T.EVENT)).slice(1).filter((_, i) => i !== 1), [exact, {}, ['x']]);
});

test('RawSocket subscribers each get a correct frame when one fan-out frames an EVENT once for several of them', async (t) => {
  const { urls } = await startTestServer(t);
  const raw = { rawsocket: true } as const;
  const a1 = await RawWamp.session(t, urls, { serializer: 'json', ...raw });
  const a2 = await RawWamp.session(t, urls, { serializer: 'json', ...raw });
  const a3 = await RawWamp.session(t, urls, { serializer: 'msgpack', ...raw });
  const b = await RawWamp.session(t, urls, { serializer: 'json', ...raw });
  const exact = await a1.subscribe('com.rawfan.out');
  t.is(await a2.subscribe('com.rawfan.out'), exact);
  t.is(await a3.subscribe('com.rawfan.out'), exact);
  const prefix = await b.subscribe('com.rawfan', { match: 'prefix' });
  const pub = await connectAutobahn(t, urls);
  for (const n of [1, 2]) await (pub.publish('com.rawfan.out', [n], {}, { acknowledge: true }) as PromiseLike<autobahn.IPublication>);
  for (const n of [1, 2]) {
    for (const s of [a1, a2, a3]) t.deepEqual((await s.nextOf(T.EVENT)).slice(1).filter((_, i) => i !== 1), [exact, {}, [n]]);
    t.deepEqual((await b.nextOf(T.EVENT)).slice(1).filter((_, i) => i !== 1), [prefix, { topic: 'com.rawfan.out' }, [n]]);
  }
});

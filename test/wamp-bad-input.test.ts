// Bad input ends only the offending session (ABORT wamp.error.protocol_violation and close, or the
// RawSocket error handshake), a well-formed request with a bad URI or option gets an ERROR, and a
// client that stops reading cannot grow the router's memory or slow the others down.
import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import type autobahn from 'autobahn';
import { collect } from './helpers/autobahn.ts';
import { RawWamp, T, type Msg, until } from './helpers/raw-wamp.ts';
import { startTestServer } from './helpers/server.ts';
import type { KitsuneRouter } from '../lib/index.ts';
import { connectAutobahn } from './helpers/wamp.ts';

const VIOLATION = 'wamp.error.protocol_violation';

/** Two autobahn clients that prove the router still works: an RPC and an event round trip. */
async function bystanders(t: ExecutionContext, urls: Record<string, string>) {
  const a = await connectAutobahn(t, urls);
  const b = await connectAutobahn(t, urls, { rawsocket: true });
  await a.register('com.ping', (args) => ['pong', ...((args as unknown[]) ?? [])]);
  const events = await collect(a, 'com.heartbeat');
  let n = 0;
  return {
    async check(): Promise<void> {
      n++;
      t.deepEqual(await b.call('com.ping', [n]), ['pong', n]);
      await b.publish('com.heartbeat', [n], {}, { acknowledge: true });
      await events.waitFor(n);
      t.true(a.isOpen && b.isOpen, 'the other sessions are still open');
    },
  };
}

/** Expects ABORT with wamp.error.protocol_violation, then the transport closing. */
async function expectViolation(t: ExecutionContext, c: RawWamp): Promise<Msg> {
  const abort = await c.nextOf(T.ABORT);
  t.is(abort[2], VIOLATION);
  t.is(typeof (abort[1] as { message?: unknown }).message, 'string');
  await c.closed;
  return abort;
}

for (const [serializer, bytes] of [
  ['json', Buffer.from('[1, "realm1", {')],
  ['json', Buffer.from('{"not": "a list"}')],
  ['msgpack', Buffer.from([0xc1, 0x00])],
  ['msgpack', Buffer.from([0x93, 0x01])],
  ['cbor', Buffer.from([0x1c])],
  ['cbor', Buffer.from([0x9f, 0x01])],
] as const) {
  for (const rawsocket of [false, true]) {
    test(`malformed ${serializer} (${bytes.toString('hex')}) over ${rawsocket ? 'RawSocket' : 'WebSocket'}: ABORT protocol_violation, others unaffected`, async (t) => {
      const { urls, router } = await startTestServer(t);
      const others = await bystanders(t, urls);
      const c = await RawWamp.session(t, urls, { serializer, rawsocket });
      c.sendBytes(bytes);
      await expectViolation(t, c);
      t.is(router.stats.protocolErrors, 1);
      t.false(router.realms.get('realm1')!.sessions.has(c.sessionId));
      await others.check();
    });
  }
}

test('malformed input before HELLO ends the connection too', async (t) => {
  const { urls } = await startTestServer(t);
  const others = await bystanders(t, urls);
  const c = await RawWamp.ws(t, urls.wamp as string, { serializer: 'json' });
  c.sendBytes(Buffer.from('this is not json'));
  await expectViolation(t, c);
  await others.check();
});

test('unknown or unexpected message types in an established session: ABORT protocol_violation', async (t) => {
  const { urls } = await startTestServer(t);
  const others = await bystanders(t, urls);
  for (const msg of [[999, 1, {}], [T.WELCOME, 1, {}], [T.HELLO, 'realm1', {}], [T.EVENT, 1, 1, {}], [T.PUBLISHED, 1, 1]]) {
    const c = await RawWamp.session(t, urls, { serializer: 'msgpack' });
    c.send(msg);
    await expectViolation(t, c);
  }
  await others.check();
});

test('a message before WELCOME (SUBSCRIBE as the first message, AUTHENTICATE without CHALLENGE): ABORT', async (t) => {
  const { urls, router } = await startTestServer(t);
  const others = await bystanders(t, urls);
  const c = await RawWamp.ws(t, urls.wamp as string);
  c.send([T.SUBSCRIBE, 1, {}, 'com.early']);
  await expectViolation(t, c);
  const c2 = await RawWamp.rawsocket(t, urls.rawsocket as string, { serializer: 'cbor' });
  c2.send([T.AUTHENTICATE, 'sig', {}]);
  await expectViolation(t, c2);
  t.is(router.realms.get('realm1')!.broker.lookup({ match: 'exact', levels: ['com', 'early'], multi: false, uri: 'com.early' }), undefined);
  await others.check();
});

test('a message after GOODBYE is not processed; the connection closes', async (t) => {
  const { urls, router } = await startTestServer(t);
  const others = await bystanders(t, urls);
  const c = await RawWamp.session(t, urls);
  c.goodbye();
  c.send([T.SUBSCRIBE, 7, {}, 'com.after.goodbye']);
  c.send([T.CALL, 8, {}, 'com.ping']);
  const g = await c.nextOf(T.GOODBYE);
  t.is(g[2], 'wamp.close.goodbye_and_out');
  await c.closed;
  t.is(c.inbox.length, 0, `nothing answered after GOODBYE: ${JSON.stringify(c.inbox)}`);
  t.is(router.realms.get('realm1')!.broker.lookup({ match: 'exact', levels: ['com', 'after', 'goodbye'], multi: false, uri: 'com.after.goodbye' }), undefined);
  await others.check();
});

test('a message after the router said GOODBYE (killed session) is dropped until the client answers', async (t) => {
  const { urls, router } = await startTestServer(t);
  const others = await bystanders(t, urls);
  // an in-process (trusted) client: the default realm's anonymous role may not kill
  const admin = (router as KitsuneRouter).connect('realm1');
  t.teardown(() => admin.close());
  const c = await RawWamp.session(t, urls, { rawsocket: true, serializer: 'msgpack' });
  await admin.call('wamp.session.kill', [c.sessionId]);
  await c.nextOf(T.GOODBYE);
  c.send([T.SUBSCRIBE, 1, {}, 'com.zombie']);
  c.goodbye('wamp.close.goodbye_and_out');
  await c.closed;
  t.is(c.inbox.length, 0);
  t.is(router.realms.get('realm1')!.broker.lookup({ match: 'exact', levels: ['com', 'zombie'], multi: false, uri: 'com.zombie' }), undefined);
  await others.check();
});

const wrongTypes: [string, Msg][] = [
  ['request id as a string', [T.SUBSCRIBE, '1', {}, 'com.x']],
  ['request id 0', [T.CALL, 0, {}, 'com.ping']],
  ['request id above 2^53', [T.PUBLISH, 2 ** 53 + 2, {}, 'com.x']],
  ['request id not an integer', [T.REGISTER, 1.5, {}, 'com.x']],
  ['Options as a list', [T.PUBLISH, 1, [], 'com.x']],
  ['Options as a string', [T.CALL, 1, 'opts', 'com.ping']],
  ['URI as a number', [T.REGISTER, 1, {}, 42]],
  ['Arguments as a dict', [T.CALL, 1, {}, 'com.ping', { a: 1 }]],
  ['ArgumentsKw as a list', [T.PUBLISH, 1, {}, 'com.x', [], [1]]],
  ['too many elements', [T.SUBSCRIBE, 1, {}, 'com.x', 'extra']],
  ['too few elements', [T.CALL, 1, {}]],
  ['subscription id as a string', [T.UNSUBSCRIBE, 1, 'sub']],
  ['YIELD with a string invocation id', [T.YIELD, 'x', {}]],
  ['ERROR for a non-INVOCATION request type', [T.ERROR, T.CALL, 1, {}, 'com.err']],
  ['GOODBYE without a reason', [T.GOODBYE, {}]],
];

test('wrong argument types in a message: ABORT protocol_violation for that session only', async (t) => {
  const { urls, router } = await startTestServer(t);
  const others = await bystanders(t, urls);
  for (const [name, msg] of wrongTypes) {
    const c = await RawWamp.session(t, urls, { serializer: name.length % 2 ? 'json' : 'cbor', rawsocket: name.length % 3 === 0 });
    c.send(msg);
    const abort = await c.nextOf(T.ABORT).catch(() => undefined);
    t.is(abort?.[2], VIOLATION, name);
    await c.closed;
  }
  t.is(router.stats.protocolErrors, wrongTypes.length);
  await others.check();
});

test('HELLO with Details that are not a dict, or a realm that is not a string: ABORT', async (t) => {
  const { urls } = await startTestServer(t);
  const others = await bystanders(t, urls);
  for (const hello of [[T.HELLO, 'realm1', 'details'], [T.HELLO, 5, {}], [T.HELLO, 'realm1']]) {
    const c = await RawWamp.ws(t, urls.wamp as string);
    c.send(hello);
    await expectViolation(t, c);
  }
  await others.check();
});

test('a well-formed request with an invalid URI gets ERROR wamp.error.invalid_uri and the session goes on', async (t) => {
  const { urls } = await startTestServer(t);
  const others = await bystanders(t, urls);
  const c = await RawWamp.session(t, urls);
  const cases: [number, Msg][] = [];
  const req = (m: Msg): void => {
    cases.push([m[0] as number, m]);
    c.send(m);
  };
  req([T.SUBSCRIBE, c.id(), {}, 'com..empty']);
  req([T.SUBSCRIBE, c.id(), {}, 'com.with space']);
  req([T.SUBSCRIBE, c.id(), {}, '']);
  req([T.PUBLISH, c.id(), { acknowledge: true }, 'com.bad#hash']);
  req([T.PUBLISH, c.id(), { acknowledge: true }, 'wamp.reserved.topic']);
  req([T.CALL, c.id(), {}, 'com..ping']);
  req([T.REGISTER, c.id(), {}, 'com.bad uri']);
  req([T.REGISTER, c.id(), {}, 'wamp.my.proc']);
  req([T.REGISTER, c.id(), { match: 'prefix' }, 'com..x']);
  for (const [type, m] of cases) {
    const e = await c.reply(type, m[1] as number);
    t.deepEqual(e.slice(0, 3), [T.ERROR, type, m[1]], JSON.stringify(m));
    t.is(e[4], 'wamp.error.invalid_uri', JSON.stringify(m));
  }
  // still open and working
  await c.subscribe('com.fine');
  t.false(c.isClosed);
  await others.check();
});

test('a well-formed request with an option of the wrong type gets ERROR wamp.error.invalid_argument', async (t) => {
  const { urls } = await startTestServer(t);
  const c = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  const cases: Msg[] = [
    [T.SUBSCRIBE, c.id(), { match: 5 }, 'com.x'],
    [T.SUBSCRIBE, c.id(), { match: 'fuzzy' }, 'com.x'],
    [T.PUBLISH, c.id(), { acknowledge: true, exclude: 'me' }, 'com.x'],
    [T.PUBLISH, c.id(), { acknowledge: true, eligible_authid: [1, 2] }, 'com.x'],
    [T.CALL, c.id(), { timeout: 'soon' }, 'com.x'],
    [T.REGISTER, c.id(), { invoke: 'everyone' }, 'com.x'],
  ];
  for (const m of cases) c.send(m);
  for (const m of cases) {
    const e = await c.reply(m[0] as number, m[1] as number);
    t.is(e[0], T.ERROR, JSON.stringify(m));
    t.is(e[4], 'wamp.error.invalid_argument', JSON.stringify(m));
  }
  t.true(await c.quiet(50, (m) => m[0] === T.ABORT));
});

test('an oversized message over WebSocket closes that connection (1009); others unaffected', async (t) => {
  const { urls, router } = await startTestServer(t, { limits: { maxMessageBytes: 1024 } });
  const others = await bystanders(t, urls);
  const c = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  c.publish('com.small', ['x'.repeat(500)]); // under the limit: fine
  c.publish('com.big', ['x'.repeat(2000)]);
  await c.closed;
  t.is(c.closeCode, 1009);
  t.is(router.stats.protocolErrors, 1);
  t.false(router.realms.get('realm1')!.sessions.has(c.sessionId));
  await others.check();
});

test('an oversized message over RawSocket: ABORT protocol_violation and close; the handshake announced the limit', async (t) => {
  const { urls, router } = await startTestServer(t, { limits: { maxMessageBytes: 1024 } });
  const others = await bystanders(t, urls);
  // handshake: the router announces 2^(9+1) = 1024 as its maximum
  const sock = net.connect(Number(new URL(urls.rawsocket as string).port), '127.0.0.1');
  t.teardown(() => sock.destroy());
  sock.write(Buffer.from([0x7f, 0xf1, 0, 0]));
  const reply = await new Promise<Buffer>((r) => sock.once('data', r));
  t.deepEqual([...reply.subarray(0, 4)], [0x7f, 0x11, 0, 0]);
  sock.destroy();

  const c = await RawWamp.session(t, urls, { rawsocket: true, serializer: 'json' });
  c.publish('com.big', ['x'.repeat(2000)]);
  await expectViolation(t, c);
  t.is(router.stats.protocolErrors, 1);
  await others.check();
});

test('a RawSocket frame with an invalid frame type is a protocol violation', async (t) => {
  const { urls } = await startTestServer(t);
  const others = await bystanders(t, urls);
  const c = await RawWamp.session(t, urls, { rawsocket: true, serializer: 'msgpack' });
  c.socket.write(Buffer.from([0x07, 0, 0, 1, 0x90]));
  await expectViolation(t, c);
  await others.check();
});

/** Opens a plain TCP connection, writes `bytes`, and collects everything until the router closes it. */
async function rawTcp(t: ExecutionContext, urls: Record<string, string>, bytes: Buffer): Promise<Buffer> {
  const sock = net.connect(Number(new URL(urls.rawsocket as string).port), '127.0.0.1');
  t.teardown(() => sock.destroy());
  sock.on('error', () => undefined);
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  sock.write(bytes);
  let timer: NodeJS.Timeout | undefined;
  const byRouter = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 3000)))]);
  clearTimeout(timer);
  t.true(byRouter, 'the router closed the connection');
  return Buffer.concat(chunks);
}

test('RawSocket handshake with an unsupported serializer: error handshake (code 1) and close', async (t) => {
  const { urls } = await startTestServer(t);
  const others = await bystanders(t, urls);
  for (const serializerId of [0, 4, 5, 15]) {
    const got = await rawTcp(t, urls, Buffer.from([0x7f, 0xf0 | serializerId, 0, 0]));
    t.deepEqual([...got], [0x7f, 0x10, 0, 0], `serializer ${serializerId}`);
  }
  await others.check();
});

test('RawSocket handshake with reserved bytes set: error handshake (code 3) and close', async (t) => {
  const { urls } = await startTestServer(t);
  const others = await bystanders(t, urls);
  const got = await rawTcp(t, urls, Buffer.from([0x7f, 0xf2, 0, 1]));
  t.deepEqual([...got], [0x7f, 0x30, 0, 0]);
  await others.check();
});

test('a bad magic byte is not taken for RawSocket: no RawSocket reply, the connection is closed', async (t) => {
  const { urls } = await startTestServer(t);
  const others = await bystanders(t, urls);
  for (const magic of [0x7e, 0x00, 0xff]) {
    const got = await rawTcp(t, urls, Buffer.from([magic, 0xf1, 0, 0, 0, 0, 0, 0]));
    t.not(got[0], 0x7f, `magic 0x${magic.toString(16)}: ${got.toString('hex')}`);
  }
  await others.check();
});

test.serial('slow consumer: a subscriber that stops reading loses events (counted), the router buffers a bounded amount, another subscriber gets everything at full speed', async (t) => {
  const soft = 256 * 1024;
  const hard = 8 * 1024 * 1024;
  const { urls, router } = await startTestServer(t, { limits: { sendBufferSoftBytes: soft, sendBufferHardBytes: hard } });
  const realm = router.realms.get('realm1')!;
  const N = 3000;
  const payload = Buffer.alloc(8 * 1024, 7);
  const publisher = await RawWamp.session(t, urls, { rawsocket: true, serializer: 'msgpack' });

  const fast = await RawWamp.session(t, urls, { rawsocket: true, serializer: 'msgpack' });
  await fast.subscribe('com.flood');
  fast.keepRawFrames = false;
  let received = 0;
  let inOrder = true;
  fast.tap = (m) => {
    if (m[0] !== T.EVENT) return false;
    if ((m[4] as number[])[0] !== received) inOrder = false;
    received++;
    return true;
  };

  /** Publishes N events in acknowledged batches; returns ms until the fast subscriber had them all. */
  async function flood(onBatch: () => void): Promise<number> {
    received = 0;
    const start = Date.now();
    for (let i = 0; i < N; i++) {
      publisher.publish('com.flood', [i, payload]);
      if (i % 100 === 99) {
        await publisher.publishAck('com.flood.sync', []);
        onBatch();
      }
    }
    await until(() => received === N, 20_000, `all ${N} events at the fast subscriber (got ${received})`);
    return Date.now() - start;
  }

  const baseline = await flood(() => undefined);
  t.true(inOrder);

  const slow = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  await slow.subscribe('com.flood');
  slow.keepRawFrames = false;
  slow.socket.pause(); // stops reading: the kernel buffers fill, then the router's
  const slowSession = realm.sessions.get(slow.sessionId)!;
  let maxBuffered = 0;
  // What the router holds for its clients: the bytes queued on every session's transport.
  let maxTotalBuffered = 0;
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = 0;
  const withSlow = await flood(() => {
    if (slowSession.isOpen) maxBuffered = Math.max(maxBuffered, slowSession.peer.bufferedBytes!());
    let total = 0;
    for (const s of realm.sessions.values()) total += s.peer.bufferedBytes?.() ?? 0;
    maxTotalBuffered = Math.max(maxTotalBuffered, total);
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss - rssBefore);
  });
  t.true(inOrder, 'the fast subscriber got every event, in order');
  t.is(received, N);
  t.true(router.stats.droppedEvents > 0 || router.stats.slowConsumersDisconnected > 0, JSON.stringify(router.stats));
  t.true(router.stats.droppedEvents > N / 2, `most events to the slow consumer were dropped: ${router.stats.droppedEvents}`);
  t.true(maxBuffered <= soft + payload.length + 1024, `router buffer for the slow consumer stays bounded: ${maxBuffered}`);
  t.true(maxBuffered > 0, 'the slow consumer did back up');
  const flooded = N * payload.length;
  const sessions = realm.sessions.size;
  t.true(maxTotalBuffered <= sessions * (soft + payload.length + 1024), `all send buffers together stay bounded: ${maxTotalBuffered} for ${sessions} sessions`);
  t.true(withSlow < baseline * 5 + 2000, `fast subscriber not slowed down: ${withSlow} ms vs ${baseline} ms without the slow one`);
  // informational: this process also hosts every client of the test, so its RSS is only a rough guide
  t.log({ baseline, withSlow, maxBuffered, maxTotalBuffered, dropped: router.stats.droppedEvents, flooded, rssGrowth: rssPeak });
});

test.serial('slow consumer past the hard limit is disconnected; the others carry on', async (t) => {
  const soft = 64 * 1024;
  const hard = 256 * 1024;
  const { urls, router } = await startTestServer(t, { limits: { sendBufferSoftBytes: soft, sendBufferHardBytes: hard } });
  const others = await bystanders(t, urls);
  const realm = router.realms.get('realm1')!;
  const publisher = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  const slow = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  await slow.subscribe('com.big');
  slow.keepRawFrames = false;
  slow.socket.pause();
  const fast = await RawWamp.session(t, urls, { rawsocket: true, serializer: 'msgpack' });
  await fast.subscribe('com.big');
  let received = 0;
  fast.keepRawFrames = false;
  fast.tap = (m) => m[0] === T.EVENT && ++received > 0;
  // events bigger than hard - soft: one accepted past the soft limit takes the buffer past the hard one
  const big = Buffer.alloc(512 * 1024, 1);
  let sent = 0;
  while (realm.sessions.has(slow.sessionId) && sent < 200) {
    await publisher.publishAck('com.big', [big]);
    sent++;
  }
  t.false(realm.sessions.has(slow.sessionId), 'the slow consumer was disconnected');
  t.is(router.stats.slowConsumersDisconnected, 1);
  await until(() => received === sent, 10_000, 'the fast subscriber got every event');
  await others.check();
});

test('autobahn clients keep working next to a flood of bad connections', async (t) => {
  const { urls } = await startTestServer(t);
  const others = await bystanders(t, urls);
  const bad = [Buffer.from('garbage'), Buffer.from([0xc1]), Buffer.from('[]'), Buffer.from('[1]'), Buffer.from('["x"]')];
  await Promise.all(
    bad.map(async (bytes) => {
      const c = await RawWamp.ws(t, urls.wamp as string, { serializer: 'json' });
      c.sendBytes(bytes);
      await c.closed;
    }),
  );
  const s = (await connectAutobahn(t, urls, { serializer: 'cbor' })) as autobahn.Session;
  t.true(s.isOpen);
  await others.check();
});

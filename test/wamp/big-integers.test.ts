// Issue 18 item 1: integers beyond ±2^53 (up to the 64-bit range) pass unchanged. A JSON literal,
// a MessagePack int 64 / uint 64 or a CBOR integer in PUBLISH, CALL, YIELD or ERROR arrives in EVENT,
// INVOCATION, RESULT and ERROR as the same integer, for every pair of serializers, through retained
// values, history (memory and SQLite, across a restart) and MQTT.
//
// Raw frames (test/helpers/raw-wamp.ts) do most of the work: autobahn-js cannot carry such integers
// in JSON (JSON.parse rounds, JSON.stringify throws on BigInt) or MessagePack (msgpack5 rounds and
// cannot encode a BigInt); its CBOR serializer (node-cbor, BigInt as bignum tags) is driven below,
// and so is wampy with MessagePack and CBOR (the latter without its default int64AsNumber, which rounds).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import autobahn from 'autobahn';
import { Wampy } from 'wampy';
import { CborSerializer } from 'wampy/CborSerializer.js';
import { MsgpackSerializer } from 'wampy/MsgpackSerializer.js';
import WebSocket from 'ws';
import { silentLogger } from '../../lib/core/log.ts';
import { openRealm, type RealmConfig } from '../../lib/index.ts';
import { defaultConfig } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { collect as collectAutobahn, deferred } from '../helpers/autobahn.ts';
import { collect as collectMqtt, connect } from '../helpers/mqtt-harness.ts';
import { RawWamp, T, type Msg } from '../helpers/raw-wamp.ts';
import { startTestServer } from '../helpers/server.ts';
import { connectAutobahn, type SerializerName } from '../helpers/wamp.ts';

const SERIALIZERS: SerializerName[] = ['json', 'msgpack', 'cbor'];

/** −2^63, 2^64 − 1, 2^53 + 1 and a nanosecond timestamp. */
const BIG = [-(2n ** 63n), 2n ** 64n - 1n, 2n ** 53n + 1n, 1558266424841951553n];
const BIG_TEXT = '[-9223372036854775808,18446744073709551615,9007199254740993,1558266424841951553]';
const KW = { id: 1558266424841951553n, min: -(2n ** 63n), small: 7 };
const KW_TEXT = '{"id":1558266424841951553,"min":-9223372036854775808,"small":7}';

function u64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}

/** BIG as each serializer writes it: integers, never floats. */
const WIRE: Record<SerializerName, Buffer> = {
  json: Buffer.from(BIG_TEXT.slice(1, -1)),
  // int 64 where it fits, else uint 64 (msgpackr's choice; Python's msgpack writes uint 64 for all positives)
  msgpack: Buffer.concat(BIG.map((v) => Buffer.concat([Buffer.from([v < 2n ** 63n ? 0xd3 : 0xcf]), u64(BigInt.asUintN(64, v))]))),
  cbor: Buffer.concat(BIG.map((v) => Buffer.concat([Buffer.from([v < 0n ? 0x3b : 0x1b]), u64(v < 0n ? -v - 1n : v)]))),
};

const realm: RealmConfig = { ...openRealm('realm1'), history: [{ uri: 'big.hist', match: 'prefix', maxCount: 100 }] };

/** The raw frame `c` received for the message `m` (the last one of its type and ids). */
function frameOf(c: RawWamp, m: Msg): Buffer {
  const ids = m[0] === T.ERROR ? 3 : 2;
  const frames = c.rawFrames.filter((f) => {
    const d = c.serializer.decode(f);
    return d.slice(0, ids).every((x, i) => x === m[i]);
  });
  const f = frames[frames.length - 1];
  if (f === undefined) throw new Error('no such frame');
  return f;
}

/** The message holds BIG and KW from index `at` on, and its frame writes them as integers. */
function holdsBig(t: ExecutionContext, c: RawWamp, m: Msg, at: number, what: string): void {
  t.deepEqual(m.slice(at), [BIG, KW], what);
  const frame = frameOf(c, m);
  t.true(frame.includes(WIRE[c.serializer.name]), `${what}: integers on the wire (${c.serializer.name}) ${frame.toString('hex')}`);
  if (c.serializer.name === 'json') t.true(frame.toString().includes(`${BIG_TEXT},${KW_TEXT}`), `${what}: ${frame.toString()}`);
}

for (const from of SERIALIZERS) {
  for (const to of SERIALIZERS) {
    test(`${from} → ${to}: PUBLISH→EVENT, CALL→INVOCATION, YIELD→RESULT and ERROR→ERROR keep 64-bit integers exact`, async (t) => {
      const { urls } = await startTestServer(t);
      // The receiving side over RawSocket, the sending side over WebSocket.
      const peer = await RawWamp.session(t, urls, { serializer: to, rawsocket: true });
      await peer.subscribe('big.event');
      await peer.register('big.proc');
      const client = await RawWamp.session(t, urls, { serializer: from });

      const published = await client.publishAck('big.event', BIG, KW);
      t.is(published[0], T.PUBLISHED);
      holdsBig(t, peer, await peer.nextOf(T.EVENT), 4, 'EVENT');

      const call = client.call('big.proc', BIG, KW);
      const invocation = await peer.nextOf(T.INVOCATION);
      holdsBig(t, peer, invocation, 4, 'INVOCATION');
      peer.send([T.YIELD, invocation[1], {}, BIG, KW]);
      const result = await client.callOutcome(call);
      t.is(result[0], T.RESULT);
      holdsBig(t, client, result, 3, 'RESULT');

      const failing = client.call('big.proc', [1]);
      const second = await peer.nextOf(T.INVOCATION);
      t.deepEqual(second[4], [1]);
      peer.send([T.ERROR, T.INVOCATION, second[1], {}, 'com.example.big', BIG, KW]);
      const error = await client.callOutcome(failing);
      t.deepEqual(error.slice(0, 5), [T.ERROR, T.CALL, failing, {}, 'com.example.big']);
      holdsBig(t, client, error, 5, 'ERROR');

      // and back: the receiver's serializer publishes to the sender's
      await client.subscribe('big.back');
      await peer.publishAck('big.back', BIG, KW);
      holdsBig(t, client, await client.nextOf(T.EVENT), 4, 'EVENT back');
    });
  }
}

test('2^53 stays a Number; literals past the 64-bit range become Numbers as before', async (t) => {
  const { urls } = await startTestServer(t);
  const sub = await RawWamp.session(t, urls, { serializer: 'json' });
  const msgpackSub = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  for (const s of [sub, msgpackSub]) await s.subscribe('big.edge');
  const pub = await RawWamp.session(t, urls, { serializer: 'json' });
  pub.sendBytes(Buffer.from('[16,1,{},"big.edge",[9007199254740992,-9007199254740992,18446744073709551616,-9223372036854775809]]'));
  for (const s of [sub, msgpackSub]) {
    const e = await s.nextOf(T.EVENT);
    t.deepEqual(e[4], [2 ** 53, -(2 ** 53), 2 ** 64, -(2 ** 63)]);
    t.true((e[4] as unknown[]).every((x) => typeof x === 'number'));
  }
});

for (const serializer of SERIALIZERS) {
  test(`${serializer}: a request id beyond 2^53 (a BigInt now) is refused with ABORT protocol_violation`, async (t) => {
    const { urls } = await startTestServer(t);
    const c = await RawWamp.session(t, urls, { serializer });
    c.send([T.PUBLISH, 2n ** 53n + 1n, {}, 'big.x', BIG]);
    const abort = await c.nextOf(T.ABORT);
    t.is(abort[2], 'wamp.error.protocol_violation');
    await c.closed;
    const other = await RawWamp.session(t, urls, { serializer });
    t.true((await other.publishAck('big.x', BIG))[0] === T.PUBLISHED, 'the router carries on');
  });
}

/** Publishes BIG/KW retained and into history from each serializer, on topics named after it. */
async function publishStored(t: ExecutionContext, urls: Record<string, string>): Promise<void> {
  for (const from of SERIALIZERS) {
    const pub = await RawWamp.session(t, urls, { serializer: from });
    t.is((await pub.publishAck(`big.ret.${from}`, BIG, KW, { retain: true }))[0], T.PUBLISHED);
    t.is((await pub.publishAck(`big.hist.${from}`, BIG, KW))[0], T.PUBLISHED);
    pub.goodbye();
  }
}

/** Every serializer reads back every serializer's retained value and history. */
async function readStored(t: ExecutionContext, urls: Record<string, string>, when: string): Promise<void> {
  for (const to of SERIALIZERS) {
    const sub = await RawWamp.session(t, urls, { serializer: to });
    for (const from of SERIALIZERS) {
      await sub.subscribe(`big.ret.${from}`, { get_retained: true });
      holdsBig(t, sub, await sub.nextOf(T.EVENT), 4, `${when}: retained ${from} → ${to}`);
      await sub.subscribe(`big.hist.${from}`, { after: 0 });
      holdsBig(t, sub, await sub.nextOf(T.EVENT), 4, `${when}: history ${from} → ${to}`);
    }
  }
}

test('retained values and history replays keep 64-bit integers exact, every serializer to every other', async (t) => {
  const { urls } = await startTestServer(t, { realms: [realm] });
  await publishStored(t, urls);
  await readStored(t, urls, 'memory');
});

test('on SQLite, retained values and history keep 64-bit integers exact across a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-bigint-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const open = async (): Promise<RunningServer> => {
    const server = await startServer({ ...defaultConfig(), port: 0, mqttPort: null, memory: false, dataDir: dir, router: { realms: [realm] } }, silentLogger);
    t.teardown(() => server.close());
    return server;
  };
  const first = await open();
  await publishStored(t, first.urls);
  await first.close();
  const second = await open();
  await readStored(t, second.urls, 'after restart');
});

test('MQTT: a WAMP publication reaches MQTT as the exact JSON literal, and an MQTT JSON literal reaches WAMP as BigInt', async (t) => {
  const server = await startTestServer(t, {}, { mqttPort: 0 });
  const { urls } = server;
  const mqttSub = await connect(urls.mqtt as string);
  t.teardown(() => mqttSub.end(true));
  await mqttSub.subscribeAsync('big/to/mqtt/+', { qos: 1 });
  const received = collectMqtt(mqttSub);
  for (const from of SERIALIZERS) {
    const pub = await RawWamp.session(t, urls, { serializer: from });
    await pub.publishAck(`big.to.mqtt.${from}`, [BIG]);
    await pub.publishAck(`big.to.mqtt.${from}`, [], KW);
  }
  const messages = await received.waitFor(6);
  for (const from of SERIALIZERS) {
    const texts = messages.filter((m) => m.topic === `big/to/mqtt/${from}`).map((m) => m.payload.toString());
    t.deepEqual(texts, [BIG_TEXT, KW_TEXT], from);
  }

  const subs = await Promise.all(SERIALIZERS.map((serializer) => RawWamp.session(t, urls, { serializer })));
  for (const s of subs) await s.subscribe('big.from.mqtt');
  const mqttPub = await connect(urls.mqtt as string);
  t.teardown(() => mqttPub.end(true));
  const body = `{"list":${BIG_TEXT},"kw":${KW_TEXT}}`;
  await mqttPub.publishAsync('big/from/mqtt', body, { qos: 1 });
  for (const s of subs) {
    const e = await s.nextOf(T.EVENT);
    t.deepEqual(e[4], [{ list: BIG, kw: KW }], s.serializer.name);
    const frame = frameOf(s, e);
    t.true(frame.includes(WIRE[s.serializer.name]), `${s.serializer.name}: ${frame.toString('hex')}`);
    if (s.serializer.name === 'json') t.true(frame.toString().endsWith(`[${body}]]`), frame.toString());
  }
});

test('autobahn with CBOR publishes, subscribes, calls and answers with BigInt, exactly', async (t) => {
  const { urls } = await startTestServer(t);
  const session = await connectAutobahn(t, urls, { serializer: 'cbor' });
  const events = await collectAutobahn(session, 'big.ab');
  await session.register('big.ab.echo', (args, kwargs) => new autobahn.Result([...(args ?? []), ...BIG], kwargs));
  const raw = await RawWamp.session(t, urls, { serializer: 'json' });
  await raw.subscribe('big.ab');

  // autobahn publishes (node-cbor writes BigInt as bignum tags); the JSON subscriber gets literals
  await session.publish('big.ab', BIG as unknown as unknown[], KW as unknown as Record<string, unknown>, { acknowledge: true, exclude_me: false });
  holdsBig(t, raw, await raw.nextOf(T.EVENT), 4, 'autobahn → json EVENT');
  const [first] = await events.waitFor(1);
  t.deepEqual(first?.args, BIG);
  t.deepEqual(first?.kwargs, KW);

  // a JSON publisher's literals reach autobahn as BigInt
  await raw.publishAck('big.ab', BIG, KW);
  const [, second] = await events.waitFor(2);
  t.deepEqual(second?.args, BIG);
  t.deepEqual(second?.kwargs, KW);

  // a JSON caller, autobahn as the callee: INVOCATION in, RESULT out
  const call = raw.call('big.ab.echo', [1], KW);
  const result = await raw.callOutcome(call);
  t.deepEqual(result.slice(3), [[1, ...BIG], KW]);

  // autobahn as the caller: a JSON callee answers
  await raw.register('big.ab.json');
  const pending = session.call('big.ab.json', BIG as unknown as unknown[]);
  const invocation = await raw.nextOf(T.INVOCATION);
  t.deepEqual(invocation[4], BIG);
  raw.send([T.YIELD, invocation[1], {}, BIG, KW]);
  const answer = (await pending) as unknown as { args: unknown[]; kwargs: Record<string, unknown> };
  t.deepEqual(answer.args, BIG);
  t.deepEqual(answer.kwargs, KW);
});

async function connectWampy(t: ExecutionContext, urls: Record<string, string>, serializer: 'msgpack' | 'cbor'): Promise<Wampy> {
  const w = new Wampy(urls.wamp as string, {
    realm: 'realm1',
    autoReconnect: false,
    ws: WebSocket as unknown as NonNullable<ConstructorParameters<typeof Wampy>[1]>['ws'],
    // wampy's default CBOR options round 64-bit integers (int64AsNumber); these are its defaults without that
    serializer: serializer === 'msgpack' ? new MsgpackSerializer() : new CborSerializer({ useRecords: false, mapsAsObjects: true, largeBigIntToFloat: true }),
  });
  await w.connect();
  t.teardown(() => w.disconnect().catch(() => undefined));
  return w;
}

/** `p`, or a rejection after `ms`: wampy's promises have no deadline of their own. */
function within<T>(p: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

for (const serializer of ['msgpack', 'cbor'] as const) {
  test(`wampy with ${serializer} publishes, subscribes, calls and answers with BigInt, exactly`, async (t) => {
    const { urls } = await startTestServer(t);
    const w = await connectWampy(t, urls, serializer);
    const subscriber = await connectWampy(t, urls, serializer);
    const raw = await RawWamp.session(t, urls, { serializer: 'json' });
    await raw.subscribe('big.wampy');
    const got = deferred<{ argsList?: unknown[]; argsDict?: Record<string, unknown> }>();
    await subscriber.subscribe('big.wampy', (e) => got.resolve(e));

    await within(w.publish('big.wampy', { argsList: BIG, argsDict: KW }), 'publish');
    holdsBig(t, raw, await raw.nextOf(T.EVENT), 4, `wampy ${serializer} → json EVENT`);
    const e = await within(got.promise, 'the wampy subscriber\'s event');
    t.deepEqual([e.argsList, e.argsDict], [BIG, KW]);

    await w.register('big.wampy.echo', (inv) => ({ argsList: [...(inv.argsList ?? []), ...BIG], argsDict: inv.argsDict }));
    const call = raw.call('big.wampy.echo', [1], KW);
    t.deepEqual((await raw.callOutcome(call)).slice(3), [[1, ...BIG], KW]);
    await raw.register('big.wampy.json');
    const pending = within(w.call('big.wampy.json', { argsList: BIG }), 'call');
    const invocation = await raw.nextOf(T.INVOCATION);
    t.deepEqual(invocation[4], BIG);
    raw.send([T.YIELD, invocation[1], {}, BIG, KW]);
    const r = await pending;
    t.deepEqual([r.argsList, r.argsDict], [BIG, KW]);
  });
}

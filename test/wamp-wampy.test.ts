// wampy 8 against the router: connect, pub/sub, RPC, progressive calls, errors, with the json and
// msgpack serializers, and next to autobahn clients.
import test, { type ExecutionContext } from 'ava';
import { Wampy } from 'wampy';
import { MsgpackSerializer } from 'wampy/MsgpackSerializer.js';
import { CborSerializer } from 'wampy/CborSerializer.js';
import WebSocket from 'ws';
import autobahn from 'autobahn';
import { collect, deferred } from './helpers/autobahn.ts';
import { RawWamp, T } from './helpers/raw-wamp.ts';
import { startTestServer } from './helpers/server.ts';
import { connectAutobahn } from './helpers/wamp.ts';

type WampyOptions = ConstructorParameters<typeof Wampy>[1];

async function connectWampy(t: ExecutionContext, urls: Record<string, string>, serializer: 'json' | 'msgpack' | 'cbor', extra: WampyOptions = {}): Promise<Wampy> {
  const options: WampyOptions = {
    realm: 'realm1',
    autoReconnect: false,
    ws: WebSocket as unknown as NonNullable<WampyOptions>['ws'],
    ...extra,
  };
  if (serializer === 'msgpack') options!.serializer = new MsgpackSerializer();
  if (serializer === 'cbor') options!.serializer = new CborSerializer();
  const w = new Wampy(urls.wamp as string, options);
  await w.connect();
  t.teardown(async () => {
    await w.disconnect().catch(() => undefined);
  });
  return w;
}

for (const serializer of ['json', 'msgpack'] as const) {
  test(`wampy ${serializer}: connect, subscribe/publish, register/call`, async (t) => {
    const { urls, router } = await startTestServer(t);
    const a = await connectWampy(t, urls, serializer);
    const b = await connectWampy(t, urls, serializer);
    // wampy's msgpackr decodes uint64 as BigInt: session ids above 2^32 arrive as bigint there
    const id = Number(a.getSessionId());
    t.true(Number.isInteger(id) && id >= 1 && id <= 2 ** 53);
    t.is(router.realms.get('realm1')!.sessions.get(id)?.identity.transport.serializer, serializer);

    const got = deferred<{ argsList?: unknown[]; argsDict?: Record<string, unknown>; details: Record<string, unknown> }>();
    await b.subscribe('com.wampy.topic', (e) => got.resolve(e));
    const pub = await a.publish('com.wampy.topic', { argsList: [1, 'two'], argsDict: { three: 3 } }, { exclude_me: false });
    t.true(Number.isInteger(Number(pub.publicationId)) && Number(pub.publicationId) >= 1);
    const e = await got.promise;
    t.deepEqual(e.argsList, [1, 'two']);
    t.deepEqual(e.argsDict, { three: 3 });

    await b.register('com.wampy.add', (inv) => ({ argsList: [((inv.argsList ?? []) as number[]).reduce((x, y) => x + y, 0)] }));
    const r = await a.call('com.wampy.add', [20, 22]);
    t.deepEqual(r.argsList, [42]);

    const err = (await t.throwsAsync(a.call('com.wampy.missing'))) as unknown as { errorUri: string };
    t.is(err.errorUri, 'wamp.error.no_such_procedure');
  });
}

test('wampy msgpack: pattern subscription with details.topic and a prefix registration with details.procedure', async (t) => {
  const { urls } = await startTestServer(t);
  const a = await connectWampy(t, urls, 'msgpack');
  const b = await connectWampy(t, urls, 'msgpack');
  const ev = deferred<Record<string, unknown>>();
  await b.subscribe('com.wampy', (e) => ev.resolve(e.details), { match: 'prefix' });
  await a.publish('com.wampy.deep.topic', ['x']);
  t.is((await ev.promise).topic, 'com.wampy.deep.topic');
  await b.register('com.wampy.proc', (inv) => ({ argsList: [inv.details.procedure] }), { match: 'prefix' });
  t.deepEqual((await a.call('com.wampy.proc.sub')).argsList, ['com.wampy.proc.sub']);
});

test('wampy progressiveCall: progressive call invocations reach the callee as one invocation', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  await callee.register('com.wampy.sum');
  const caller = await connectWampy(t, urls, 'json');
  const pc = caller.progressiveCall('com.wampy.sum', [1]);
  const first = await callee.nextOf(T.INVOCATION);
  t.is((first[3] as { progress?: boolean }).progress, true);
  pc.sendData([2]);
  pc.sendData([3], { progress: false });
  const second = await callee.nextOf(T.INVOCATION);
  const last = await callee.nextOf(T.INVOCATION);
  t.is(second[1], first[1]);
  t.is(last[1], first[1]);
  t.is((second[3] as { progress?: boolean }).progress, true);
  t.falsy((last[3] as { progress?: boolean }).progress);
  const sum = [first, second, last].reduce((s, m) => s + (m[4] as number[])[0]!, 0);
  callee.send([T.YIELD, first[1], {}, [sum]]);
  t.deepEqual((await pc.result).argsList, [6]);
});

test('wampy progress_callback receives progressive results from an autobahn callee', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await connectAutobahn(t, urls, { serializer: 'msgpack' });
  await callee.register('com.wampy.steps', (_a, _k, d) => {
    d?.progress?.(['step 1'], {});
    d?.progress?.(['step 2'], {});
    return 'finished';
  });
  const caller = await connectWampy(t, urls, 'msgpack');
  const progress: unknown[] = [];
  const r = await caller.call('com.wampy.steps', null, { progress_callback: (p) => void progress.push(p.argsList?.[0]) });
  t.deepEqual(progress, ['step 1', 'step 2']);
  t.deepEqual(r.argsList, ['finished']);
});

test('wampy and autobahn in one realm: events and calls both ways, binary with msgpack/cbor', async (t) => {
  const { urls } = await startTestServer(t);
  const w = await connectWampy(t, urls, 'cbor');
  const ab = await connectAutobahn(t, urls, { serializer: 'msgpack' });
  const blob = Buffer.from([0, 1, 2, 250]);
  const fromWampy = await collect(ab, 'com.mix.w2a');
  await w.publish('com.mix.w2a', [blob, 'w']);
  const [e] = await fromWampy.waitFor(1);
  t.true(Buffer.from(e!.args[0] as Uint8Array).equals(blob));
  t.is(e!.args[1], 'w');

  const toWampy = deferred<unknown[]>();
  await w.subscribe('com.mix.a2w', (ev) => toWampy.resolve(ev.argsList ?? []));
  await ab.publish('com.mix.a2w', ['a', blob], {}, { acknowledge: true });
  const args = await toWampy.promise;
  t.is(args[0], 'a');
  t.true(Buffer.from(args[1] as Uint8Array).equals(blob));

  await ab.register('com.mix.ab', (a) => new autobahn.Result(['ab', ...(a as unknown[])]));
  t.deepEqual((await w.call('com.mix.ab', [1])).argsList, ['ab', 1]);
  await w.register('com.mix.w', (inv) => ({ argsList: ['w', ...(inv.argsList ?? [])] }));
  t.deepEqual(((await ab.call('com.mix.w', [2])) as autobahn.Result).args, ['w', 2]);
});

test('wampy: publisher exclusion (default) and disclose_me', async (t) => {
  const { urls } = await startTestServer(t);
  const a = await connectWampy(t, urls, 'json');
  const b = await connectWampy(t, urls, 'json');
  const mine: unknown[] = [];
  const theirs = deferred<Record<string, unknown>>();
  const marker = deferred();
  await a.subscribe('com.w.excl', (e) => {
    mine.push(e.argsList?.[0]);
    if (e.argsList?.[0] === 'marker') marker.resolve();
  });
  await b.subscribe('com.w.excl', (e) => {
    if (e.argsList?.[0] === 'second') theirs.resolve(e.details);
  });
  await a.publish('com.w.excl', ['first']);
  await a.publish('com.w.excl', ['second'], { disclose_me: true });
  const d = await theirs.promise;
  t.is(Number(d.publisher), Number(a.getSessionId()));
  // (wampy never sends exclude_me: false, so only the default can be tested with it)
  await b.publish('com.w.excl', ['marker']);
  await marker.promise;
  t.deepEqual(mine, ['marker']);
});

// The in-process client API of lib/index.ts: createRouter() and router.connect(realm), with the same
// options as WAMP clients, and mixed with WAMP clients over sockets on the same router.
import test, { type ExecutionContext } from 'ava';
import autobahn from 'autobahn';
import { CallResult, createRouter, openRealm, RouterError, type ClientEvent, type ClientInvocation, type KitsuneRouter, type RealmConfig } from '../lib/index.ts';
import { silentLogger } from '../lib/core/log.ts';
import { createSharedListener } from '../server/listener.ts';
import { createWampGate } from '../lib/wamp/gate.ts';
import { acceptRawSocket } from '../lib/wamp/rawsocket.ts';
import { createWampWebSocketServer } from '../lib/wamp/websocket.ts';
import { callError, collect, Collector, deferred } from './helpers/autobahn.ts';
import { connectAutobahn } from './helpers/wamp.ts';

const all = { publish: true, subscribe: true, call: true, register: true };
const twoRoles: RealmConfig = {
  name: 'realm1',
  roles: [
    { name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: all }] },
    { name: 'service', permissions: [{ uri: '', match: 'prefix', allow: all }] },
    { name: 'readonly', permissions: [{ uri: 'com.', match: 'prefix', allow: { subscribe: true } }] },
  ],
  auth: { anonymous: { role: 'anonymous' } },
};

async function router(t: ExecutionContext, realms: RealmConfig[] = [openRealm('realm1')]): Promise<KitsuneRouter> {
  const r = createRouter({ realms });
  await r.open();
  t.teardown(() => r.close());
  return r;
}

/** Puts a WAMP WebSocket + RawSocket listener in front of an embedded router (what an application may do). */
async function serve(t: ExecutionContext, r: KitsuneRouter): Promise<Record<string, string>> {
  const accept = createWampGate(r, silentLogger);
  const opts = { maxMessageBytes: r.limits.maxMessageBytes };
  const wss = createWampWebSocketServer(accept, opts);
  const shared = createSharedListener({
    host: '127.0.0.1',
    port: 0,
    onHttp: (_req, res) => res.writeHead(404).end(),
    websocket: { wamp: (req, socket, head) => wss.handleUpgrade(req, socket, head) },
    onRawSocket: (socket, first) => acceptRawSocket(socket, first, accept, opts),
  });
  const { port } = await shared.listen();
  t.teardown(async () => {
    r.close();
    wss.close();
    await shared.close();
  });
  return { wamp: `ws://127.0.0.1:${port}/ws`, rawsocket: `tcp://127.0.0.1:${port}` };
}

function events(): Collector<ClientEvent> {
  return new Collector<ClientEvent>();
}

test('local publish/subscribe: args, kwargs, publisher exclusion, disclose_me, prefix match with topic', async (t) => {
  const r = await router(t);
  const a = r.connect('realm1', { authid: 'svc-a' });
  const b = r.connect('realm1');
  const atA = events();
  const atB = events();
  await a.subscribe('com.local.topic', atA.push);
  await b.subscribe('com.local', atB.push, { match: 'prefix' });
  const id = await a.publish('com.local.topic', [1, 'x'], { k: true });
  t.true(Number.isInteger(id) && id >= 1);
  await a.publish('com.local.topic', ['mine too'], undefined, { exclude_me: false, disclose_me: true });
  await b.publish('com.local.topic', ['from b']);
  await atB.waitFor(2);
  await atA.waitFor(2);
  t.deepEqual(atA.items.map((e) => e.args), [['mine too'], ['from b']]);
  t.deepEqual(atB.items.map((e) => [e.args, e.kwargs, e.topic]), [
    [[1, 'x'], { k: true }, 'com.local.topic'],
    [['mine too'], {}, 'com.local.topic'],
  ]);
  t.is(atB.items[0]?.publisher, undefined);
  t.like(atB.items[1]?.publisher, { session: a.id, authid: 'svc-a' });
});

test('local black/white listing and retained events', async (t) => {
  const r = await router(t, [twoRoles]);
  const pub = r.connect('realm1');
  const svc = r.connect('realm1', { authid: 'svc', authrole: 'service' });
  const ro = r.connect('realm1', { authid: 'reader', authrole: 'readonly' });
  const atSvc = events();
  const atRo = events();
  await svc.subscribe('com.bw', atSvc.push);
  await ro.subscribe('com.bw', atRo.push);
  await pub.publish('com.bw', ['only service'], undefined, { eligible_authrole: ['service'] });
  await pub.publish('com.bw', ['not reader'], undefined, { exclude_authid: ['reader'] });
  await pub.publish('com.bw', ['only ro'], undefined, { eligible: [ro.id] });
  await pub.publish('com.bw', ['not svc'], undefined, { exclude: [svc.id] });
  t.deepEqual((await atSvc.waitFor(2)).map((e) => e.args[0]), ['only service', 'not reader']);
  t.deepEqual((await atRo.waitFor(2)).map((e) => e.args[0]), ['only ro', 'not svc']);

  // the readonly role may not publish: a RouterError with not_authorized
  const err = await t.throwsAsync(ro.publish('com.bw', ['x']));
  t.true(err instanceof RouterError);
  t.is((err as RouterError).uri, 'wamp.error.not_authorized');

  await pub.publish('com.state', ['v1'], { n: 1 }, { retain: true });
  const late = events();
  await svc.subscribe('com.state', late.push, { get_retained: true });
  const [e] = await late.waitFor(1);
  t.deepEqual([e?.args, e?.kwargs, e?.retained], [['v1'], { n: 1 }, true]);
});

test('local RPC: results, CallResult, callee errors, no_such_procedure, disclose_me, prefix registrations', async (t) => {
  const r = await router(t);
  const callee = r.connect('realm1');
  const caller = r.connect('realm1', { authid: 'the-caller' });
  await callee.register('com.add', (inv) => (inv.args as number[]).reduce((x, y) => x + y, 0));
  await callee.register('com.pair', (inv) => new CallResult([inv.args[0], inv.kwargs.k], { echoed: true }));
  await callee.register('com.fail', () => {
    throw new RouterError('com.app.error.nope', 'nope', ['a', 1], { why: 'test' });
  });
  await callee.register('com.who', (inv) => [inv.details.caller ?? null, inv.details.callerAuthid ?? null]);
  await callee.register('com.any', (inv) => inv.procedure, { match: 'prefix' });

  t.deepEqual((await caller.call('com.add', [1, 2, 3])).args, [6]);
  const pair = await caller.call('com.pair', ['x'], { k: 'y' });
  t.deepEqual([pair.args, pair.kwargs], [['x', 'y'], { echoed: true }]);
  const e = (await t.throwsAsync(caller.call('com.fail'))) as RouterError;
  t.true(e instanceof RouterError);
  t.deepEqual([e.uri, e.args, e.kwargs], ['com.app.error.nope', ['a', 1], { why: 'test' }]);
  t.is(((await t.throwsAsync(caller.call('com.missing'))) as RouterError).uri, 'wamp.error.no_such_procedure');
  t.deepEqual((await caller.call('com.who')).args, [[null, null]]);
  t.deepEqual((await caller.call('com.who', [], undefined, { disclose_me: true })).args, [[caller.id, 'the-caller']]);
  t.deepEqual((await caller.call('com.anything.at.all')).args, ['com.anything.at.all']);
});

test('local RPC: progressive results, shared roundrobin, timeout and cancel reach the callee as an aborted signal', async (t) => {
  const r = await router(t);
  const c1 = r.connect('realm1');
  const c2 = r.connect('realm1');
  const caller = r.connect('realm1');

  await c1.register('com.steps', (inv) => {
    inv.progress(['one']);
    inv.progress(['two']);
    return 'three';
  });
  const progress: unknown[] = [];
  const res = await caller.call('com.steps', [], undefined, { onProgress: (p) => progress.push(p.args[0]) });
  t.deepEqual(progress, ['one', 'two']);
  t.deepEqual(res.args, ['three']);

  await c1.register('com.rr', () => 'c1', { invoke: 'roundrobin' });
  await c2.register('com.rr', () => 'c2', { invoke: 'roundrobin' });
  const rr: unknown[] = [];
  for (let i = 0; i < 4; i++) rr.push((await caller.call('com.rr')).args[0]);
  t.deepEqual(rr, ['c1', 'c2', 'c1', 'c2']);

  const aborted = new Collector<unknown>();
  const hang = (inv: ClientInvocation): Promise<never> =>
    new Promise((_res, rej) => {
      inv.signal.addEventListener('abort', () => {
        aborted.push((inv.signal.reason as RouterError).uri);
        rej(inv.signal.reason);
      });
    });
  await c2.register('com.hang', hang);
  t.is(((await t.throwsAsync(caller.call('com.hang', [], undefined, { timeout: 30 }))) as RouterError).uri, 'wamp.error.timeout');
  const ac = new AbortController();
  const p = caller.call('com.hang', [], undefined, { signal: ac.signal });
  setImmediate(() => ac.abort());
  t.is(((await t.throwsAsync(p)) as RouterError).uri, 'wamp.error.canceled');
  t.deepEqual(await aborted.waitFor(2), ['wamp.error.timeout', 'wamp.error.canceled']);
});

test('local clients appear in the session meta API; close() fails the pending calls of a local callee', async (t) => {
  const r = await router(t);
  const admin = r.connect('realm1');
  const callee = r.connect('realm1', { authid: 'local-callee' });
  const info = (await admin.call('wamp.session.get', [callee.id])).args[0] as { authid: string; transport: { protocol: string } };
  t.is(info.authid, 'local-callee');
  t.is(info.transport.protocol, 'local');
  await callee.register('com.forever', () => new Promise(() => undefined));
  const pending = admin.call('com.forever');
  await new Promise((res) => setImmediate(res));
  callee.close();
  t.is(((await t.throwsAsync(pending)) as RouterError).uri, 'wamp.error.canceled');
  t.is((await admin.call('wamp.session.count')).args[0], 1);

  const victim = r.connect('realm1');
  const closed = deferred<string>();
  victim.onClose = (reason) => closed.resolve(reason);
  await admin.call('wamp.session.kill', [victim.id], { reason: 'com.x.bye' });
  t.is(await closed.promise, 'com.x.bye');
});

test('mixed with WAMP clients: events and calls in both directions, errors and binary payloads', async (t) => {
  const r = await router(t);
  const urls = await serve(t, r);
  const local = r.connect('realm1', { authid: 'embedded' });
  const ws = await connectAutobahn(t, urls, { serializer: 'msgpack' });
  const rs = await connectAutobahn(t, urls, { rawsocket: true });

  // local → WAMP events (prefix subscription on the WAMP side, publisher disclosed)
  const atWs = await collect(ws, 'com.mixed', { match: 'prefix' });
  await local.publish('com.mixed.fromlocal', ['hello'], { n: 1 }, { disclose_me: true });
  const [ev] = await atWs.waitFor(1);
  t.deepEqual([ev?.args, ev?.kwargs, ev?.details.topic, ev?.details.publisher], [['hello'], { n: 1 }, 'com.mixed.fromlocal', local.id]);

  // WAMP → local events, binary intact
  const atLocal = events();
  await local.subscribe('com.mixed.tolocal', atLocal.push);
  const blob = Buffer.from([0, 255, 1, 254]);
  await ws.publish('com.mixed.tolocal', [blob], {}, { acknowledge: true });
  await rs.publish('com.mixed.tolocal', ['text'], { k: 'v' }, { acknowledge: true });
  const got = await atLocal.waitFor(2);
  t.true(Buffer.from(got[0]!.args[0] as Uint8Array).equals(blob));
  t.deepEqual([got[1]?.args, got[1]?.kwargs], [['text'], { k: 'v' }]);

  // WAMP caller → local callee, including its error
  await local.register('com.mixed.local.upper', (inv) => String(inv.args[0]).toUpperCase());
  await local.register('com.mixed.local.fail', () => {
    throw new RouterError('com.mixed.error', 'bad', ['detail'], { code: 7 });
  });
  t.is(await rs.call('com.mixed.local.upper', ['abc']), 'ABC');
  const e = await callError(ws.call('com.mixed.local.fail'));
  t.deepEqual([e.error, e.args, e.kwargs], ['com.mixed.error', ['detail'], { code: 7 }]);

  // local caller → WAMP callee, with progressive results and a binary result
  await ws.register('com.mixed.wamp.proc', (args, _k, d) => {
    d?.progress?.(['halfway'], {});
    return new autobahn.Result([Buffer.from(args?.[0] as Uint8Array).reverse()], { done: true });
  });
  const progress: unknown[] = [];
  const res = await local.call('com.mixed.wamp.proc', [blob], undefined, { onProgress: (p) => progress.push(p.args[0]) });
  t.deepEqual(progress, ['halfway']);
  t.true(Buffer.from(res.args[0] as Uint8Array).equals(Buffer.from(blob).reverse()));
  t.deepEqual(res.kwargs, { done: true });

  // a WAMP callee error reaches the local caller unchanged
  await rs.register('com.mixed.wamp.fail', () => {
    throw new autobahn.Error('com.wamp.error.x', [1, 2], { a: 'b' });
  });
  const le = (await t.throwsAsync(local.call('com.mixed.wamp.fail'))) as RouterError;
  t.deepEqual([le.uri, le.args, le.kwargs], ['com.wamp.error.x', [1, 2], { a: 'b' }]);

  // a local and a WAMP callee share one registration
  await local.register('com.mixed.shared', () => 'local', { invoke: 'roundrobin' });
  await ws.register('com.mixed.shared', () => 'wamp', { invoke: 'roundrobin' });
  const order: unknown[] = [];
  for (let i = 0; i < 4; i++) order.push(await rs.call('com.mixed.shared'));
  t.deepEqual(order, ['local', 'wamp', 'local', 'wamp']);
});

test('an unknown realm is refused for local clients too', (t) => {
  const r = createRouter({ realms: [openRealm('realm1')] });
  const err = t.throws(() => r.connect('elsewhere'));
  t.is((err as RouterError).uri, 'wamp.error.no_such_realm');
  r.close();
});

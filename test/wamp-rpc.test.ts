// WAMP RPC: calls and results, callee errors, pattern-based and shared registrations, caller
// identification, and what happens to pending calls when either side leaves.
import test from 'ava';
import autobahn from 'autobahn';
import { callError, deferred, opts } from './helpers/autobahn.ts';
import { RawWamp, T } from './helpers/raw-wamp.ts';
import { startTestServer } from './helpers/server.ts';
import { connectAutobahn } from './helpers/wamp.ts';

test('call/register with args and kwargs; a single result value and a complex Result', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await connectAutobahn(t, urls);
  const caller = await connectAutobahn(t, urls);
  await callee.register('com.math.add', (args) => (args as number[]).reduce((a, b) => a + b, 0));
  await callee.register('com.echo', (args, kwargs) => new autobahn.Result(args, kwargs));
  t.is(await caller.call('com.math.add', [1, 2, 39]), 42);
  const r = (await caller.call('com.echo', ['a', { b: [1, null] }], { k: 'v' })) as autobahn.Result;
  t.deepEqual(r.args, ['a', { b: [1, null] }]);
  t.deepEqual(r.kwargs, { k: 'v' });
});

test('calling an unregistered procedure fails with wamp.error.no_such_procedure; unregister removes it', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await connectAutobahn(t, urls);
  const caller = await connectAutobahn(t, urls);
  t.is((await callError(caller.call('com.nothing'))).error, 'wamp.error.no_such_procedure');
  const reg = await callee.register('com.temp', () => 'here');
  t.is(await caller.call('com.temp'), 'here');
  await reg.unregister();
  t.is((await callError(caller.call('com.temp'))).error, 'wamp.error.no_such_procedure');
});

test("a callee's ERROR reaches the caller with its URI, args and kwargs unchanged", async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await connectAutobahn(t, urls);
  const caller = await connectAutobahn(t, urls, { serializer: 'msgpack' });
  await callee.register('com.fails', () => {
    throw new autobahn.Error('com.app.error.out_of_stock', ['item', 42, { nested: [true] }], { sku: 'A-1', left: 0 });
  });
  const e = await callError(caller.call('com.fails', [1]));
  t.is(e.error, 'com.app.error.out_of_stock');
  t.deepEqual(e.args, ['item', 42, { nested: [true] }]);
  t.deepEqual(e.kwargs, { sku: 'A-1', left: 0 });

  // the raw frame: ERROR.Details from the callee, args and kwargs exactly as sent
  const raw = await RawWamp.session(t, urls);
  const id = raw.call('com.fails');
  const m = await raw.callOutcome(id);
  t.deepEqual(m, [T.ERROR, T.CALL, id, {}, 'com.app.error.out_of_stock', ['item', 42, { nested: [true] }], { sku: 'A-1', left: 0 }]);
});

test('pattern-based registrations: exact beats prefix beats wildcard, the longest prefix wins, details.procedure is sent', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await connectAutobahn(t, urls);
  const caller = await connectAutobahn(t, urls);
  const who = (name: string) => (_a: unknown, _k: unknown, d?: autobahn.IInvocation) => [name, d?.procedure];
  await callee.register('com.api.user.get', who('exact'));
  await callee.register('com.api', who('prefix-short'), opts({ match: 'prefix' }));
  await callee.register('com.api.user', who('prefix-long'), opts({ match: 'prefix' }));
  await callee.register('com..user.get', who('wildcard'), opts({ match: 'wildcard' }));
  await callee.register('com...delete', who('wildcard'), opts({ match: 'wildcard' }));
  const route = async (p: string): Promise<unknown> => {
    const r = await caller.call(p);
    return r instanceof autobahn.Result ? r.args : r;
  };
  t.deepEqual(await route('com.api.user.get'), ['exact', 'com.api.user.get']);
  t.deepEqual(await route('com.api.user.set'), ['prefix-long', 'com.api.user.set']);
  t.deepEqual(await route('com.api.username'), ['prefix-long', 'com.api.username']); // string prefix
  t.deepEqual(await route('com.api.order.get'), ['prefix-short', 'com.api.order.get']);
  t.deepEqual(await route('com.apiv2'), ['prefix-short', 'com.apiv2']);
  t.deepEqual(await route('com.web.user.get'), ['wildcard', 'com.web.user.get']);
  t.deepEqual(await route('com.a.b.delete'), ['wildcard', 'com.a.b.delete']);
  t.is((await callError(caller.call('org.api.user.get'))).error, 'wamp.error.no_such_procedure');
  t.is((await callError(caller.call('com.web.user.get.x'))).error, 'wamp.error.no_such_procedure');

  // on the wire: an exact registration gets no details.procedure, a pattern registration does
  const raw = await RawWamp.session(t, urls);
  const exactReg = await raw.register('com.raw.exact');
  const prefixReg = await raw.register('com.raw.p', { match: 'prefix' });
  const c1 = caller.call('com.raw.exact');
  const inv1 = await raw.nextOf(T.INVOCATION);
  t.is(inv1[2], exactReg);
  t.is((inv1[3] as { procedure?: string }).procedure, undefined);
  raw.send([T.YIELD, inv1[1], {}]);
  await c1;
  const c2 = caller.call('com.raw.pq');
  const inv2 = await raw.nextOf(T.INVOCATION);
  t.is(inv2[2], prefixReg);
  t.is((inv2[3] as { procedure?: string }).procedure, 'com.raw.pq');
  raw.send([T.YIELD, inv2[1], {}]);
  await c2;
});

test('shared registration, invoke single: a second REGISTER fails with procedure_already_exists', async (t) => {
  const { urls } = await startTestServer(t);
  const a = await connectAutobahn(t, urls);
  const b = await connectAutobahn(t, urls);
  await a.register('com.single', () => 'a');
  t.is((await callError(b.register('com.single', () => 'b'))).error, 'wamp.error.procedure_already_exists');
  t.is((await callError(b.register('com.single', () => 'b', { invoke: 'roundrobin' }))).error, 'wamp.error.procedure_already_exists');
  // the same session registering twice is refused too
  t.is((await callError(a.register('com.single', () => 'a2'))).error, 'wamp.error.procedure_already_exists');
  // mixing policies is refused
  await a.register('com.rr', () => 'a', { invoke: 'roundrobin' });
  t.is((await callError(b.register('com.rr', () => 'b', { invoke: 'first' }))).error, 'wamp.error.procedure_already_exists');
  t.is(await b.call('com.single'), 'a');
});

async function sharedCallees(t: Parameters<typeof connectAutobahn>[0], urls: Record<string, string>, invoke: string, n = 3) {
  const callees: autobahn.Session[] = [];
  let regId = 0;
  for (let i = 0; i < n; i++) {
    const s = await connectAutobahn(t, urls);
    const reg = await s.register(`com.shared.${invoke}`, () => i, { invoke: invoke as 'roundrobin' });
    if (regId) t.is(reg.id, regId, 'callees of a shared registration share its id');
    regId = reg.id;
    callees.push(s);
  }
  return callees;
}

test('shared registration, invoke roundrobin: calls rotate over the callees in order', async (t) => {
  const { urls } = await startTestServer(t);
  await sharedCallees(t, urls, 'roundrobin');
  const caller = await connectAutobahn(t, urls);
  const got: unknown[] = [];
  for (let i = 0; i < 9; i++) got.push(await caller.call('com.shared.roundrobin'));
  t.deepEqual(got, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
});

test('shared registration, invoke random: every callee gets calls, not in a fixed rotation', async (t) => {
  const { urls } = await startTestServer(t);
  await sharedCallees(t, urls, 'random');
  const caller = await connectAutobahn(t, urls);
  const got = (await Promise.all(Array.from({ length: 90 }, () => caller.call('com.shared.random')))) as number[];
  const counts = [0, 0, 0];
  for (const g of got) counts[g]!++;
  for (const c of counts) t.true(c >= 5, `each callee gets a share: ${counts.join(',')}`);
  const rotation = got.every((g, i) => g === got[i % 3]);
  t.false(rotation, 'random is not a rotation');
});

test('shared registration, invoke first / last: always the first (last) registered callee still present', async (t) => {
  const { urls } = await startTestServer(t);
  const firsts = await sharedCallees(t, urls, 'first');
  const lasts = await sharedCallees(t, urls, 'last');
  const caller = await connectAutobahn(t, urls);
  const f: unknown[] = [];
  const l: unknown[] = [];
  for (let i = 0; i < 4; i++) {
    f.push(await caller.call('com.shared.first'));
    l.push(await caller.call('com.shared.last'));
  }
  t.deepEqual(f, [0, 0, 0, 0]);
  t.deepEqual(l, [2, 2, 2, 2]);
  // when the first (last) callee unregisters, the next in line takes over
  await firsts[0]!.registrations[0]!.unregister();
  await lasts[2]!.registrations[0]!.unregister();
  t.is(await caller.call('com.shared.first'), 1);
  t.is(await caller.call('com.shared.last'), 1);
});

test('caller identification: disclose_me gives the callee caller, caller_authid and caller_authrole', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await connectAutobahn(t, urls);
  const caller = await connectAutobahn(t, urls, { authid: 'the-caller' });
  await callee.register('com.whoami', (_a, _k, d) => {
    const inv = d as unknown as { caller?: number; caller_authid?: string; caller_authrole?: string };
    return [inv.caller ?? null, inv.caller_authid ?? null, inv.caller_authrole ?? null];
  });
  t.deepEqual(await caller.call('com.whoami'), [null, null, null]);
  t.deepEqual(await caller.call('com.whoami', [], {}, { disclose_me: true }), [caller.id, 'the-caller', 'anonymous']);
});

test('a callee that leaves fails its pending calls at once with wamp.error.canceled', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await RawWamp.session(t, urls);
  await callee.register('com.slow');
  const caller = await connectAutobahn(t, urls);
  const p = callError(caller.call('com.slow', [1]));
  const p2 = callError(caller.call('com.slow', [2]));
  await callee.nextOf(T.INVOCATION);
  await callee.nextOf(T.INVOCATION);
  const start = Date.now();
  callee.end(); // drop the connection: no GOODBYE, no answer
  const [e1, e2] = await Promise.all([p, p2]);
  t.is(e1.error, 'wamp.error.canceled');
  t.is(e2.error, 'wamp.error.canceled');
  t.true(e1.args.length > 0, 'the error carries a reason');
  t.true(Date.now() - start < 1000);
  // and the procedure is gone with it
  t.is((await callError(caller.call('com.slow'))).error, 'wamp.error.no_such_procedure');
});

test('a caller that leaves: the callee receives INTERRUPT for the pending invocation', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await RawWamp.session(t, urls);
  await callee.register('com.long');
  const caller = await RawWamp.session(t, urls, { serializer: 'cbor' });
  caller.call('com.long');
  const inv = await callee.nextOf(T.INVOCATION);
  caller.end();
  const intr = await callee.nextOf(T.INTERRUPT);
  t.is(intr[1], inv[1]);
  t.is(typeof (intr[2] as { mode?: unknown }).mode, 'string');
  // a late YIELD for it is ignored, and the callee stays usable
  callee.send([T.YIELD, inv[1], {}, ['too late']]);
  const other = await connectAutobahn(t, urls);
  const done = deferred<unknown>();
  void other.call('com.long', ['again']).then(done.resolve, done.reject);
  const inv2 = await callee.nextOf(T.INVOCATION);
  t.deepEqual(inv2[4], ['again']);
  callee.send([T.YIELD, inv2[1], {}, ['ok']]);
  t.is(await done.promise, 'ok');
});

test('RPC across transports and serializers: RawSocket json caller, WebSocket cbor callee', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await connectAutobahn(t, urls, { serializer: 'cbor' });
  const caller = await connectAutobahn(t, urls, { rawsocket: true });
  await callee.register('com.concat', (args) => (args as string[]).join('+'));
  t.is(await caller.call('com.concat', ['a', 'b', 'c']), 'a+b+c');
});

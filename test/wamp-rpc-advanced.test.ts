// Advanced RPC: progressive call results and invocations, call canceling (skip, kill, killnowait),
// call timeout, and the per-registration concurrency limit with its bounded wait queue.
import test from 'ava';
import { callError, opts } from './helpers/autobahn.ts';
import { RawWamp, T, type Msg, until } from './helpers/raw-wamp.ts';
import { startTestServer } from './helpers/server.ts';
import { connectAutobahn } from './helpers/wamp.ts';

type Dict = Record<string, unknown>;

/** A caller, a callee with `procedure` registered, both raw (to see every frame). */
async function pair(t: Parameters<typeof connectAutobahn>[0], urls: Record<string, string>, procedure: string, registerOptions: Dict = {}) {
  const callee = await RawWamp.session(t, urls);
  const reg = await callee.register(procedure, registerOptions);
  const caller = await RawWamp.session(t, urls);
  return { callee, caller, reg };
}

test('progressive call results: the caller gets each progress RESULT in order, then the final one', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await connectAutobahn(t, urls);
  const caller = await connectAutobahn(t, urls, { serializer: 'msgpack' });
  await callee.register('com.count', async (args, _k, d) => {
    const n = (args as number[])[0] as number;
    for (let i = 1; i <= n; i++) d?.progress?.([i], {});
    return 'done';
  });
  const progress: unknown[] = [];
  const result = await new Promise((resolve, reject) => {
    const p = caller.call('com.count', [3], {}, { receive_progress: true }) as unknown as {
      then(ok: (v: unknown) => void, err: (e: unknown) => void, prog: (v: unknown) => void): void;
    };
    p.then(resolve, reject, (v) => progress.push(v));
  });
  t.deepEqual(progress, [1, 2, 3]);
  t.is(result, 'done');
});

test('progressive call results on the wire; without receive_progress only the final result arrives', async (t) => {
  const { urls } = await startTestServer(t);
  const { callee, caller } = await pair(t, urls, 'com.prog');
  const withProgress = caller.call('com.prog', [], undefined, { receive_progress: true });
  const inv = await callee.nextOf(T.INVOCATION);
  t.is((inv[3] as Dict).receive_progress, true);
  callee.send([T.YIELD, inv[1], { progress: true }, ['p1']]);
  callee.send([T.YIELD, inv[1], { progress: true }, ['p2'], { k: 1 }]);
  callee.send([T.YIELD, inv[1], {}, ['final']]);
  t.deepEqual(await caller.nextOf(T.RESULT, withProgress), [T.RESULT, withProgress, { progress: true }, ['p1']]);
  t.deepEqual(await caller.nextOf(T.RESULT, withProgress), [T.RESULT, withProgress, { progress: true }, ['p2'], { k: 1 }]);
  t.deepEqual(await caller.nextOf(T.RESULT, withProgress), [T.RESULT, withProgress, {}, ['final']]);

  const without = caller.call('com.prog');
  const inv2 = await callee.nextOf(T.INVOCATION);
  t.is((inv2[3] as Dict).receive_progress, undefined);
  callee.send([T.YIELD, inv2[1], { progress: true }, ['dropped']]);
  callee.send([T.YIELD, inv2[1], {}, ['only']]);
  t.deepEqual(await caller.nextOf(T.RESULT, without), [T.RESULT, without, {}, ['only']]);
  t.true(await caller.quiet(100, (m) => m[0] === T.RESULT));
});

test('progressive call invocations: CALLs with progress=true reach the same INVOCATION until the final one', async (t) => {
  const { urls } = await startTestServer(t);
  const { callee, caller, reg } = await pair(t, urls, 'com.upload');
  const id = caller.id();
  caller.send([T.CALL, id, { progress: true }, 'com.upload', ['chunk1']]);
  const first = await callee.nextOf(T.INVOCATION);
  t.is(first[2], reg);
  t.is((first[3] as Dict).progress, true);
  t.deepEqual(first[4], ['chunk1']);
  caller.send([T.CALL, id, { progress: true }, 'com.upload', ['chunk2']]);
  const second = await callee.nextOf(T.INVOCATION);
  t.is(second[1], first[1], 'the same invocation id');
  t.is((second[3] as Dict).progress, true);
  t.deepEqual(second[4], ['chunk2']);
  caller.send([T.CALL, id, {}, 'com.upload', ['last']]);
  const last = await callee.nextOf(T.INVOCATION);
  t.is(last[1], first[1]);
  t.is((last[3] as Dict).progress, undefined);
  t.deepEqual(last[4], ['last']);
  callee.send([T.YIELD, first[1], {}, [3]]);
  t.deepEqual(await caller.callOutcome(id), [T.RESULT, id, {}, [3]]);
});

test('progressive call invocations that arrive while the call waits for a callee are delivered in order', async (t) => {
  const { urls } = await startTestServer(t);
  const { callee, caller } = await pair(t, urls, 'com.busy', { concurrency: 1 });
  const blocker = caller.call('com.busy', ['blocker']);
  const b = await callee.nextOf(T.INVOCATION);
  const id = caller.id();
  caller.send([T.CALL, id, { progress: true }, 'com.busy', ['a']]);
  caller.send([T.CALL, id, { progress: true }, 'com.busy', ['b']]);
  caller.send([T.CALL, id, {}, 'com.busy', ['c']]);
  t.true(await callee.quiet(100, (m) => m[0] === T.INVOCATION));
  callee.send([T.YIELD, b[1], {}]);
  await caller.callOutcome(blocker);
  const chunks: Msg[] = [await callee.nextOf(T.INVOCATION), await callee.nextOf(T.INVOCATION), await callee.nextOf(T.INVOCATION)];
  t.deepEqual(
    chunks.map((m) => [(m[3] as Dict).progress ?? false, (m[4] as string[])[0]]),
    [
      [true, 'a'],
      [true, 'b'],
      [false, 'c'],
    ],
  );
  t.true(chunks.every((m) => m[1] === chunks[0]![1]));
});

test('cancel mode skip: the caller gets wamp.error.canceled at once, the callee gets no INTERRUPT and its late YIELD is dropped', async (t) => {
  const { urls } = await startTestServer(t);
  const { callee, caller } = await pair(t, urls, 'com.work');
  const id = caller.call('com.work');
  const inv = await callee.nextOf(T.INVOCATION);
  caller.send([T.CANCEL, id, { mode: 'skip' }]);
  const err = await caller.callOutcome(id);
  t.deepEqual(err.slice(0, 3), [T.ERROR, T.CALL, id]);
  t.is(err[4], 'wamp.error.canceled');
  t.true(await callee.quiet(100, (m) => m[0] === T.INTERRUPT));
  callee.send([T.YIELD, inv[1], {}, ['late']]);
  t.true(await caller.quiet(100, (m) => m[0] === T.RESULT));
});

test('cancel mode kill: the callee gets INTERRUPT(kill) and its ERROR answers the caller', async (t) => {
  const { urls } = await startTestServer(t);
  const { callee, caller } = await pair(t, urls, 'com.work');
  const id = caller.call('com.work');
  const inv = await callee.nextOf(T.INVOCATION);
  caller.send([T.CANCEL, id, { mode: 'kill' }]);
  const intr = await callee.nextOf(T.INTERRUPT);
  t.is(intr[1], inv[1]);
  t.is((intr[2] as Dict).mode, 'kill');
  // kill waits for the callee: nothing reaches the caller yet
  t.true(await caller.quiet(100, (m) => m[1] === id || m[2] === id));
  callee.send([T.ERROR, T.INVOCATION, inv[1], {}, 'wamp.error.canceled', ['stopped by request']]);
  const err = await caller.callOutcome(id);
  t.deepEqual(err, [T.ERROR, T.CALL, id, {}, 'wamp.error.canceled', ['stopped by request']]);
});

test('cancel mode killnowait: the callee gets INTERRUPT(killnowait) and the caller an ERROR at once', async (t) => {
  const { urls } = await startTestServer(t);
  const { callee, caller } = await pair(t, urls, 'com.work');
  const id = caller.call('com.work');
  const inv = await callee.nextOf(T.INVOCATION);
  caller.send([T.CANCEL, id, { mode: 'killnowait' }]);
  const [intr, err] = await Promise.all([callee.nextOf(T.INTERRUPT), caller.callOutcome(id)]);
  t.is(intr[1], inv[1]);
  t.is((intr[2] as Dict).mode, 'killnowait');
  t.is(err[0], T.ERROR);
  t.is(err[4], 'wamp.error.canceled');
  // the callee's answer after that goes nowhere
  callee.send([T.ERROR, T.INVOCATION, inv[1], {}, 'wamp.error.canceled']);
  t.true(await caller.quiet(100, (m) => m[0] === T.ERROR || m[0] === T.RESULT));
});

test('autobahn d.cancel() (killnowait) sends CANCEL: the callee is interrupted', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await RawWamp.session(t, urls);
  await callee.register('com.work');
  const caller = await connectAutobahn(t, urls);
  const d = caller.call('com.work') as unknown as Promise<unknown> & { cancel(o?: Dict): void };
  d.catch(() => undefined);
  const inv = await callee.nextOf(T.INVOCATION);
  d.cancel({ mode: 'killnowait' });
  const intr = await callee.nextOf(T.INTERRUPT);
  t.is(intr[1], inv[1]);
  t.is((await callError(d)).error, 'Cancelled'); // autobahn rejects locally
});

test('canceling a call that waits in the queue removes it: the callee never sees it', async (t) => {
  const { urls } = await startTestServer(t);
  const { callee, caller } = await pair(t, urls, 'com.one', { concurrency: 1 });
  const busy = caller.call('com.one', ['busy']);
  const inv = await callee.nextOf(T.INVOCATION);
  const queued = caller.call('com.one', ['queued']);
  caller.send([T.CANCEL, queued, { mode: 'kill' }]);
  const err = await caller.callOutcome(queued);
  t.is(err[4], 'wamp.error.canceled');
  callee.send([T.YIELD, inv[1], {}]);
  await caller.callOutcome(busy);
  t.true(await callee.quiet(100, (m) => m[0] === T.INVOCATION));
});

test('call timeout: the caller gets wamp.error.timeout and the callee an INTERRUPT', async (t) => {
  const { urls } = await startTestServer(t);
  const { callee, caller } = await pair(t, urls, 'com.sleepy');
  const start = Date.now();
  const id = caller.call('com.sleepy', [], undefined, { timeout: 100 });
  const inv = await callee.nextOf(T.INVOCATION);
  t.is((inv[3] as Dict).timeout, 100);
  const [err, intr] = await Promise.all([caller.callOutcome(id), callee.nextOf(T.INTERRUPT)]);
  t.true(Date.now() - start >= 90);
  t.is(err[0], T.ERROR);
  t.is(err[4], 'wamp.error.timeout');
  t.is(intr[1], inv[1]);
  // a YIELD after the timeout is dropped
  callee.send([T.YIELD, inv[1], {}, ['late']]);
  t.true(await caller.quiet(100, (m) => m[0] === T.RESULT));
  // a call answered in time is not affected by its timeout
  const ok = caller.call('com.sleepy', [], undefined, { timeout: 1000 });
  const inv2 = await callee.nextOf(T.INVOCATION);
  callee.send([T.YIELD, inv2[1], {}, ['in time']]);
  t.deepEqual(await caller.callOutcome(ok), [T.RESULT, ok, {}, ['in time']]);
});

test('call timeout with autobahn: the call is rejected with wamp.error.timeout', async (t) => {
  const { urls } = await startTestServer(t);
  const callee = await RawWamp.session(t, urls); // autobahn callees do not understand INTERRUPT
  await callee.register('com.never');
  const caller = await connectAutobahn(t, urls);
  t.is((await callError(caller.call('com.never', [], {}, { timeout: 50 }))).error, 'wamp.error.timeout');
});

test('concurrency limit: calls beyond it wait and run as slots free; beyond the queue limit they fail', async (t) => {
  const { urls } = await startTestServer(t, { limits: { maxQueuedCallsPerRegistration: 2 } });
  const { callee, caller } = await pair(t, urls, 'com.limited', { concurrency: 1 });
  const ids = [1, 2, 3, 4].map((n) => caller.call('com.limited', [n]));
  const inv1 = await callee.nextOf(T.INVOCATION);
  t.deepEqual(inv1[4], [1]);
  // the 4th call finds one running and two queued: refused at once
  const refused = await caller.callOutcome(ids[3]!);
  t.is(refused[0], T.ERROR);
  t.is(refused[4], 'wamp.error.no_available_callee');
  t.true(await callee.quiet(100, (m) => m[0] === T.INVOCATION), 'only one invocation runs at a time');
  callee.send([T.YIELD, inv1[1], {}, ['r1']]);
  t.deepEqual(await caller.callOutcome(ids[0]!), [T.RESULT, ids[0], {}, ['r1']]);
  const inv2 = await callee.nextOf(T.INVOCATION);
  t.deepEqual(inv2[4], [2]);
  t.true(await callee.quiet(50, (m) => m[0] === T.INVOCATION));
  callee.send([T.YIELD, inv2[1], {}, ['r2']]);
  const inv3 = await callee.nextOf(T.INVOCATION);
  t.deepEqual(inv3[4], [3]);
  callee.send([T.YIELD, inv3[1], {}, ['r3']]);
  t.deepEqual(await caller.callOutcome(ids[1]!), [T.RESULT, ids[1], {}, ['r2']]);
  t.deepEqual(await caller.callOutcome(ids[2]!), [T.RESULT, ids[2], {}, ['r3']]);
});

test('concurrency with a shared registration: each callee runs at most its limit, the rest queue', async (t) => {
  const { urls } = await startTestServer(t);
  const a = await RawWamp.session(t, urls);
  const b = await RawWamp.session(t, urls);
  await a.register('com.pool', { invoke: 'roundrobin', concurrency: 1 });
  await b.register('com.pool', { invoke: 'roundrobin', concurrency: 2 });
  const caller = await connectAutobahn(t, urls);
  const results = [1, 2, 3, 4].map((n) => caller.call('com.pool', [n]) as unknown as Promise<unknown>);
  const ia = await a.nextOf(T.INVOCATION);
  const ib1 = await b.nextOf(T.INVOCATION);
  const ib2 = await b.nextOf(T.INVOCATION);
  t.true(await a.quiet(100, (m) => m[0] === T.INVOCATION));
  t.true(await b.quiet(0, (m) => m[0] === T.INVOCATION));
  a.send([T.YIELD, ia[1], {}, ['a']]);
  const ia2 = await a.nextOf(T.INVOCATION);
  t.deepEqual(ia2[4], [4]);
  a.send([T.YIELD, ia2[1], {}, ['a2']]);
  b.send([T.YIELD, ib1[1], {}, ['b1']]);
  b.send([T.YIELD, ib2[1], {}, ['b2']]);
  t.deepEqual(await Promise.all(results), ['a', 'b1', 'b2', 'a2']);
});

test('a queued call with a timeout expires in the queue without reaching the callee', async (t) => {
  const { urls } = await startTestServer(t);
  const { callee, caller } = await pair(t, urls, 'com.slot', { concurrency: 1 });
  const first = caller.call('com.slot');
  const inv = await callee.nextOf(T.INVOCATION);
  const second = caller.call('com.slot', [], undefined, { timeout: 50 });
  const err = await caller.callOutcome(second);
  t.is(err[4], 'wamp.error.timeout');
  callee.send([T.YIELD, inv[1], {}]);
  await caller.callOutcome(first);
  t.true(await callee.quiet(100, (m) => m[0] === T.INVOCATION));
});

test('register options of the wrong type are refused with wamp.error.invalid_argument', async (t) => {
  const { urls } = await startTestServer(t);
  const s = await connectAutobahn(t, urls);
  t.is((await callError(s.register('com.bad', () => 1, opts({ concurrency: 'two' })))).error, 'wamp.error.invalid_argument');
  t.is((await callError(s.register('com.bad', () => 1, opts({ invoke: 'sometimes' })))).error, 'wamp.error.invalid_argument');
});

test('a callee that leaves fails its running and its queued calls at once with wamp.error.canceled', async (t) => {
  const { urls } = await startTestServer(t);
  const { callee, caller } = await pair(t, urls, 'com.gone', { concurrency: 1 });
  const running = caller.call('com.gone', ['running']);
  await callee.nextOf(T.INVOCATION);
  const queued = caller.call('com.gone', ['queued']);
  t.true(await callee.quiet(50, (m) => m[0] === T.INVOCATION));
  callee.end();
  const [e1, e2] = await Promise.all([caller.callOutcome(running), caller.callOutcome(queued)]);
  t.is(e1[4], 'wamp.error.canceled');
  t.is(e2[4], 'wamp.error.canceled');
});

test('a caller that leaves while its call is queued: the call is dropped and never reaches the callee', async (t) => {
  const { urls, router } = await startTestServer(t);
  const { callee, caller } = await pair(t, urls, 'com.q', { concurrency: 1 });
  const other = await RawWamp.session(t, urls);
  const first = other.call('com.q', ['first']);
  const inv = await callee.nextOf(T.INVOCATION);
  caller.call('com.q', ['from the leaver']);
  const last = other.call('com.q', ['last']);
  caller.end();
  await until(() => !router.realms.get('realm1')!.sessions.has(caller.sessionId), 3000, 'the router to see the caller leave');
  callee.send([T.YIELD, inv[1], {}]);
  await other.callOutcome(first);
  const next = await callee.nextOf(T.INVOCATION);
  t.deepEqual(next[4], ['last']);
  callee.send([T.YIELD, next[1], {}]);
  t.is((await other.callOutcome(last))[0], T.RESULT);
  t.true(await callee.quiet(50, (m) => m[0] === T.INVOCATION || m[0] === T.INTERRUPT));
});

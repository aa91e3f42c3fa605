// esub phase 1.5: psub over WebSocket — exclusive and shared pools, takeover, token and shared
// mismatches with close frames, round robin, read receipts with redirect, keepalive pruning.
import test from 'ava';
import WebSocket from 'ws';
import { connectWs, delay, http, keys, psub, rep, startEsub, sub, waitFor } from '../../helpers/esub.ts';

test('an exclusive psub gets every rep as one message: text when UTF-8, binary otherwise', async (t) => {
  const s = await startEsub(t);
  const m = await psub(t, s, 'stream');
  t.deepEqual(await keys(s.base), ['stream']);
  t.is((await rep(s.base, 'stream', 'one')).status, 200);
  t.is((await rep(s.base, 'stream', 'two', '?psub=1')).status, 200);
  const bin = Buffer.from([0xff, 0x00, 0xfe]);
  t.is((await rep(s.base, 'stream', bin)).status, 200);
  await m.count(3);
  t.deepEqual(m.texts().slice(0, 2), ['one', 'two']);
  t.false(m.messages[0]?.binary);
  t.true(m.messages[2]?.binary);
  t.deepEqual(m.messages[2]?.data, bin);
});

test('a sub and a psub on one key: the sub is served first, /keys lists the key twice', async (t) => {
  const s = await startEsub(t);
  const m = await psub(t, s, 'both');
  const w = await sub(s.base, 'both');
  await waitFor(async () => (await keys(s.base)).length === 2);
  t.deepEqual(await keys(s.base), ['both', 'both']);
  t.is((await rep(s.base, 'both', 'to the sub')).status, 200);
  t.is((await w.answer).body, 'to the sub');
  t.is((await rep(s.base, 'both', 'to the psub')).status, 200);
  await m.count(1);
  t.deepEqual(m.texts(), ['to the psub']);
});

test('psub=1 searches psub pools only', async (t) => {
  const s = await startEsub(t, { storeMode: 'none' });
  const w = await sub(s.base, 'only-sub');
  const r = await rep(s.base, 'only-sub', 'x', '?psub=1');
  t.is(r.status, 404);
  t.is(r.body, 'Unknown key');
  w.abort();
});

test('token mismatch: the newcomer gets close 1008 "invalid token", the pool is untouched', async (t) => {
  const s = await startEsub(t);
  const owner = await psub(t, s, 'tok', '?token=a&shared=1');
  const intruder = await connectWs(t, `${s.ws}/psub/tok?token=b&shared=1`);
  t.deepEqual(await intruder.closed, { code: 1008, reason: 'invalid token' });
  // an exclusive request against a tokened holder is refused the same way
  const taker = await connectWs(t, `${s.ws}/psub/tok?token=b`);
  t.deepEqual(await taker.closed, { code: 1008, reason: 'invalid token' });
  t.is((await rep(s.base, 'tok', 'x', '?token=b')).status, 403);
  t.is((await rep(s.base, 'tok', 'x', '?token=a')).status, 200);
  await owner.count(1);
});

test('shared mismatch: close 1008 "shared mismatch"', async (t) => {
  const s = await startEsub(t);
  await psub(t, s, 'ex');
  const joiner = await connectWs(t, `${s.ws}/psub/ex?shared=1`);
  t.deepEqual(await joiner.closed, { code: 1008, reason: 'shared mismatch' });
  await psub(t, s, 'sh', '?shared=1');
  const excl = await connectWs(t, `${s.ws}/psub/sh`);
  t.deepEqual(await excl.closed, { code: 1008, reason: 'shared mismatch' });
});

test('exclusive takeover: the displaced member gets close 4000 "taken over", the new one the reps', async (t) => {
  const s = await startEsub(t);
  const old = await psub(t, s, 'excl');
  const fresh = await connectWs(t, `${s.ws}/psub/excl?token=new`);
  t.deepEqual(await old.closed, { code: 4000, reason: 'taken over' });
  t.is((await rep(s.base, 'excl', 'x')).status, 403);
  t.is((await rep(s.base, 'excl', 'hi', '?token=new')).status, 200);
  await fresh.count(1);
  t.deepEqual(fresh.texts(), ['hi']);
  t.deepEqual(await keys(s.base), ['excl']);
});

test('a shared pool delivers round robin in join order', async (t) => {
  const s = await startEsub(t);
  const members = [await psub(t, s, 'pool', '?shared=1'), await psub(t, s, 'pool', '?shared=1'), await psub(t, s, 'pool', '?shared=1')];
  for (let i = 0; i < 6; i++) t.is((await rep(s.base, 'pool', `m${i}`)).status, 200);
  for (const m of members) await m.count(2);
  t.deepEqual(
    members.map((m) => m.texts()),
    [
      ['m0', 'm3'],
      ['m1', 'm4'],
      ['m2', 'm5'],
    ],
  );
  t.deepEqual(await keys(s.base), ['pool']);
});

test('a plain HTTP GET on /psub and /prep is 400 Bad Request with Sec-Websocket-Version', async (t) => {
  const s = await startEsub(t);
  for (const p of ['/psub/x', '/prep']) {
    const r = await http(`${s.base}${p}`);
    t.is(r.status, 400);
    t.is(r.body, 'Bad Request\n');
    t.is(r.headers.get('sec-websocket-version'), '13');
  }
});

test('upgrades elsewhere are refused with an HTTP status; bad keys 400', async (t) => {
  const s = await startEsub(t, { maxKeyBytes: 8 });
  const unexpected = (url: string): Promise<number> =>
    new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('error', () => resolve(-1));
    });
  t.is(await unexpected(`${s.ws}/nope`), 404);
  t.is(await unexpected(`${s.ws}/psub/${'k'.repeat(9)}`), 400);
  t.is(await unexpected(`${s.shared.replace(/^http/, 'ws')}/psub/${'k'.repeat(9)}`), 400);
  // the shared port's /esub prefix serves psubs too
  const m = await connectWs(t, `${s.shared.replace(/^http/, 'ws')}/psub/vshared`);
  t.is((await rep(s.base, 'vshared', 'ok')).status, 200);
  await m.count(1);
});

test('a member that closes is removed; the last one gone frees the key', async (t) => {
  const s = await startEsub(t, { storeMode: 'none' });
  const a = await psub(t, s, 'bye', '?shared=1');
  const b = await psub(t, s, 'bye', '?shared=1');
  a.ws.close(1000, 'done');
  await a.closed;
  for (let i = 0; i < 3; i++) t.is((await rep(s.base, 'bye', `x${i}`)).status, 200);
  await b.count(3);
  b.ws.close();
  await b.closed;
  await waitFor(async () => (await keys(s.base)).length === 0);
  const r = await rep(s.base, 'bye', 'late');
  t.is(r.status, 404);
  t.is(r.body, 'Unknown key');
});

test('receipt mode: a confirmed delivery is 200; a silent member is closed 4002 and the message goes to the next', async (t) => {
  // 1 s: the good member (in this process) must confirm within it even on a loaded machine
  const s = await startEsub(t, { confirmReceipt: true, receiptTimeoutMs: 1000 });
  const silent = await psub(t, s, 'rc', '?shared=1');
  const good = await psub(t, s, 'rc', '?shared=1', { receipts: true });
  const started = Date.now();
  const r = await rep(s.base, 'rc', 'important');
  t.is(r.status, 200);
  t.true(Date.now() - started >= 950, 'the rep waited for the receipt timeout');
  await good.count(1);
  t.deepEqual(good.texts(), ['important']);
  t.deepEqual(silent.texts(), ['important']); // it got it but never confirmed
  t.deepEqual(await silent.closed, { code: 4002, reason: 'receipt timeout' });
  t.is((await rep(s.base, 'rc', 'next')).status, 200);
  await good.count(2);
});

test('receipt mode: an exclusive psub that does not confirm gives 404 No listeners remain', async (t) => {
  const s = await startEsub(t, { confirmReceipt: true, receiptTimeoutMs: 100, storeMode: 'none' });
  const m = await psub(t, s, 'lonely');
  const r = await rep(s.base, 'lonely', 'x');
  t.is(r.status, 404);
  t.is(r.body, 'No listeners remain');
  t.deepEqual(await m.closed, { code: 4002, reason: 'receipt timeout' });
});

test('receipt mode: deliveries to one member are lockstep, the pool shares the load', async (t) => {
  const s = await startEsub(t, { confirmReceipt: true, receiptTimeoutMs: 2000 });
  const a = await psub(t, s, 'lock', '?shared=1', { receipts: true });
  const b = await psub(t, s, 'lock', '?shared=1', { receipts: true });
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => rep(s.base, 'lock', `n${i}`)));
  t.true(results.every((r) => r.status === 200));
  t.is(a.messages.length + b.messages.length, 20);
  t.true(a.messages.length > 0 && b.messages.length > 0);
});

// The ping period is 1 s, not less: client and bridge share this process, and under load a stall
// of a few hundred ms must not make a live member miss its pong window.
test('keepalive: members that do not answer pings are pruned with close 4001; live ones stay', async (t) => {
  const s = await startEsub(t, { pingFrequencyMs: 1000 });
  const live = await psub(t, s, 'ka', '?shared=1');
  const mute = await psub(t, s, 'ka', '?shared=1', { autoPong: false });
  const closed = await Promise.race([mute.closed, delay(6000).then(() => undefined)]);
  t.deepEqual(closed, { code: 4001, reason: 'keepalive timeout' });
  await delay(1000); // one more whole period
  t.is(live.ws.readyState, WebSocket.OPEN);
  t.is((await rep(s.base, 'ka', 'still here')).status, 200);
  await live.count(1);
});

test('keepalive: unsolicited pongs (the Python client) keep a member alive', async (t) => {
  const s = await startEsub(t, { pingFrequencyMs: 1000 });
  const m = await psub(t, s, 'pong', '', { autoPong: false });
  const timer = setInterval(() => m.ws.pong(), 100);
  t.teardown(() => clearInterval(timer));
  await delay(2500); // a mute member is pruned after 1 to 1.5 s
  t.is(m.ws.readyState, WebSocket.OPEN);
});

test('keepalive: a member that vanishes has its last message redirected to the next member', async (t) => {
  const s = await startEsub(t, { pingFrequencyMs: 60_000 });
  const a = await psub(t, s, 'vanish', '?shared=1');
  const b = await psub(t, s, 'vanish', '?shared=1');
  t.is((await rep(s.base, 'vanish', 'first')).status, 200); // to a
  await a.count(1);
  a.ws.terminate(); // no close frame: the server sees 1006
  await waitFor(async () => b.messages.length >= 1, 3000, 'redirected message');
  t.deepEqual(b.texts(), ['first']);
  t.is((await rep(s.base, 'vanish', 'second')).status, 200);
  await b.count(2);
  t.deepEqual(b.texts(), ['first', 'second']);
});

// One test per defect the spec lists for esub HEAD (spec/esub.md §3, §4, §8), replayed against
// kitsune to show it does not happen here.
import test from 'ava';
import WebSocket from 'ws';
import { connectWs, delay, http, keys, psub, rep, startEsub, sub, waitFor } from '../../helpers/esub.ts';

test('§3 takeover: the displaced sub does not orphan the new one (it stays listed and reachable)', async (t) => {
  const s = await startEsub(t);
  const first = await sub(s.base, 'uuid-1');
  const second = http(`${s.base}/sub/uuid-1`);
  t.is((await first.answer).status, 500);
  await delay(50); // let the displaced sub's cleanup run
  t.deepEqual(await keys(s.base), ['uuid-1']);
  t.is((await rep(s.base, 'uuid-1', 'reached')).status, 200);
  t.is((await second).body, 'reached');
});

test('§3 rep: a sub cancelled mid-delivery or two racing reps never leave a rep hanging', async (t) => {
  const s = await startEsub(t, { storeMode: 'none' });
  for (let round = 0; round < 20; round++) {
    const w = await sub(s.base, `r${round}`);
    const reps = Array.from({ length: 5 }, () => rep(s.base, `r${round}`, 'x'));
    if (round % 2 === 0) w.abort(); // cancel while the reps are on their way
    const results = await Promise.race([Promise.all(reps), delay(5000).then(() => undefined)]);
    t.truthy(results, `round ${round} hung`);
    t.true((results ?? []).filter((r) => r.status === 200).length <= 1);
    t.true((results ?? []).every((r) => r.status === 200 || (r.status === 404 && r.body === 'Unknown key')));
  }
});

test('§4.1/§8.4 a rejected registration gets a close frame instead of an open, unserved socket', async (t) => {
  const s = await startEsub(t);
  await psub(t, s, 'r', '?token=a');
  const rejected = await connectWs(t, `${s.ws}/psub/r?token=b`);
  const closed = await Promise.race([rejected.closed, delay(2000).then(() => undefined)]);
  t.deepEqual(closed, { code: 1008, reason: 'invalid token' });
});

test('§4.1/§8.4 a displaced exclusive member is told (close 4000), not left open and silent', async (t) => {
  const s = await startEsub(t);
  const old = await psub(t, s, 'd');
  await connectWs(t, `${s.ws}/psub/d`);
  const closed = await Promise.race([old.closed, delay(2000).then(() => undefined)]);
  t.deepEqual(closed, { code: 4000, reason: 'taken over' });
});

test('§4.4/§8.4 a pruned member gets a close frame (4001)', async (t) => {
  const s = await startEsub(t, { pingFrequencyMs: 100 });
  const m = await psub(t, s, 'p', '', { autoPong: false });
  t.deepEqual(await m.closed, { code: 4001, reason: 'keepalive timeout' });
});

test('§4.2 binary bodies go out as binary frames, not invalid text frames', async (t) => {
  const s = await startEsub(t);
  const m = await psub(t, s, 'b');
  t.is((await rep(s.base, 'b', Buffer.from([0xc3, 0x28]))).status, 200); // invalid UTF-8
  await m.count(1);
  t.true(m.messages[0]?.binary);
  t.is(m.ws.readyState, WebSocket.OPEN, 'a strict client did not have to drop the connection');
});

test('§8.1 keepalive: the first member of a key sending a close frame does not crash the server', async (t) => {
  const s = await startEsub(t);
  const m = await psub(t, s, 'first');
  m.ws.close(1000, 'bye');
  t.is((await m.closed).code, 1000);
  await delay(50);
  t.is((await http(`${s.base}/ping`)).body, 'OK');
  t.deepEqual(await keys(s.base), []);
});

test('§8.1 receipt mode: a member closing instead of confirming gives the rep a status, not a dropped connection', async (t) => {
  const s = await startEsub(t, { confirmReceipt: true, receiptTimeoutMs: 5000, storeMode: 'none' });
  const m = await psub(t, s, 'rc1');
  m.ws.on('message', () => m.ws.close(1000));
  const started = Date.now();
  const r = await rep(s.base, 'rc1', 'x');
  t.is(r.status, 404);
  t.is(r.body, 'No listeners remain');
  t.true(Date.now() - started < 2000, 'the close was noticed at once, not at the receipt timeout');
  t.is((await http(`${s.base}/ping`)).body, 'OK');
});

test('§8.1 after a takeover, the new member closing gracefully removes it (no stale "No listeners remain")', async (t) => {
  const s = await startEsub(t, { storeMode: 'none' });
  const old = await psub(t, s, 'tk');
  const fresh = await connectWs(t, `${s.ws}/psub/tk`);
  // the takeover is done when the displaced member is told (a fixed short wait may not be, under load)
  t.deepEqual(await old.closed, { code: 4000, reason: 'taken over' });
  fresh.ws.close(1000);
  await fresh.closed;
  await waitFor(async () => (await keys(s.base)).length === 0);
  const r = await rep(s.base, 'tk', 'x');
  t.is(r.status, 404);
  t.is(r.body, 'Unknown key');
});

test('§8.2 receipt mode: a failed delivery in a shared pool is redirected, not a panic', async (t) => {
  const s = await startEsub(t, { confirmReceipt: true, receiptTimeoutMs: 3000 });
  const bad = await psub(t, s, 'sp', '?shared=1');
  bad.ws.on('message', () => bad.ws.terminate());
  const good = await psub(t, s, 'sp', '?shared=1', { receipts: true });
  const r = await rep(s.base, 'sp', 'payload');
  t.is(r.status, 200);
  t.is(r.body, 'OK');
  await good.count(1);
  t.deepEqual(good.texts(), ['payload']);
});

test('§8.2 keepalive: a member whose very first write fails is redirected, not a panic', async (t) => {
  const s = await startEsub(t);
  const dead = await psub(t, s, 'fw', '?shared=1');
  const good = await psub(t, s, 'fw', '?shared=1');
  dead.ws.terminate();
  const r = await rep(s.base, 'fw', 'first');
  t.is(r.status, 200);
  await good.count(1);
  t.deepEqual(good.texts(), ['first']);
  t.is((await http(`${s.base}/ping`)).body, 'OK');
});

test('§8.3 receipt mode: a shared joiner closing during a receipt wait does not hang the rep', async (t) => {
  const s = await startEsub(t, { confirmReceipt: true, receiptTimeoutMs: 10_000 });
  const closer = await psub(t, s, 'dl', '?shared=1');
  closer.ws.on('message', () => closer.ws.close(1001, 'going away'));
  const good = await psub(t, s, 'dl', '?shared=1', { receipts: true });
  const started = Date.now();
  const r = await Promise.race([rep(s.base, 'dl', 'm'), delay(5000).then(() => undefined)]);
  t.truthy(r, 'the rep hung');
  t.is(r?.status, 200);
  t.true(Date.now() - started < 3000);
  await good.count(1);
});

// esub phase 2: reps that find no listener are stored (none | unclaimed | all) with a TTL and
// replayed oldest first by GET /rsub/:key, also after a restart (SQLite store).
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { delay, http, psub, rep, startEsub, sub } from '../../helpers/esub.ts';

test('unclaimed reps are stored and replayed in order, one per /rsub', async (t) => {
  const s = await startEsub(t);
  for (const body of ['first', 'second', 'third']) {
    const r = await rep(s.base, 'later', body);
    t.is(r.status, 404);
    t.is(r.body, 'Unknown key');
    t.is(r.headers.get('x-esub-stored'), '1');
  }
  const got: string[] = [];
  const remaining: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await http(`${s.base}/rsub/later`);
    t.is(r.status, 200);
    got.push(r.body);
    remaining.push(r.headers.get('x-esub-remaining') ?? '');
  }
  t.deepEqual(got, ['first', 'second', 'third']);
  t.deepEqual(remaining, ['2', '1', '0']);
  const none = await http(`${s.base}/rsub/later`);
  t.is(none.status, 404);
  t.is(none.body, 'Unknown key');
});

test('stored reps keep their token: /rsub needs the same one', async (t) => {
  const s = await startEsub(t);
  await rep(s.base, 'tk', 'secret', '?token=t');
  const wrong = await http(`${s.base}/rsub/tk`);
  t.is(wrong.status, 403);
  t.is(wrong.body, 'Invalid token');
  const right = await http(`${s.base}/rsub/tk?token=t`);
  t.is(right.status, 200);
  t.is(right.body, 'secret');
});

test('binary reps replay byte for byte', async (t) => {
  const s = await startEsub(t);
  const bin = Buffer.from([0, 255, 1, 254, 10, 13]);
  await rep(s.base, 'bin', bin);
  const r = await http(`${s.base}/rsub/bin`);
  t.deepEqual(r.bytes, bin);
  t.is(r.headers.get('content-type'), 'application/octet-stream');
});

test('storeMode none keeps nothing; all keeps delivered reps too', async (t) => {
  const none = await startEsub(t, { storeMode: 'none' });
  const r = await rep(none.base, 'k', 'x');
  t.is(r.status, 404);
  t.is(r.headers.get('x-esub-stored'), null);
  t.is((await http(`${none.base}/rsub/k`)).status, 404);

  const all = await startEsub(t, { storeMode: 'all' });
  const w = await sub(all.base, 'k');
  t.is((await rep(all.base, 'k', 'delivered')).status, 200);
  t.is((await w.answer).body, 'delivered');
  t.is((await http(`${all.base}/rsub/k`)).body, 'delivered');
});

test('stored reps expire after their TTL', async (t) => {
  const s = await startEsub(t, { storeTtlMs: 100 });
  await rep(s.base, 'short', 'x');
  await delay(200);
  t.is((await http(`${s.base}/rsub/short`)).status, 404);
});

test('a psub rep that finds no listener left is stored too', async (t) => {
  const s = await startEsub(t, { confirmReceipt: true, receiptTimeoutMs: 100 });
  await psub(t, s, 'dead');
  const r = await rep(s.base, 'dead', 'kept');
  t.is(r.status, 404);
  t.is(r.body, 'No listeners remain');
  t.is(r.headers.get('x-esub-stored'), '1');
  t.is((await http(`${s.base}/rsub/dead`)).body, 'kept');
});

test('stored reps survive a restart (SQLite store)', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kitsune-esub-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startEsub(t, {}, { memory: false, dataDir });
  t.is((await rep(first.base, 'durable', 'one')).status, 404);
  t.is((await rep(first.base, 'durable', 'two')).status, 404);
  await first.server.close();
  const second = await startEsub(t, {}, { memory: false, dataDir });
  t.is((await http(`${second.base}/rsub/durable`)).body, 'one');
  await second.server.close();
  const third = await startEsub(t, {}, { memory: false, dataDir });
  t.is((await http(`${third.base}/rsub/durable`)).body, 'two');
  t.is((await http(`${third.base}/rsub/durable`)).status, 404);
});

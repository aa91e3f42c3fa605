// One suite for every Store engine (memory and SQLite), run through engineSuite().
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../lib/core/store.ts';
import { LISTING_BUCKETS, listingBucket, QUEUE_DEFAULT_TIMEOUT_MS, QUEUE_WORKER_TTL_MS } from '../lib/core/store.ts';
import { openStore } from '../lib/store/open.ts';
import type { SqliteStore } from '../lib/store/sqlite.ts';
import type { EngineConfig } from '../lib/store/common.ts';
import { GroupCommit } from '../lib/store/sqlite-batch.ts';
import { SqliteQueues } from '../lib/store/sqlite-queues.ts';
import { openDatabase } from '../lib/store/sqlite-schema.ts';
import Database from 'better-sqlite3';

const R = 'realm1';
const enc = (s: string): Uint8Array => Buffer.from(s);
const dec = (b: Uint8Array | string | null | undefined): string | undefined => (b ? Buffer.from(b).toString() : undefined);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Clock {
  t: number;
  now: () => number;
}

function makeClock(): Clock {
  const c: Clock = { t: 1_700_000_000_000, now: () => c.t };
  return c;
}

interface Harness {
  store: Store;
  clock: Clock;
  /** Closes and opens the same store again (durable engines only). */
  reopen(): Promise<Store>;
}

interface Engine {
  name: string;
  durable: boolean;
  open(t: ExecutionContext, options?: { realClock?: boolean; maxQueues?: number; maxQueueItems?: number }): Promise<Harness>;
}

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const memoryEngine: Engine = {
  name: 'memory',
  durable: false,
  async open(t, options = {}) {
    const clock = makeClock();
    const h: Harness = {
      clock,
      store: await openStore({ memory: true, now: options.realClock ? undefined : clock.now, ...limits(options) }),
      reopen: () => Promise.reject(new Error('memory store cannot reopen')),
    };
    t.teardown(() => h.store.close());
    return h;
  },
};

const sqliteEngine: Engine = {
  name: 'sqlite',
  durable: true,
  async open(t, options = {}) {
    const clock = makeClock();
    const dir = tempDir(t);
    const make = (): Promise<Store> =>
      openStore({ dataDir: dir, now: options.realClock ? undefined : clock.now, ...limits(options) });
    const h: Harness = {
      clock,
      store: await make(),
      async reopen() {
        await h.store.close();
        h.store = await make();
        return h.store;
      },
    };
    t.teardown(() => h.store.close());
    return h;
  },
};

function limits(o: { maxQueues?: number; maxQueueItems?: number }): { maxQueues?: number; maxQueueItems?: number } {
  const out: { maxQueues?: number; maxQueueItems?: number } = {};
  if (o.maxQueues !== undefined) out.maxQueues = o.maxQueues;
  if (o.maxQueueItems !== undefined) out.maxQueueItems = o.maxQueueItems;
  return out;
}

function engineSuite(engine: Engine): void {
  const name = (s: string): string => `${engine.name}: ${s}`;
  // reopen tests only exist for engines that keep data
  const durable = (title: string, fn: (t: ExecutionContext) => Promise<void>): void => {
    if (engine.durable) test(title, fn);
  };

  // ------------------------------------------------------------------ retained

  test(name('retained put/get assigns growing versions'), async (t) => {
    const { store } = await engine.open(t);
    t.is(await store.getRetained(R, 'a'), null);
    const v1 = await store.putRetained(R, { key: 'a', value: enc('one') });
    t.true(typeof v1 === 'number' && v1 >= 1);
    const rec = await store.getRetained(R, 'a');
    t.is(dec(rec?.value), 'one');
    t.is(rec?.version, v1 as number);
    t.is(rec?.owner, undefined);
    t.false(rec !== null && 'will' in rec);
    const v2 = await store.putRetained(R, { key: 'b', value: enc('two') });
    const v3 = await store.putRetained(R, { key: 'a', value: enc('three') });
    t.true(v2! > v1!);
    t.true(v3! > v2!);
    t.is(dec((await store.getRetained(R, 'a'))?.value), 'three');
    t.is(await store.getRetained('other', 'a'), null, 'realms are separate');
  });

  test(name('retained compare-and-set and conditional delete'), async (t) => {
    const { store } = await engine.open(t);
    const v1 = await store.putRetained(R, { key: 'k', value: enc('1') }, 0);
    t.truthy(v1);
    t.is(await store.putRetained(R, { key: 'k', value: enc('x') }, 0), null, 'must be absent');
    t.is(await store.putRetained(R, { key: 'k', value: enc('x') }, v1! + 1000), null, 'wrong version');
    const v2 = await store.putRetained(R, { key: 'k', value: enc('2') }, v1!);
    t.truthy(v2);
    t.is(dec((await store.getRetained(R, 'k'))?.value), '2');
    t.false(await store.deleteRetained(R, 'k', v1!), 'stale version');
    t.false(await store.deleteRetained(R, 'k', 0));
    t.true(await store.deleteRetained(R, 'k', v2!));
    t.false(await store.deleteRetained(R, 'k'), 'already gone');
    t.is(await store.putRetained(R, { key: 'k', value: enc('x') }, v2!), null, 'no ABA after delete');
    const v3 = await store.putRetained(R, { key: 'k', value: enc('3') }, 0);
    t.true(v3! > v2!, 're-created key gets a fresh, larger version');
    t.true(await store.deleteRetained(R, 'k'));
  });

  test(name('retained: exactly one of many concurrent writers wins'), async (t) => {
    const { store } = await engine.open(t);
    const first = await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.putRetained(R, { key: 'lock', value: enc(`w${i}`), owner: `s${i}` }, 0)),
    );
    const winners = first.filter((v) => v !== null);
    t.is(winners.length, 1);
    const rec = await store.getRetained(R, 'lock');
    t.is(rec?.version, winners[0] as number);
    t.is(dec(rec?.value), `w${first.findIndex((v) => v !== null)}`);
    // read-modify-write from many "clients" that each read the version first
    const attempts = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const cur = await store.getRetained(R, 'lock');
        await sleep(i % 3);
        return store.putRetained(R, { key: 'lock', value: enc(`r${i}`) }, cur!.version);
      }),
    );
    t.is(attempts.filter((v) => v !== null).length, 1);
  });

  test(name('retained: operations apply in call order without awaiting'), async (t) => {
    const { store } = await engine.open(t);
    const put = store.putRetained(R, { key: 'o', value: enc('v') });
    const get = store.getRetained(R, 'o');
    const del = store.deleteRetained(R, 'o');
    const get2 = store.getRetained(R, 'o');
    t.truthy(await put);
    t.is(dec((await get)?.value), 'v');
    t.true(await del);
    t.is(await get2, null);
  });

  test(name('retained expiry'), async (t) => {
    const { store, clock } = await engine.open(t);
    const v = await store.putRetained(R, { key: 'e', value: enc('x'), expiresAt: clock.t + 1000 });
    await store.putRetained(R, { key: 'f', value: enc('y') });
    t.is((await store.getRetained(R, 'e'))?.expiresAt, clock.t + 1000);
    clock.t += 999;
    t.is(dec((await store.getRetained(R, 'e'))?.value), 'x');
    clock.t += 1;
    t.is(await store.getRetained(R, 'e'), null);
    t.deepEqual(
      (await store.listRetained(R)).map((r) => r.key),
      ['f'],
    );
    t.false(await store.deleteRetained(R, 'e'), 'expired counts as absent');
    await store.putRetained(R, { key: 'g', value: enc('z'), expiresAt: clock.t + 10 });
    t.is(await store.putRetained(R, { key: 'g', value: enc('z2') }, v!), null);
    clock.t += 10;
    t.truthy(await store.putRetained(R, { key: 'g', value: enc('z3') }, 0), 'expired key can be created with expect 0');
    await store.putRetained(R, { key: 'h', value: enc('z'), expiresAt: clock.t + 1 });
    clock.t += 5;
    const swept = await store.sweep();
    t.true(swept.retained >= 1);
    t.deepEqual(
      (await store.listRetained(R)).map((r) => r.key),
      ['f', 'g'],
    );
  });

  test(name('listRetained: prefix, order, realm scope'), async (t) => {
    const { store } = await engine.open(t);
    for (const k of ['hustdb/t/b', 'hustdb/t/a', 'hustdb/u/a', 'hustdb/t', 'x', 'hustdb/tz', 'hustdb/t/\u{1F600}', 'hustdb/t/\uffee']) {
      await store.putRetained(R, { key: k, value: enc(k) });
    }
    await store.putRetained('realm2', { key: 'hustdb/t/c', value: enc('c') });
    t.deepEqual(
      (await store.listRetained(R, 'hustdb/t/')).map((r) => r.key),
      ['hustdb/t/a', 'hustdb/t/b', 'hustdb/t/\uffee', 'hustdb/t/\u{1F600}'],
    );
    t.is((await store.listRetained(R)).length, 8);
    t.is((await store.listRetained(R, '')).length, 8);
    t.deepEqual(
      (await store.listRetained('realm2')).map((r) => r.key),
      ['hustdb/t/c'],
    );
    t.deepEqual(await store.listRetained('nope'), []);
  });

  test(name('wills are listed with their owners'), async (t) => {
    const { store } = await engine.open(t);
    await store.putRetained(R, { key: 'lock/a', value: enc('held'), owner: 's1', will: null });
    await store.putRetained(R, { key: 'status/b', value: enc('online'), owner: 's2', will: enc('offline') });
    await store.putRetained(R, { key: 'plain', value: enc('p'), owner: 's1' });
    await store.putRetained(R, { key: 'nowner', value: enc('p'), will: enc('q') });
    const wills = await store.listWills(R);
    t.deepEqual(
      wills.map((w) => [w.key, w.owner, w.will === null ? null : dec(w.will)]),
      [
        ['lock/a', 's1', null],
        ['status/b', 's2', 'offline'],
      ],
    );
    t.deepEqual(
      (await store.listWills(R, 's2')).map((w) => w.key),
      ['status/b'],
    );
    t.deepEqual(await store.listWills(R, 'nobody'), []);
    // applying a will: conditional on the version listed
    const w = wills[0];
    t.true(await store.deleteRetained(R, w.key, w.version));
    // overwriting without a will removes it from the list
    await store.putRetained(R, { key: 'status/b', value: enc('x'), owner: 's2' });
    t.deepEqual(await store.listWills(R), []);
    const rec = await store.getRetained(R, 'lock/a');
    t.is(rec, null);
    t.is((await store.getRetained(R, 'plain'))?.owner, 's1');
  });

  durable(name('retained records, versions and wills survive reopen'), async (t) => {
    const h = await engine.open(t);
    const v = await h.store.putRetained(R, { key: 'k', value: enc('v'), owner: 'o', will: enc('w'), expiresAt: h.clock.t + 60_000 });
    await h.store.putRetained(R, { key: 'gone', value: enc('v') });
    await h.store.deleteRetained(R, 'gone');
    const store = await h.reopen();
    const rec = await store.getRetained(R, 'k');
    t.deepEqual(
      { ...rec, value: dec(rec?.value), will: dec(rec?.will) },
      { key: 'k', value: 'v', version: v!, revision: 1, updatedAt: h.clock.t, expiresAt: h.clock.t + 60_000, owner: 'o', will: 'w' },
    );
    t.is((await store.listWills(R)).length, 1);
    const v2 = await store.putRetained(R, { key: 'gone', value: enc('v') }, 0);
    t.true(v2! > v!, 'revision counter survives restart');
  });

  // ------------------------------------------------------------------ history

  test(name('history ids are numeric and ordered; filters'), async (t) => {
    const { store, clock } = await engine.open(t);
    const ids: number[] = [];
    for (let i = 0; i < 25; i++) {
      ids.push(await store.appendHistory(R, i % 2 ? 'a/x' : 'b/y', enc(`e${i}`), i === 3 ? enc('hdr') : undefined));
      clock.t += 1;
    }
    await store.appendHistory('realm2', 'a/x', enc('other realm'));
    for (const id of ids) t.is(typeof id, 'number');
    t.deepEqual([...ids].sort((a, b) => a - b), ids);
    t.is(new Set(ids).size, ids.length);
    const all = await store.readHistory(R);
    t.deepEqual(
      all.map((e) => e.id),
      ids,
    );
    t.is(dec(all[3].headers), 'hdr');
    t.is(all[4].headers, undefined);
    t.is(all[0].timestamp + 24, all[24].timestamp);
    const after = await store.readHistory(R, { afterId: ids[9], limit: 3 });
    t.deepEqual(
      after.map((e) => dec(e.value)),
      ['e10', 'e11', 'e12'],
    );
    const onlyA = await store.readHistory(R, { topics: ['a/x'] });
    t.is(onlyA.length, 12);
    t.true(onlyA.every((e) => e.topic === 'a/x'));
    const both = await store.readHistory(R, { topics: ['a/x', 'b/y', 'a/x'], afterId: ids[20] });
    t.deepEqual(
      both.map((e) => e.id),
      ids.slice(21),
    );
    const newest = await store.readHistory(R, { topics: ['b/y'], newest: true, limit: 2 });
    t.deepEqual(
      newest.map((e) => dec(e.value)),
      ['e22', 'e24'],
    );
    const newestAll = await store.readHistory(R, { newest: true, limit: 3 });
    t.deepEqual(
      newestAll.map((e) => dec(e.value)),
      ['e22', 'e23', 'e24'],
    );
    const prefixed = await store.readHistory(R, { prefix: 'a/', limit: 2, afterId: ids[4] });
    t.deepEqual(
      prefixed.map((e) => dec(e.value)),
      ['e5', 'e7'],
    );
    t.deepEqual(await store.readHistory(R, { prefix: 'b/', topics: ['a/x'] }), []);
    t.deepEqual(await store.readHistory(R, { limit: 0 }), []);
    t.is((await store.readHistory('realm2')).length, 1);
  });

  test(name('history: a proposed id is used when it is above every id used'), async (t) => {
    const { store } = await engine.open(t);
    const a = await store.appendHistory(R, 't', enc('a'));
    const big = 1_700_000_000_000_000; // a µs timestamp, as core uses for publication ids
    t.is(await store.appendHistory(R, 't', enc('b'), undefined, big), big);
    t.is(await store.appendHistory('realm2', 't', enc('c'), undefined, big), big + 1, 'ids are store-wide: taken → next');
    t.is(await store.appendHistory(R, 't', enc('d'), undefined, a), big + 2, 'not above the last → next');
    t.is(await store.appendHistory(R, 't', enc('e')), big + 3);
    const batch = await Promise.all([
      store.appendHistory(R, 't', enc('f'), undefined, big + 10),
      store.appendHistory(R, 't', enc('g'), undefined, big + 10),
      store.appendHistory(R, 't', enc('h'), undefined, big + 20),
    ]);
    t.deepEqual(batch, [big + 10, big + 11, big + 20]);
    t.deepEqual(
      (await store.readHistory(R, { afterId: a })).map((e) => [e.id, dec(e.value)]),
      [
        [big, 'b'],
        [big + 2, 'd'],
        [big + 3, 'e'],
        [big + 10, 'f'],
        [big + 11, 'g'],
        [big + 20, 'h'],
      ],
    );
    await t.throwsAsync(store.appendHistory(R, 't', enc('x'), undefined, -5), { instanceOf: RangeError });
  });

  test(name('history pruning by count per topic and by age'), async (t) => {
    const { store, clock } = await engine.open(t);
    for (let i = 0; i < 10; i++) {
      await store.appendHistory(R, 'a', enc(`a${i}`));
      await store.appendHistory(R, 'b', enc(`b${i}`));
      clock.t += 1000;
    }
    t.is(await store.pruneHistory(R, { maxCount: 8, topic: 'a' }), 2);
    t.is(await store.pruneHistory(R, { maxCount: 5 }), 3 + 5);
    const left = await store.readHistory(R);
    t.deepEqual(
      left.map((e) => dec(e.value)),
      ['a5', 'b5', 'a6', 'b6', 'a7', 'b7', 'a8', 'b8', 'a9', 'b9'],
    );
    // entries are 1000 ms apart; now = last + 1000
    t.is(await store.pruneHistory(R, { maxAgeMs: 2500, topic: 'b' }), 3);
    t.is(await store.pruneHistory(R, { maxAgeMs: 2500 }), 3);
    t.deepEqual(
      (await store.readHistory(R)).map((e) => dec(e.value)),
      ['a8', 'a9', 'b8', 'b9'].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1)) || x.localeCompare(y)),
    );
    t.is(await store.pruneHistory(R, { maxCount: 0 }), 4);
    t.is(await store.pruneHistory('nope', { maxCount: 0 }), 0);
  });

  durable(name('history ids keep growing across reopen, even after pruning everything'), async (t) => {
    const h = await engine.open(t);
    let last = 0;
    for (let i = 0; i < 11; i++) last = await h.store.appendHistory(R, 't', enc(String(i)));
    last = await h.store.appendHistory(R, 't', enc('proposed'), undefined, last + 1000);
    await h.store.pruneHistory(R, { maxCount: 0 });
    let store = await h.reopen();
    const next = await store.appendHistory(R, 't', enc('after'));
    t.is(typeof next, 'number');
    t.true(next > last);
    store = await h.reopen();
    const again = await store.appendHistory(R, 't', enc('again'));
    t.true(again > next);
    t.deepEqual(
      (await store.readHistory(R, { afterId: last })).map((e) => e.id),
      [next, again],
    );
  });

  // ------------------------------------------------------------------ queues

  test(name('queue: 100 puts come back FIFO'), async (t) => {
    const { store } = await engine.open(t);
    for (let i = 0; i < 100; i++) t.is(await store.queuePut(R, 'q', enc(`test_body_${i}`)), 'ok');
    const got: string[] = [];
    for (let i = 0; i < 100; i++) got.push(dec((await store.queueGet(R, 'q', { worker: 'testworker' }))?.value)!);
    t.deepEqual(
      got,
      Array.from({ length: 100 }, (_, i) => `test_body_${i}`),
    );
    t.is(await store.queueGet(R, 'q'), null);
    t.truthy(await store.queueStat(R, 'q'), 'an emptied queue still exists');
  });

  test(name('queue: concurrent puts in one tick keep call order'), async (t) => {
    const { store } = await engine.open(t);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.queuePut(R, 'q', enc(String(i)))));
    t.true(results.every((r) => r === 'ok'));
    const gets = await Promise.all(Array.from({ length: 51 }, () => store.queueGet(R, 'q')));
    t.deepEqual(
      gets.map((g) => dec(g?.value)),
      [...Array.from({ length: 50 }, (_, i) => String(i)), undefined],
    );
  });

  test(name('queue: priorities drain highest first, FIFO within'), async (t) => {
    const { store } = await engine.open(t);
    await store.queuePut(R, 'q', enc('a'), 0);
    await store.queuePut(R, 'q', enc('b'), 1);
    await store.queuePut(R, 'q', enc('c'), 2);
    await store.queuePut(R, 'q', enc('d'), 0);
    await store.queuePut(R, 'q', enc('e'), 2);
    await store.queuePut(R, 'q', enc('f'), 1);
    t.deepEqual((await store.queueStat(R, 'q'))?.ready, [2, 2, 2]);
    const order: [string | undefined, number | undefined][] = [];
    for (let i = 0; i < 6; i++) {
      const item = await store.queueGet(R, 'q');
      order.push([dec(item?.value), item?.priority]);
    }
    t.deepEqual(order, [
      ['c', 2],
      ['e', 2],
      ['b', 1],
      ['f', 1],
      ['a', 0],
      ['d', 0],
    ]);
    await t.throwsAsync(store.queuePut(R, 'q', enc('x'), 3 as 0), { instanceOf: RangeError });
  });

  test(name('queue: ack tokens, unacked count, redelivery after timeout'), async (t) => {
    const { store, clock } = await engine.open(t);
    await store.queuePut(R, 'q', enc('job1'));
    await store.queuePut(R, 'q', enc('job2'), 1);
    t.true(await store.queueSetTimeout(R, 'q', 500));
    const a = await store.queueGet(R, 'q', { ack: false });
    t.is(dec(a?.value), 'job2');
    t.regex(a!.token!, /^1:\d+$/);
    t.false(a!.redelivered);
    const b = await store.queueGet(R, 'q', { ack: false });
    t.is(dec(b?.value), 'job1');
    t.regex(b!.token!, /^0:\d+$/);
    let stat = await store.queueStat(R, 'q');
    t.deepEqual(stat?.ready, [0, 0, 0]);
    t.is(stat?.unacked, 2);
    t.is(await store.queueGet(R, 'q'), null, 'nothing ready, nothing timed out');
    t.true(await store.queueAck(R, 'q', b!.token!));
    t.false(await store.queueAck(R, 'q', b!.token!), 'already acked');
    t.false(await store.queueAck(R, 'q', 'garbage'));
    t.false(await store.queueAck(R, 'q', `2:${b!.token!.slice(2)}`), 'wrong priority in token');
    t.false(await store.queueAck(R, 'nope', a!.token!));
    clock.t += 499;
    t.is(await store.queueGet(R, 'q'), null);
    clock.t += 1;
    const again = await store.queueGet(R, 'q', { ack: false });
    t.is(dec(again?.value), 'job2', 'redelivered');
    t.true(again!.redelivered);
    t.is(again!.token, a!.token);
    t.is((await store.queueStat(R, 'q'))?.unacked, 1);
    clock.t += 500;
    const third = await store.queueGet(R, 'q');
    t.is(dec(third?.value), 'job2');
    t.is(third?.token, undefined, 'taken with ack=true: no token');
    stat = await store.queueStat(R, 'q');
    t.is(stat?.unacked, 0);
    t.false(await store.queueAck(R, 'q', a!.token!), 'deleted by the acked redelivery');
  });

  test(name('queue: redelivery with a sub-second real timeout'), async (t) => {
    const { store } = await engine.open(t, { realClock: true });
    await store.queuePut(R, 'q', enc('job'));
    await store.queueSetTimeout(R, 'q', 200);
    const t0 = Date.now();
    const first = await store.queueGet(R, 'q', { ack: false });
    t.truthy(first);
    const second = await store.queueGet(R, 'q');
    if (Date.now() - t0 < 200) t.is(second, null, 'not redelivered before the timeout');
    // Under load the second get may itself come after the timeout: then it is the redelivery
    // (taken with ack=true), and there must be no other.
    let redelivered = second;
    if (redelivered === null) {
      await sleep(250);
      redelivered = await store.queueGet(R, 'q');
    } else {
      t.true(Date.now() - t0 >= 200, 'redelivered only after the timeout');
    }
    t.is(dec(redelivered?.value), 'job');
    t.true(redelivered?.redelivered);
    t.is(await store.queueGet(R, 'q'), null);
  });

  test(name('queue: lock refuses puts but serves gets'), async (t) => {
    const { store } = await engine.open(t);
    await store.queuePut(R, 'q', enc('1'));
    t.true(await store.queueSetLock(R, 'q', true));
    t.is(await store.queuePut(R, 'q', enc('2')), 'locked');
    t.true((await store.queueStat(R, 'q'))!.locked);
    t.is(dec((await store.queueGet(R, 'q'))?.value), '1');
    t.true(await store.queueSetLock(R, 'q', false));
    t.is(await store.queuePut(R, 'q', enc('3')), 'ok');
    t.false(await store.queueSetLock(R, 'nope', true));
  });

  test(name('queue: max caps the ready total'), async (t) => {
    const { store } = await engine.open(t);
    await store.queuePut(R, 'q', enc('1'));
    t.true(await store.queueSetMax(R, 'q', 2));
    t.is(await store.queuePut(R, 'q', enc('2'), 2), 'ok');
    t.is(await store.queuePut(R, 'q', enc('3')), 'full');
    await store.queueGet(R, 'q', { ack: false });
    t.is(await store.queuePut(R, 'q', enc('4')), 'ok', 'unacked items do not count against max');
    t.is((await store.queueStat(R, 'q'))?.max, 2);
    t.true(await store.queueSetMax(R, 'q', 0));
    t.is(await store.queuePut(R, 'q', enc('5')), 'ok');
    t.false(await store.queueSetMax(R, 'nope', 1));
    await t.throwsAsync(store.queueSetMax(R, 'q', -1), { instanceOf: RangeError });
  });

  test(name('queue: engine limits on items and queues'), async (t) => {
    const { store } = await engine.open(t, { maxQueues: 2, maxQueueItems: 3 });
    t.is(await store.queuePut(R, 'a', enc('1')), 'ok');
    t.is(await store.queuePut(R, 'b', enc('1')), 'ok');
    t.is(await store.queuePut(R, 'c', enc('1')), 'too_many_queues');
    t.is(await store.queuePut('realm2', 'c', enc('1')), 'ok', 'limit is per realm');
    await store.queuePut(R, 'a', enc('2'));
    await store.queueGet(R, 'a', { ack: false });
    await store.queuePut(R, 'a', enc('3'));
    t.is(await store.queuePut(R, 'a', enc('4')), 'full', 'ready + unacked reached maxQueueItems');
  });

  test(name('queue: purge drops a priority, and the queue once nothing is ready'), async (t) => {
    const { store } = await engine.open(t);
    await store.queuePut(R, 'q', enc('a'), 0);
    await store.queuePut(R, 'q', enc('b'), 0);
    await store.queuePut(R, 'q', enc('c'), 1);
    await store.queuePut(R, 'q', enc('d'), 2);
    const unacked = await store.queueGet(R, 'q', { ack: false, worker: 'worker1' });
    t.is(dec(unacked?.value), 'd');
    t.true(await store.queuePurge(R, 'q', 0));
    let stat = await store.queueStat(R, 'q');
    t.deepEqual(stat?.ready, [0, 1, 0]);
    t.is(stat?.unacked, 1);
    t.is(stat?.si, stat?.ci);
    t.true(await store.queuePurge(R, 'q', 2), 'purging an empty priority is fine');
    t.truthy(await store.queueStat(R, 'q'));
    t.true(await store.queuePurge(R, 'q', 1));
    t.is(await store.queueStat(R, 'q'), null, 'queue dropped');
    t.false(await store.queueAck(R, 'q', unacked!.token!), 'unacked items dropped with it');
    t.is(await store.listWorkers(R, 'q'), null);
    t.false(await store.queuePurge(R, 'q', 0));
    // a new queue of the same name starts fresh
    await store.queuePut(R, 'q', enc('z'));
    stat = await store.queueStat(R, 'q');
    t.deepEqual(stat?.ready, [1, 0, 0]);
    t.is(stat?.unacked, 0);
    t.deepEqual(await store.listWorkers(R, 'q'), []);
    t.true(await store.queuePurge(R, 'q'));
    t.is(await store.queueStat(R, 'q'), null);
  });

  test(name('queue: items of every size keep their bytes and their order, through ack=false, redelivery and purge'), async (t) => {
    const { store, clock } = await engine.open(t);
    const items = [
      Buffer.from('small'),
      Buffer.alloc(300, 'b'), // over the SQLite engine's inline size
      Buffer.from([0xff, 0xfe, 0x00]),
      Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff)),
      Buffer.alloc(256, 'c'),
      Buffer.alloc(257, 'd'),
    ];
    for (const item of items) t.is(await store.queuePut(R, 'q', item), 'ok');
    t.is(await store.queuePut(R, 'q', Buffer.alloc(1000, 'p'), 1), 'ok');
    const bytes = (v: Uint8Array | string | undefined): Buffer => Buffer.from(v ?? '');
    t.deepEqual(bytes((await store.queueGet(R, 'q'))?.value), Buffer.alloc(1000, 'p'), 'priority 1 first');
    t.deepEqual(bytes((await store.queueGet(R, 'q'))?.value), items[0]);
    const big = await store.queueGet(R, 'q', { ack: false });
    t.deepEqual(bytes(big?.value), items[1]);
    await store.queueSetTimeout(R, 'q', 1000);
    clock.t += 1000;
    const again = await store.queueGet(R, 'q', { ack: false });
    t.true(again?.redelivered);
    t.deepEqual(bytes(again?.value), items[1], 'a large unacked item is served again whole');
    t.true(await store.queueAck(R, 'q', again!.token!));
    t.deepEqual(bytes((await store.queueGet(R, 'q'))?.value), items[2]);
    t.deepEqual(bytes((await store.queueGet(R, 'q'))?.value), items[3]);
    t.deepEqual((await store.queueStat(R, 'q'))?.ready, [2, 0, 0]);
    t.true(await store.queuePurge(R, 'q', 0));
    t.is(await store.queueStat(R, 'q'), null);
    t.is(await store.queuePut(R, 'q', items[5]), 'ok');
    t.deepEqual(bytes((await store.queueGet(R, 'q'))?.value), items[5], 'a new queue of the name has only its own items');
    t.is(await store.queueGet(R, 'q'), null);
  });

  durable(name('queue: ack tokens are never reused, across a dropped queue and a restart'), async (t) => {
    const h = await engine.open(t);
    const seq = (token: string | undefined): number => Number(token?.split(':')[1]);
    await h.store.queuePut(R, 'q', enc('one'));
    const first = await h.store.queueGet(R, 'q', { ack: false });
    t.true(await h.store.queuePurge(R, 'q'));
    t.is(await h.store.queueStat(R, 'q'), null, 'dropped with its unacked item');
    await h.store.queuePut(R, 'q', enc('two'));
    const second = await h.store.queueGet(R, 'q', { ack: false });
    t.true(seq(second?.token) > seq(first?.token));
    t.false(await h.store.queueAck(R, 'q', first!.token!), 'the token of the dropped item names nothing');
    await h.store.queuePut(R, 'q', enc('three'));
    const store = await h.reopen();
    await store.queuePut(R, 'q', enc('four'));
    t.is(dec((await store.queueGet(R, 'q'))?.value), 'three');
    const fourth = await store.queueGet(R, 'q', { ack: false });
    t.is(dec(fourth?.value), 'four');
    t.true(seq(fourth?.token) > seq(second?.token), 'ids go on above every id used before the restart');
    t.true(await store.queueAck(R, 'q', second!.token!), 'an unacked item survives the restart');
    t.true(await store.queueAck(R, 'q', fourth!.token!));
    t.is((await store.queueStat(R, 'q'))?.unacked, 0);
  });

  test(name('queue: workers are recorded on get and expire after 512 s'), async (t) => {
    const { store, clock } = await engine.open(t);
    t.false(await store.touchWorker(R, 'q', 'early'), 'unknown queue');
    t.is(await store.listWorkers(R, 'q'), null);
    await store.queuePut(R, 'q', enc('x'));
    await store.queueGet(R, 'q', { worker: 'testworker1' });
    await store.queueGet(R, 'q', { worker: 'testworker2' }); // empty, still recorded
    const t0 = clock.t;
    clock.t += 100_000;
    t.true(await store.touchWorker(R, 'q', 'testworker3'));
    await store.queueGet(R, 'q', { worker: 'testworker1' });
    t.deepEqual(await store.listWorkers(R, 'q'), [
      { name: 'testworker1', seenAt: t0 + 100_000 },
      { name: 'testworker2', seenAt: t0 },
      { name: 'testworker3', seenAt: t0 + 100_000 },
    ]);
    clock.t = t0 + QUEUE_WORKER_TTL_MS;
    t.deepEqual(
      (await store.listWorkers(R, 'q'))!.map((w) => w.name),
      ['testworker1', 'testworker3'],
    );
    t.is((await store.sweep()).workers, 1);
    clock.t += 100_000;
    t.deepEqual(await store.listWorkers(R, 'q'), []);
  });

  test(name('queue: stat and statAll'), async (t) => {
    const { store, clock } = await engine.open(t);
    const created = clock.t;
    await store.queuePut(R, 'zq', enc('1'), 0);
    await store.queuePut(R, 'zq', enc('2'), 0);
    await store.queuePut(R, 'zq', enc('3'), 2);
    clock.t += 5;
    await store.queuePut(R, 'aq', enc('1'), 1);
    await store.queueGet(R, 'zq', { ack: false });
    await store.queueGet(R, 'zq');
    await store.queueSetMax(R, 'zq', 10);
    await store.queueSetLock(R, 'aq', true);
    t.deepEqual(await store.queueStat(R, 'zq'), {
      queue: 'zq',
      ready: [1, 0, 0],
      unacked: 1,
      max: 10,
      locked: false,
      timeoutMs: QUEUE_DEFAULT_TIMEOUT_MS,
      si: 1,
      ci: 2,
      createdAt: created,
    });
    const all = await store.queueStatAll(R);
    t.deepEqual(
      all.map((s) => [s.queue, s.locked, s.createdAt]),
      [
        ['aq', true, created + 5],
        ['zq', false, created],
      ],
    );
    t.deepEqual(await store.queueStatAll('realm2'), []);
    t.is(await store.queueStat(R, 'nope'), null);
    t.is(await store.queueGet(R, 'nope'), null);
    t.false(await store.queueSetTimeout(R, 'nope', 1000));
    await t.throwsAsync(store.queueSetTimeout(R, 'zq', 0), { instanceOf: RangeError });
  });

  durable(name('queues survive reopen: items, unacked, settings, workers'), async (t) => {
    const h = await engine.open(t);
    for (let i = 0; i < 5; i++) await h.store.queuePut(R, 'q', enc(`i${i}`), (i % 3) as 0 | 1 | 2);
    await h.store.queueSetTimeout(R, 'q', 60_000);
    await h.store.queueSetMax(R, 'q', 50);
    const taken = await h.store.queueGet(R, 'q', { ack: false, worker: 'wrk01' });
    await h.store.queueSetLock(R, 'q', true);
    const before = await h.store.queueStat(R, 'q');
    const store = await h.reopen();
    t.deepEqual(await store.queueStat(R, 'q'), before);
    t.deepEqual(
      (await store.listWorkers(R, 'q'))!.map((w) => w.name),
      ['wrk01'],
    );
    t.true(await store.queueAck(R, 'q', taken!.token!), 'token still valid after restart');
    const rest: string[] = [];
    for (;;) {
      const item = await store.queueGet(R, 'q');
      if (!item) break;
      rest.push(dec(item.value)!);
    }
    t.deepEqual(rest, ['i1', 'i4', 'i0', 'i3']);
  });

  durable(name('queues: gets, acks, puts, purges and touches mixed in one tick, then reopen'), async (t) => {
    const h = await engine.open(t);
    for (let i = 0; i < 6; i++) await h.store.queuePut(R, 'q', enc(`i${i}`), (i % 2) as 0 | 1);
    await h.store.queuePut(R, 'p', enc('p0'));
    await h.store.queuePut(R, 'p', enc('p1'), 2);
    // all of these run in one group commit (SQLite) in call order
    const s = h.store;
    const ops = [
      s.queueGet(R, 'q', { worker: 'w1' }), // i1 (priority 1)
      s.queueGet(R, 'q', { worker: 'w1' }), // i3
      s.queueGet(R, 'q', { ack: false, worker: 'w2' }), // i5, unacked
      s.queueGet(R, 'q', { worker: 'w1' }), // i0
      s.queuePut(R, 'q', enc('n1'), 1),
      s.queueGet(R, 'q'), // n1
      s.queueGet(R, 'q'), // i2
      s.queueStat(R, 'q'),
      s.listWorkers(R, 'q'),
      s.queueGet(R, 'p'), // p1
      s.queuePurge(R, 'p', 0), // drops p
      s.queueStat(R, 'p'),
      s.queueStatAll(R),
    ] as const;
    const r = await Promise.all(ops);
    t.deepEqual(
      [r[0], r[1], r[2], r[3], r[5], r[6], r[9]].map((x) => dec((x as { value: Uint8Array } | null)?.value)),
      ['i1', 'i3', 'i5', 'i0', 'n1', 'i2', 'p1'],
    );
    const token = (r[2] as { token?: string }).token!;
    t.deepEqual((r[7] as { ready: number[]; unacked: number }).ready, [1, 0, 0]);
    t.is((r[7] as { unacked: number }).unacked, 1);
    t.deepEqual(
      (r[8] as { name: string }[]).map((w) => w.name),
      ['w1', 'w2'],
    );
    t.true(r[10] as boolean);
    t.is(r[11], null, 'purged to empty: dropped');
    t.deepEqual(
      (r[12] as { queue: string }[]).map((x) => x.queue),
      ['q'],
    );
    const before = await s.queueStat(R, 'q');
    const store = await h.reopen();
    t.deepEqual(await store.queueStat(R, 'q'), before);
    t.is(await store.queueStat(R, 'p'), null);
    t.true(await store.queueAck(R, 'q', token));
    t.is(dec((await store.queueGet(R, 'q'))?.value), 'i4');
    t.is(await store.queueGet(R, 'q'), null);
    t.deepEqual((await store.queueStat(R, 'q'))?.ready, [0, 0, 0]);
  });

  // ------------------------------------------------------------------ MQTT

  const session = {
    subscriptions: [
      { filter: 'a/+/c', qos: 1 as const, noLocal: false, retainAsPublished: true, retainHandling: 0 as const },
      { filter: '$share/g/x/#', qos: 2 as const, noLocal: true, retainAsPublished: false, retainHandling: 2 as const, subscriptionIdentifier: 7 },
    ],
    expiryInterval: 3600,
    protocolVersion: 5,
  };

  test(name('MQTT sessions: save, load, list, delete'), async (t) => {
    const { store } = await engine.open(t);
    t.is(await store.loadMqttSession(R, 'c1'), null);
    await store.saveMqttSession(R, 'c1', session);
    await store.saveMqttSession(R, 'c0', { subscriptions: [], expiryInterval: 0, disconnectedAt: 123, extra: enc('will') });
    t.deepEqual(await store.loadMqttSession(R, 'c1'), session);
    const c0 = await store.loadMqttSession(R, 'c0');
    t.is(dec(c0?.extra), 'will');
    t.is(c0?.disconnectedAt, 123);
    t.deepEqual(
      (await store.listMqttSessions(R)).map((s) => s.clientId),
      ['c0', 'c1'],
    );
    t.deepEqual(await store.listMqttSessions('realm2'), []);
    await store.saveMqttSession(R, 'c1', { ...session, subscriptions: [] });
    t.deepEqual((await store.loadMqttSession(R, 'c1'))?.subscriptions, []);
    await store.deleteMqttSession(R, 'c1');
    t.is(await store.loadMqttSession(R, 'c1'), null);
    await t.throwsAsync(store.saveMqttSession(R, 'bad', {} as never), { instanceOf: TypeError });
  });

  test(name('MQTT offline queue and in-flight state'), async (t) => {
    const { store } = await engine.open(t);
    await store.saveMqttSession(R, 'c', session);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(await store.enqueueMqtt(R, 'c', enc(`m${i}`)));
    t.deepEqual([...ids].sort((a, b) => a - b), ids);
    // peek reads without removing
    t.deepEqual(
      (await store.peekMqtt(R, 'c', 2)).map((m) => [m.id, dec(m.value)]),
      [
        [ids[0], 'm0'],
        [ids[1], 'm1'],
      ],
    );
    t.is((await store.peekMqtt(R, 'c')).length, 5);
    t.deepEqual(await store.peekMqtt(R, 'other'), []);
    const first = await store.drainMqtt(R, 'c', 2);
    t.deepEqual(
      first.map((m) => [m.id, dec(m.value)]),
      [
        [ids[0], 'm0'],
        [ids[1], 'm1'],
      ],
    );
    await store.enqueueMqtt(R, 'c', enc('m5'), 3); // keeps only the newest 3
    t.deepEqual(
      (await store.drainMqtt(R, 'c')).map((m) => dec(m.value)),
      ['m3', 'm4', 'm5'],
    );
    t.deepEqual(await store.drainMqtt(R, 'c'), []);

    await store.putInflight(R, 'c', 10, enc('publish-10'));
    await store.putInflight(R, 'c', 3, enc('publish-3'));
    await store.putInflight(R, 'c', 7, enc('publish-7'));
    await store.putInflight(R, 'c', 10, enc('pubrel-10')); // state change keeps its place
    t.deepEqual(
      (await store.listInflight(R, 'c')).map((f) => [f.packetId, dec(f.value)]),
      [
        [10, 'pubrel-10'],
        [3, 'publish-3'],
        [7, 'publish-7'],
      ],
    );
    t.true(await store.deleteInflight(R, 'c', 3));
    t.false(await store.deleteInflight(R, 'c', 3));
    t.deepEqual(await store.listInflight(R, 'other'), []);
    await t.throwsAsync(store.putInflight(R, 'c', 0, enc('x')), { instanceOf: RangeError });

    await store.enqueueMqtt(R, 'c', enc('late'));
    await store.deleteMqttSession(R, 'c');
    t.deepEqual(await store.listInflight(R, 'c'), []);
    t.deepEqual(await store.drainMqtt(R, 'c'), []);
  });

  durable(name('MQTT session, offline queue and in-flight survive reopen'), async (t) => {
    const h = await engine.open(t);
    await h.store.saveMqttSession(R, 'c', { ...session, extra: enc('e') });
    await h.store.enqueueMqtt(R, 'c', enc('q1'));
    const q2 = await h.store.enqueueMqtt(R, 'c', enc('q2'));
    await h.store.putInflight(R, 'c', 2, enc('f2'));
    await h.store.putInflight(R, 'c', 1, enc('f1'));
    const store = await h.reopen();
    t.deepEqual(await store.loadMqttSession(R, 'c'), { ...session, extra: new Uint8Array(enc('e')) });
    t.deepEqual(
      (await store.listInflight(R, 'c')).map((f) => f.packetId),
      [2, 1],
    );
    t.deepEqual(
      (await store.drainMqtt(R, 'c')).map((m) => dec(m.value)),
      ['q1', 'q2'],
    );
    t.true((await store.enqueueMqtt(R, 'c', enc('q3'))) > q2);
  });

  // ------------------------------------------------------------------ replies

  test(name('stored replies: ordered, taken once, TTL'), async (t) => {
    const { store, clock } = await engine.open(t);
    await store.storeReply(R, 'k', enc('r1'), 1000);
    await store.storeReply(R, 'k', enc('r2'), 5000);
    await store.storeReply(R, 'k', enc('r3'), 2000);
    await store.storeReply(R, 'other', enc('o'), 100);
    await store.storeReply('realm2', 'k', enc('x'), 5000);
    clock.t += 1000;
    t.deepEqual(
      (await store.takeReplies(R, 'k')).map(dec),
      ['r2', 'r3'],
    );
    t.deepEqual(await store.takeReplies(R, 'k'), []);
    t.is((await store.sweep()).replies, 1);
    t.deepEqual(await store.takeReplies(R, 'other'), []);
    t.deepEqual(
      (await store.takeReplies('realm2', 'k')).map(dec),
      ['x'],
    );
    await t.throwsAsync(store.storeReply(R, 'k', enc('r'), 0), { instanceOf: RangeError });
  });

  durable(name('stored replies survive reopen, expiry still applies'), async (t) => {
    const h = await engine.open(t);
    await h.store.storeReply(R, 'k', enc('short'), 10);
    await h.store.storeReply(R, 'k', enc('long'), 60_000);
    const store = await h.reopen();
    h.clock.t += 10;
    t.deepEqual(
      (await store.takeReplies(R, 'k')).map(dec),
      ['long'],
    );
  });

  // ------------------------------------------------------------------ retained revisions, collections (hustdb)

  test(name('retained revision: 1 on creation, +1 per write, forgotten by delete and expiry'), async (t) => {
    const h = await engine.open(t);
    const { store } = h;
    await store.putRetained(R, { key: 'r', value: enc('a') });
    t.is((await store.getRetained(R, 'r'))?.revision, 1);
    await store.putRetained(R, { key: 'r', value: enc('b'), expiresAt: h.clock.t + 1000 });
    t.is((await store.getRetained(R, 'r'))?.revision, 2);
    h.clock.t += 1000;
    await store.putRetained(R, { key: 'r', value: enc('c') });
    t.is((await store.getRetained(R, 'r'))?.revision, 1, 'expired record is gone');
    await store.putRetained(R, { key: 'r', value: enc('d'), revision: 7 });
    t.is((await store.getRetained(R, 'r'))?.revision, 7, 'a revision core assigned is kept');
    t.true(await store.deleteRetained(R, 'r'));
    await store.putRetained(R, { key: 'r', value: enc('e') });
    t.is((await store.getRetained(R, 'r'))?.revision, 1);
    t.is((await store.listRetained(R, 'r'))[0]?.revision, 1);
  });

  durable(name('retained revision survives reopen'), async (t) => {
    const h = await engine.open(t);
    await h.store.putRetained(R, { key: 'r', value: enc('a') });
    await h.store.putRetained(R, { key: 'r', value: enc('b') });
    const store = await h.reopen();
    t.is((await store.getRetained(R, 'r'))?.revision, 2);
  });

  const m = (s: string): Uint8Array => Buffer.from(s);
  const names = (list: { member: Uint8Array }[] | 'wrong_type'): string[] => (list === 'wrong_type' ? ['wrong_type'] : list.map((x) => Buffer.from(x.member).toString()));

  test(name('sets: add, versions, get, remove, ordered paging'), async (t) => {
    const { store } = await engine.open(t);
    t.deepEqual(await store.collectionPut(R, { kind: 'set', table: 's', member: m('b') }), { version: 1, score: 0 });
    t.deepEqual(await store.collectionPut(R, { kind: 'set', table: 's', member: m('b') }), { version: 2, score: 0 });
    for (const x of ['d', 'a', 'c']) await store.collectionPut(R, { kind: 'set', table: 's', member: m(x) });
    t.is(((await store.collectionGet(R, 'set', 's', m('b'))) as { version: number }).version, 2);
    t.is(await store.collectionGet(R, 'set', 's', m('zz')), null);
    t.is(await store.collectionGet(R, 'set', 'nope', m('a')), null);
    t.deepEqual(names(await store.collectionRange(R, 'set', 's', { offset: 0, limit: 10 })), ['a', 'b', 'c', 'd']);
    t.deepEqual(names(await store.collectionRange(R, 'set', 's', { offset: 1, limit: 2 })), ['b', 'c']);
    t.is(await store.collectionPut(R, { kind: 'set', table: 's', member: m('a'), expectVersion: 5 }), 'version_mismatch');
    t.deepEqual(await store.collectionPut(R, { kind: 'set', table: 's', member: m('a'), expectVersion: 1 }), { version: 2, score: 0 });
    t.is(await store.collectionDelete(R, 'set', 's', m('a'), 1), 'version_mismatch');
    t.deepEqual(await store.collectionDelete(R, 'set', 's', m('a')), { version: 2, score: 0 });
    t.is(await store.collectionDelete(R, 'set', 's', m('a')), 'missing');
    t.deepEqual(await store.collectionPut(R, { kind: 'set', table: 's', member: m('a') }), { version: 1, score: 0 }, 'delete forgets the version');
    t.deepEqual(await store.collectionTables(R), [{ table: 's', kind: 'set', count: 4 }]);
    t.is(await store.collectionKind(R, 's'), 'set');
    t.is(await store.collectionKind(R, 'none'), null);
  });

  test(name('a table has one kind; its last member removed frees the name'), async (t) => {
    const { store } = await engine.open(t);
    await store.collectionPut(R, { kind: 'set', table: 't', member: m('x') });
    t.is(await store.collectionPut(R, { kind: 'zset', table: 't', member: m('x'), score: 1 }), 'wrong_type');
    t.is(await store.collectionGet(R, 'zset', 't', m('x')), 'wrong_type');
    t.is(await store.collectionRange(R, 'zset', 't', { offset: 0, limit: 5 }), 'wrong_type');
    t.is(await store.collectionDelete(R, 'zset', 't', m('x')), 'wrong_type');
    t.truthy(await store.collectionDelete(R, 'set', 't', m('x')));
    t.deepEqual(await store.collectionTables(R), []);
    t.deepEqual(await store.collectionPut(R, { kind: 'zset', table: 't', member: m('x'), score: 3 }), { version: 1, score: 3 });
    t.deepEqual(await store.collectionTables('other'), [], 'realms are separate');
  });

  test(name('sets: bucket ranges page in (bucket, member) order and split the set without loss'), async (t) => {
    const { store } = await engine.open(t);
    const all = Array.from({ length: 300 }, (_, i) => `member-${i}`);
    await Promise.all(all.map((x) => store.collectionPut(R, { kind: 'set', table: 'b', member: m(x) })));
    await store.collectionPut(R, { kind: 'set', table: 'other', member: m('member-1') });
    const byBucket = (x: string): number => listingBucket(m(x));
    const expected = (start: number, end: number): string[] =>
      all.filter((x) => byBucket(x) >= start && byBucket(x) < end).sort((a, b) => byBucket(a) - byBucket(b) || Buffer.compare(m(a), m(b)));
    const page = async (start: number, end: number, offset: number, limit: number): Promise<string[]> =>
      names(await store.collectionRange(R, 'set', 'b', { offset, limit, buckets: { start, end } }));
    t.deepEqual(await page(0, LISTING_BUCKETS, 0, 1000), expected(0, LISTING_BUCKETS));
    const low = await page(0, 512, 0, 1000);
    const high = await page(512, LISTING_BUCKETS, 0, 1000);
    t.deepEqual(low, expected(0, 512));
    t.is(low.length + high.length, all.length, 'two halves hold every member once');
    t.deepEqual(await page(100, 400, 5, 7), expected(100, 400).slice(5, 12));
    const one = byBucket('member-7');
    t.true((await page(one, one + 1, 0, 1000)).includes('member-7'));
    await store.collectionDelete(R, 'set', 'b', m('member-7'));
    t.false((await page(one, one + 1, 0, 1000)).includes('member-7'), 'a removed member leaves the bucket index');
    await t.throwsAsync(store.collectionRange(R, 'set', 'b', { offset: 0, limit: 1, buckets: { start: 5, end: 5 } }), { instanceOf: RangeError });
    await store.collectionPut(R, { kind: 'zset', table: 'z', member: m('x'), score: 1 });
    await t.throwsAsync(store.collectionRange(R, 'zset', 'z', { offset: 0, limit: 1, buckets: { start: 0, end: 9 } }), { instanceOf: RangeError, message: /sets only/ });
  });

  test(name('sorted sets: score modes, order by score then member, inclusive score ranges'), async (t) => {
    const { store } = await engine.open(t);
    const add = (x: string, score: number, scoreMode?: 'set' | 'add' | 'sub') => store.collectionPut(R, { kind: 'zset', table: 'z', member: m(x), score, scoreMode });
    await add('c', 3);
    await add('a', 1);
    await add('b', 2);
    await add('bb', 2);
    t.deepEqual(await add('a', 10, 'add'), { version: 2, score: 11 });
    t.deepEqual(await add('a', 4, 'sub'), { version: 3, score: 7 });
    t.deepEqual(await add('new', 5, 'add'), { version: 1, score: 5 }, 'add to a missing member sets it');
    t.is(((await store.collectionGet(R, 'zset', 'z', m('a'))) as { score: number }).score, 7);
    t.deepEqual(names(await store.collectionRange(R, 'zset', 'z', { offset: 0, limit: 100 })), ['b', 'bb', 'c', 'new', 'a']);
    t.deepEqual(names(await store.collectionRange(R, 'zset', 'z', { offset: 0, limit: 100, minScore: 2, maxScore: 5 })), ['b', 'bb', 'c', 'new']);
    t.deepEqual(names(await store.collectionRange(R, 'zset', 'z', { offset: 1, limit: 2, minScore: 2, maxScore: 5 })), ['bb', 'c']);
    t.deepEqual(names(await store.collectionRange(R, 'zset', 'z', { offset: 0, limit: 100, minScore: 6, maxScore: 6 })), []);
    await add('b', 9);
    t.deepEqual(names(await store.collectionRange(R, 'zset', 'z', { offset: 0, limit: 100 })), ['bb', 'c', 'new', 'a', 'b'], 'rescored member moves');
    await add('neg', -1.5);
    t.deepEqual(names(await store.collectionRange(R, 'zset', 'z', { offset: 0, limit: 1 })), ['neg']);
  });

  test(name('collection members: binary bytes, expiry and sweep'), async (t) => {
    const h = await engine.open(t);
    const { store } = h;
    const all = new Uint8Array(256).map((_, i) => i);
    await store.collectionPut(R, { kind: 'set', table: 'bin', member: all });
    await store.collectionPut(R, { kind: 'set', table: 'bin', member: new Uint8Array([0]) });
    const list = await store.collectionRange(R, 'set', 'bin', { offset: 0, limit: 10 });
    t.deepEqual(list !== 'wrong_type' && list.map((x) => Buffer.from(x.member)), [Buffer.from(all), Buffer.from([0])].sort(Buffer.compare));
    await store.collectionPut(R, { kind: 'zset', table: 'e', member: m('short'), score: 1, expiresAt: h.clock.t + 1000 });
    await store.collectionPut(R, { kind: 'zset', table: 'e', member: m('long'), score: 2, expiresAt: h.clock.t + 5000 });
    await store.collectionPut(R, { kind: 'zset', table: 'gone', member: m('x'), score: 2, expiresAt: h.clock.t + 1000 });
    h.clock.t += 1000;
    t.is(await store.collectionGet(R, 'zset', 'e', m('short')), null);
    t.deepEqual(names(await store.collectionRange(R, 'zset', 'e', { offset: 0, limit: 10 })), ['long']);
    const swept = await store.sweep();
    t.true((swept.members ?? 0) >= 1);
    t.deepEqual(
      (await store.collectionTables(R)).map((x) => [x.table, x.count]),
      [['bin', 2], ['e', 1]],
    );
    t.deepEqual(await store.collectionPut(R, { kind: 'zset', table: 'e', member: m('short'), score: 1 }), { version: 1, score: 1 });
  });

  test(name('sorted set: random adds, rescores and removals match a sorted model'), async (t) => {
    const { store } = await engine.open(t);
    const model = new Map<string, number>();
    let seed = 12345;
    const rand = (n: number): number => {
      // xorshift32: deterministic, so a failure replays
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 3000; i++) {
      const member = `m${rand(400)}`;
      if (rand(4) === 0) {
        model.delete(member);
        ops.push(store.collectionDelete(R, 'zset', 'rz', m(member)));
      } else {
        const score = rand(50) - 10;
        model.set(member, score);
        ops.push(store.collectionPut(R, { kind: 'zset', table: 'rz', member: m(member), score }));
      }
    }
    await Promise.all(ops);
    const sorted = [...model].sort((a, b) => a[1] - b[1] || Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
    const all = await store.collectionRange(R, 'zset', 'rz', { offset: 0, limit: 10_000 });
    t.deepEqual(names(all), sorted.map(([k]) => k));
    const mid = sorted.filter(([, s]) => s >= 5 && s <= 20).map(([k]) => k);
    t.deepEqual(names(await store.collectionRange(R, 'zset', 'rz', { offset: 3, limit: 7, minScore: 5, maxScore: 20 })), mid.slice(3, 10));
    t.true(model.size > 100, `the model holds ${model.size} members`);
    t.is((await store.collectionTables(R))[0]?.count, model.size);
  });

  durable(name('collections survive reopen'), async (t) => {
    const h = await engine.open(t);
    await h.store.collectionPut(R, { kind: 'zset', table: 'z', member: m('a'), score: 2 });
    await h.store.collectionPut(R, { kind: 'zset', table: 'z', member: m('a'), score: 3 });
    const store = await h.reopen();
    t.deepEqual(await store.collectionGet(R, 'zset', 'z', m('a')), { member: Buffer.from('a'), score: 3, version: 2 });
  });

  test(name('collections: bad arguments reject'), async (t) => {
    const { store } = await engine.open(t);
    await t.throwsAsync(store.collectionPut(R, { kind: 'list' as 'set', table: 't', member: m('x') }), { instanceOf: RangeError });
    await t.throwsAsync(store.collectionPut(R, { kind: 'zset', table: 't', member: m('x'), score: NaN }), { instanceOf: RangeError });
    await t.throwsAsync(store.collectionPut(R, { kind: 'zset', table: 't', member: 'x' as never }), { instanceOf: TypeError });
    await t.throwsAsync(store.collectionRange(R, 'zset', 't', { offset: -1, limit: 1 }), { instanceOf: RangeError });
    t.deepEqual(await store.collectionTables(R), []);
  });

  // ------------------------------------------------------------------ misc

  test(name('bad arguments reject; a closed store rejects'), async (t) => {
    const { store } = await engine.open(t);
    await t.throwsAsync(store.putRetained(R, { key: 'k', value: 'str' as never }), { instanceOf: TypeError });
    await t.throwsAsync(store.putRetained(R, { key: 'k', value: enc('v') }, -1), { instanceOf: RangeError });
    await t.throwsAsync(store.appendHistory(R, 't', null as never), { instanceOf: TypeError });
    await t.throwsAsync(store.readHistory(R, { afterId: 1.5 }), { instanceOf: RangeError });
    // a rejected call does not disturb the calls around it
    const [a, b, c] = await Promise.allSettled([
      store.putRetained(R, { key: 'x', value: enc('1') }),
      store.queuePut(R, 'q', enc('1'), 7 as 0),
      store.putRetained(R, { key: 'y', value: enc('2') }),
    ]);
    t.is(a.status, 'fulfilled');
    t.is(b.status, 'rejected');
    t.is(c.status, 'fulfilled');
    const pending = store.putRetained(R, { key: 'z', value: enc('3') });
    await store.close();
    t.truthy(await pending, 'close commits what was queued');
    await t.throwsAsync(store.getRetained(R, 'x'), { message: /closed/ });
    await t.throwsAsync(store.putRetained(R, { key: 'x', value: enc('1') }), { message: /closed/ });
  });
}

engineSuite(memoryEngine);
engineSuite(sqliteEngine);

// ------------------------------------------------------------------ SQLite only

test('sqlite: writes issued in one tick share one transaction', async (t) => {
  const dir = tempDir(t);
  const store = (await openStore({ dataDir: dir })) as SqliteStore;
  t.teardown(() => store.close());
  await store.putRetained(R, { key: 'warm', value: enc('x') });
  const before = store.commits;
  const versions = await Promise.all([
    ...Array.from({ length: 200 }, (_, i) => store.putRetained(R, { key: `k${i}`, value: enc(String(i)) })),
    store.appendHistory(R, 't', enc('h')),
    store.queuePut(R, 'q', enc('i')),
  ]);
  t.is(store.commits, before + 1);
  t.is(new Set(versions).size, versions.length);
  await store.putRetained(R, { key: 'k0', value: enc('again') });
  t.is(store.commits, before + 2);
});

test('sqlite: a large burst is committed in several bounded transactions, in order', async (t) => {
  const dir = tempDir(t);
  const store = (await openStore({ dataDir: dir })) as SqliteStore;
  t.teardown(() => store.close());
  const before = store.commits;
  const ids = await Promise.all(Array.from({ length: 12_000 }, (_, i) => store.appendHistory(R, 't', enc(String(i)))));
  t.is(store.commits, before + 3);
  t.deepEqual(
    ids,
    ids.map((_, i) => ids[0] + i),
  );
});

test('sqlite group commit: an operation that throws is rolled back alone', async (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  db.exec(`CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO meta VALUES ('rev', 0);
    CREATE TABLE history (id INTEGER PRIMARY KEY AUTOINCREMENT); CREATE TABLE t (x TEXT)`);
  const insert = db.prepare('INSERT INTO t VALUES (?)');
  const gc = new GroupCommit(db);
  const results = await Promise.allSettled([
    gc.write((tx) => {
      insert.run('a');
      return ++tx.rev;
    }),
    gc.write(() => {
      insert.run('half-done');
      throw new Error('boom');
    }),
    gc.write((tx) => {
      insert.run('b');
      return ++tx.rev;
    }),
  ]);
  t.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    [1, 'boom', 2],
  );
  t.deepEqual(db.prepare('SELECT x FROM t ORDER BY rowid').pluck().all(), ['a', 'b']);
  t.is(db.prepare("SELECT v FROM meta WHERE k = 'rev'").pluck().get(), 2);
  t.is(gc.commits, 1);
});

test('sqlite: taking or purging items leaves none of their values behind', async (t) => {
  const dir = tempDir(t);
  const store = await openStore({ dataDir: dir });
  for (let i = 0; i < 40; i++) await store.queuePut(R, i < 20 ? 'a' : 'b', Buffer.alloc(300 + i, i), (i % 3) as 0 | 1 | 2);
  for (let i = 0; i < 10; i++) await store.queueGet(R, 'a');
  const unacked = await store.queueGet(R, 'a', { ack: false });
  t.true(await store.queueAck(R, 'a', unacked!.token!));
  await store.queueGet(R, 'a', { ack: false });
  t.true(await store.queuePurge(R, 'b', 1));
  // in one transaction: items taken with ack, then an ack=false get and a purge of the same queue
  for (let i = 0; i < 6; i++) await store.queuePut(R, 'c', Buffer.alloc(500, i), 0);
  const same = await Promise.all([store.queueGet(R, 'c'), store.queueGet(R, 'c'), store.queueGet(R, 'c', { ack: false }), store.queuePurge(R, 'c', 0)]);
  t.deepEqual(
    same.slice(0, 3).map((item) => Buffer.from((item as { value: Uint8Array }).value)[0]),
    [0, 1, 2],
  );
  t.is(await store.queueStat(R, 'c'), null, 'dropped: nothing left ready');
  await store.close();
  const db = new Database(join(dir, 'kitsune.db'));
  t.teardown(() => db.close());
  const count = (sql: string): number => db.prepare(sql).pluck().get() as number;
  t.is(count('SELECT count(*) FROM queue_items'), 8 + 14);
  t.is(count('SELECT count(*) FROM queue_values'), 8 + 14, 'one value per ready item');
  t.is(count('SELECT count(*) FROM queue_values WHERE id NOT IN (SELECT id FROM queue_items)'), 0);
  t.is(count('SELECT count(*) FROM queue_unacked'), 1, 'the unacked item of c went with its queue');
});

test('sqlite: a ready counter that disagrees with the items is corrected by the next get', async (t) => {
  const dir = tempDir(t);
  let store = await openStore({ dataDir: dir });
  await store.queuePut(R, 'q', enc('low1'), 0);
  await store.queuePut(R, 'q', enc('low2'), 0);
  await store.close();
  const db = new Database(join(dir, 'kitsune.db'));
  db.prepare("UPDATE queues SET ready1 = 3, ready2 = 1 WHERE name = 'q'").run();
  db.close();
  store = await openStore({ dataDir: dir });
  t.teardown(() => store.close());
  t.is(dec((await store.queueGet(R, 'q'))?.value), 'low1', 'not "no message" while priority 0 holds items');
  t.deepEqual((await store.queueStat(R, 'q'))?.ready, [1, 0, 0]);
  const unacked = await store.queueGet(R, 'q', { ack: false });
  t.is(dec(unacked?.value), 'low2');
  t.is(await store.queueGet(R, 'q'), null);
});

test('sqlite: ids drawn in a rolled-back transaction are not handed out again, nor after a restart', async (t) => {
  const dir = tempDir(t);
  const config: EngineConfig = { maxQueues: 10, maxQueueItems: 100, now: Date.now };
  const open = (): { db: Database.Database; gc: GroupCommit; queues: SqliteQueues } => {
    const db = openDatabase({ dataDir: dir });
    const gc = new GroupCommit(db);
    const queues = new SqliteQueues(db, config);
    gc.addHook(queues);
    gc.addHook(queues.workers);
    return { db, gc, queues };
  };
  const first = open();
  const take = (q: SqliteQueues): Promise<number> => first.gc.write(() => Number(q.get(R, 'q', { ack: false }, Date.now())?.token?.split(':')[1]));
  const results = await Promise.allSettled([
    first.gc.write(() => first.queues.put(R, 'q', enc('a'), 0, Date.now())),
    first.gc.write(() => {
      throw new Error('boom');
    }),
    first.gc.write(() => first.queues.put(R, 'q', enc('b'), 0, Date.now())),
  ]);
  t.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  const a = await take(first.queues);
  const b = await take(first.queues);
  t.true(b > a);
  t.true(a > 1, 'the id drawn by the rolled-back run (1) is not handed out again');
  first.db.close();
  const second = open();
  await second.gc.write(() => second.queues.put(R, 'q', enc('c'), 0, Date.now()));
  const c = await second.gc.write(() => Number(second.queues.get(R, 'q', { ack: false }, Date.now())?.token?.split(':')[1]));
  t.true(c > b, 'ids go on above the mark written after the rollback');
  second.db.close();
});

test('sqlite: a schema 1 database is upgraded with its queues, items and ack tokens', async (t) => {
  const dir = tempDir(t);
  const v1 = new Database(join(dir, 'kitsune.db'));
  v1.exec(`
    CREATE TABLE queues (realm TEXT NOT NULL, name TEXT NOT NULL, created_at INTEGER NOT NULL, timeout_ms INTEGER NOT NULL,
      locked INTEGER NOT NULL DEFAULT 0, max INTEGER NOT NULL DEFAULT 0, ready0 INTEGER NOT NULL DEFAULT 0,
      ready1 INTEGER NOT NULL DEFAULT 0, ready2 INTEGER NOT NULL DEFAULT 0, unacked INTEGER NOT NULL DEFAULT 0,
      si INTEGER NOT NULL DEFAULT 0, ci INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (realm, name));
    CREATE TABLE queue_items (id INTEGER PRIMARY KEY AUTOINCREMENT, realm TEXT NOT NULL, queue TEXT NOT NULL,
      priority INTEGER NOT NULL, value BLOB NOT NULL, delivered_at INTEGER);
    CREATE INDEX queue_ready ON queue_items (realm, queue, priority DESC, id) WHERE delivered_at IS NULL;
    CREATE INDEX queue_unacked ON queue_items (realm, queue, delivered_at, id) WHERE delivered_at IS NOT NULL;
    INSERT INTO queues VALUES ('${R}', 'jobs', 1000, 60000, 0, 5, 2, 9, 0, 1, 4, 6); -- ready1 is wrong: 1 item
    INSERT INTO queues VALUES ('${R}', 'empty', 2000, 30000, 1, 0, 0, 0, 0, 0, 0, 0);
    INSERT INTO queue_items (id, realm, queue, priority, value, delivered_at) VALUES
      (7, '${R}', 'jobs', 0, CAST('done long ago' AS BLOB), 1500),
      (8, '${R}', 'jobs', 0, CAST('first' AS BLOB), NULL),
      (9, '${R}', 'jobs', 1, CAST('urgent' AS BLOB), NULL),
      (10, '${R}', 'jobs', 0, zeroblob(400), NULL);
    DELETE FROM sqlite_sequence; INSERT INTO sqlite_sequence (name, seq) VALUES ('queue_items', 42);
    PRAGMA user_version = 1;`);
  v1.close();
  const clock = makeClock();
  const store = await openStore({ dataDir: dir, now: clock.now });
  t.teardown(() => store.close());
  t.deepEqual(
    (await store.queueStatAll(R)).map((s) => [s.queue, s.ready, s.unacked, s.max, s.locked, s.timeoutMs, s.si, s.ci, s.createdAt]),
    [
      ['empty', [0, 0, 0], 0, 0, true, 30000, 0, 0, 2000],
      ['jobs', [2, 1, 0], 1, 5, false, 60000, 4, 6, 1000],
    ],
  );
  t.true(await store.queueAck(R, 'jobs', '0:7'), 'an ack token given out before the upgrade still works');
  t.is(dec((await store.queueGet(R, 'jobs'))?.value), 'urgent');
  t.is(dec((await store.queueGet(R, 'jobs'))?.value), 'first');
  t.deepEqual(Buffer.from((await store.queueGet(R, 'jobs'))?.value ?? ''), Buffer.alloc(400));
  await store.queuePut(R, 'jobs', enc('new'));
  const item = await store.queueGet(R, 'jobs', { ack: false });
  t.is(dec(item?.value), 'new');
  t.true(Number(item?.token?.split(':')[1]) > 42, 'new ids start above the largest id ever used');
  await store.close();
  const db = new Database(join(dir, 'kitsune.db'));
  t.teardown(() => db.close());
  t.deepEqual(
    db.prepare("SELECT name FROM sqlite_schema WHERE name LIKE '%v1' OR name IN ('queue_ready', 'queue_unacked') ORDER BY name").pluck().all(),
    ['queue_unacked'],
    'the schema 1 tables and indexes are gone (queue_unacked is now the table of unacked items)',
  );
  t.is(db.prepare("SELECT type FROM sqlite_schema WHERE name = 'queue_unacked'").pluck().get(), 'table');
  t.is(db.prepare('PRAGMA user_version').pluck().get(), 2);
});

test('sqlite: a database whose set members have no bucket column gets it, filled in, and its index is used', async (t) => {
  const dir = tempDir(t);
  const before = await openStore({ dataDir: dir });
  for (const x of ['a', 'b', 'zz', 'hello']) await before.collectionPut(R, { kind: 'set', table: 's', member: Buffer.from(x) });
  await before.collectionPut(R, { kind: 'zset', table: 'z', member: Buffer.from('a'), score: 1 });
  await before.close();
  const old = new Database(join(dir, 'kitsune.db'));
  old.exec('DROP INDEX coll_by_bucket; ALTER TABLE coll_members DROP COLUMN bucket;');
  old.close();
  const store = await openStore({ dataDir: dir });
  const range = await store.collectionRange(R, 'set', 's', { offset: 0, limit: 10, buckets: { start: 0, end: 1024 } });
  const got = range === 'wrong_type' ? [] : range.map((x) => Buffer.from(x.member).toString());
  const bucket = (x: string): number => listingBucket(Buffer.from(x));
  t.deepEqual(got, ['a', 'b', 'zz', 'hello'].sort((x, y) => bucket(x) - bucket(y) || x.localeCompare(y)));
  await store.close();
  const db = new Database(join(dir, 'kitsune.db'));
  t.teardown(() => db.close());
  t.is(db.prepare("SELECT count(*) FROM coll_members WHERE tb = 'z' AND bucket IS NULL").pluck().get(), 1, 'sorted-set members have no bucket');
  const plan = db
    .prepare("EXPLAIN QUERY PLAN SELECT member FROM coll_members WHERE realm = 'r' AND tb = 's' AND bucket >= 3 AND bucket < 9 ORDER BY bucket, member LIMIT 5 OFFSET 2")
    .all() as { detail: string }[];
  t.regex(plan.map((p) => p.detail).join('; '), /coll_by_bucket/);
});

test('sqlite: a corrupt database file is reported with its path', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'kitsune.db');
  writeFileSync(file, Buffer.alloc(8192, 'this is not a database '));
  const err = await t.throwsAsync(openStore({ dataDir: dir }));
  t.true(err!.message.includes(file), err!.message);
  t.regex(err!.message, /not a database/);
});

test('sqlite: an unusable data directory is reported with its path', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'plainfile'), 'x');
  const bad = join(dir, 'plainfile', 'data');
  const err = await t.throwsAsync(openStore({ dataDir: bad }));
  t.true(err!.message.includes(bad), err!.message);
  t.regex(err!.message, /ENOTDIR|not a directory/);
  // root ignores permission bits, so this half only runs as an ordinary user
  if (process.getuid?.() !== 0) {
    const ro = join(dir, 'readonly');
    mkdirSync(ro);
    chmodSync(ro, 0o500);
    const err2 = await t.throwsAsync(openStore({ dataDir: ro }));
    t.true(err2!.message.includes(ro), err2!.message);
    chmodSync(ro, 0o700);
  }
});

test('sqlite: a data directory in use by another store is refused', async (t) => {
  const dir = tempDir(t);
  const first = await openStore({ dataDir: dir });
  t.teardown(() => first.close());
  const err = await t.throwsAsync(openStore({ dataDir: dir }));
  t.true(err!.message.includes(join(dir, 'kitsune.db')), err!.message);
  t.regex(err!.message, /locked|busy/i);
});

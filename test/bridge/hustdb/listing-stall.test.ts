// hustdb bridge: the (bucket, name) index behind keys/hkeys bucket ranges is built in slices for
// values loaded from disk, so the first listing after a large load does not stall the event loop
// (in a file of its own: its load would stall the servers of tests running beside it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { hashTopic, levelBucket } from '../../../bridge/hustdb/names.ts';
import { encodePublication, topicKey } from '../../../lib/core/codec.ts';
import { Payload } from '../../../lib/core/payload.ts';
import { wampLevels } from '../../../lib/core/topic.ts';
import { openStore } from '../../../lib/store/open.ts';
import { startHustdb } from '../../helpers/hustdb.ts';

/** Writes `n` hash fields of table `tb` straight into a SQLite store in `dir`, as the router stores them. */
async function fillHash(dir: string, tb: string, n: number): Promise<void> {
  const store = await openStore({ dataDir: dir });
  for (let i = 0; i < n; i += 5000) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(n, i + 5000); j++) {
      const levels = wampLevels(hashTopic(tb, `f${j}`));
      batch.push(store.putRetained('realm1', { key: topicKey(levels), value: encodePublication(levels, Payload.fromBytes(Buffer.from('v')), 0), revision: 1 }));
    }
    await Promise.all(batch);
  }
  await store.close();
}

/** Runs `work` while a 5 ms timer ticks; resolves to its result and the longest gap between ticks. */
async function withLoopWatch<T>(work: () => Promise<T>): Promise<{ result: T; maxGapMs: number }> {
  let last = performance.now();
  let maxGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 5);
  try {
    const result = await work();
    maxGapMs = Math.max(maxGapMs, performance.now() - last);
    return { result, maxGapMs };
  } finally {
    clearInterval(timer);
  }
}

const FIELDS = 100_000;

test('the first bucket-range hkeys after loading a large table from disk keeps the event loop turning', async (t) => {
  t.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-hustdb-index-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await fillHash(dir, 'big', FIELDS);
  const db = await startHustdb(t, {}, { limits: { maxRetainedPerRealm: FIELDS + 100 } }, { memory: false, dataDir: dir });
  const { result, maxGapMs } = await withLoopWatch(() => db.req('/hkeys?peer=0&tb=big&offset=0&size=1000&start=5&end=9&noval=false'));
  t.is(result.status, 200);
  const keys = (JSON.parse(result.text) as { key: string; val: string }[]).map((x) => Buffer.from(x.key, 'base64').toString());
  const expected = Array.from({ length: FIELDS }, (_, i) => `f${i}`).filter((k) => levelBucket(k) >= 5 && levelBucket(k) < 9);
  t.is(keys.length, Math.min(1000, expected.length));
  t.true(keys.every((k) => levelBucket(k) >= 5 && levelBucket(k) < 9), 'every key is in the bucket range');
  // a machine under load may pause for other reasons; indexing 100,000 fields in one turn takes far longer
  t.true(maxGapMs < 750, `the longest event-loop turn during the listing was ${maxGapMs.toFixed(0)} ms`);
  // later writes keep the index: a new field in range is listed, a deleted one is not
  const inRange = Array.from({ length: 1000 }, (_, i) => `new${i}`).find((k) => levelBucket(k) === 6) as string;
  t.is((await db.req(`/hset?tb=big&key=${inRange}&val=x`)).status, 200);
  t.is((await db.req(`/hdel?tb=big&key=${expected[0]}`)).status, 200);
  const after = JSON.parse((await db.req('/hkeys?peer=0&tb=big&offset=0&size=1000&start=6&end=7')).text) as { key: string }[];
  const names = after.map((x) => Buffer.from(x.key, 'base64').toString());
  t.true(names.includes(inRange));
  if (levelBucket(expected[0] as string) === 6) t.false(names.includes(expected[0] as string));
});

// hustdb bridge: keys/hkeys listings (and their bucket-range index) follow every write, and expired
// values leave listings and counts without waiting for the sweep.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { kvTopic, levelBucket } from '../../../bridge/hustdb/names.ts';
import type { KitsuneRouter } from '../../../lib/index.ts';
import { type Hustdb, startHustdb } from '../../helpers/hustdb.ts';
import { sleep } from '../../helpers/wait.ts';

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-hustdb-index-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The names a listing answers, decoded. */
async function listed(db: Hustdb, path: string): Promise<string[]> {
  const r = await db.req(path);
  return (JSON.parse(r.text) as { key: string }[]).map((x) => Buffer.from(x.key, 'base64').toString());
}

for (const engine of ['memory', 'sqlite'] as const) {
  test(`${engine}: expired keys, fields and members leave listings, counts and stats without waiting for the sweep`, async (t) => {
    const db = await startHustdb(t, {}, undefined, engine === 'sqlite' ? { memory: false, dataDir: tempDir(t) } : {});
    const writes = ['a', 'b', 'c'].flatMap((k) => [`/put?key=${k}&val=x&ttl=1`, `/hset?tb=h&key=${k}&val=x&ttl=1`, `/hset?tb=gone&key=${k}&val=x&ttl=1`, `/zadd?tb=z&key=${k}&score=1&ttl=1`]);
    for (const w of [...writes, '/put?key=d&val=x', '/hset?tb=h&key=d&val=x', '/zadd?tb=z&key=d&score=2']) t.is((await db.req(w)).status, 200, w);
    // every ttl write was answered by now, so each expires within the next second
    await sleep(1100);
    const allBuckets = 'peer=0&offset=0&size=100';
    t.deepEqual(await listed(db, `/keys?file=0&${allBuckets}`), ['d']);
    t.deepEqual(await listed(db, `/hkeys?tb=h&${allBuckets}`), ['d']);
    t.deepEqual(await listed(db, `/hkeys?tb=h&${allBuckets}&start=0&end=512`), levelBucket('d') < 512 ? ['d'] : []);
    t.deepEqual(await listed(db, `/hkeys?tb=h&${allBuckets}&start=512&end=1024`), levelBucket('d') < 512 ? [] : ['d']);
    const r = await db.req(`/keys?file=0&${allBuckets}`);
    t.is(r.headers.get('Keys'), '1');
    const stats = JSON.parse((await db.req('/stat_all?peer=0')).text) as Record<string, unknown>[];
    t.deepEqual(stats[0], { TOTALIZE: { KVPAIR: { count: 1, size: 1, capacity: 0 }, HASHTABLE: { count: 1, size: 0, capacity: 0 } } });
    t.deepEqual(
      stats.slice(1).map((s) => [s.table, s.type, s.count]),
      [
        ['h', 'H', 1],
        ['z', 'Z', 1],
      ],
      'the table whose fields all expired is gone; counts are of live items',
    );
    t.is((await db.req('/stat?peer=0&tb=gone')).status, 404);
    t.is(JSON.parse((await db.req('/stat?peer=0&tb=z')).text).count, 1);
    // the name of a table whose members all expired is free for another type
    t.is((await db.req('/sadd?tb=gone', { method: 'POST', body: 'm' })).status, 200);
    t.is((await db.req('/zadd?tb=zz&key=m&score=1&ttl=1')).status, 200);
    await sleep(1100);
    t.is((await db.req('/hset?tb=zz&key=f&val=x')).status, 200, 'an expired sorted set does not hold its name');
  });
}

test('a listing reads the router, not a cache: a value written over MQTT or WAMP topics is listed at once', async (t) => {
  const db = await startHustdb(t);
  const client = (db.server.router as KitsuneRouter).connect('realm1');
  t.teardown(() => client.close());
  await client.putRetained(kvTopic('direct'), Buffer.from('x'), { ttlMs: 60_000 });
  const bucket = levelBucket('direct');
  t.deepEqual(await listed(db, `/keys?peer=0&file=0&offset=0&size=10&start=${bucket}&end=${bucket + 1}`), ['direct']);
});

// hustdb bridge: the cache/* namespace, stat/stat_all, and refusal counts on /metrics, over fetch.
import test from 'ava';
import { startHustdb } from '../../helpers/hustdb.ts';

test('cache: kept apart from persistent keys; put/get/exist/append/del', async (t) => {
  const db = await startHustdb(t);
  await db.req('/put?key=k&val=persistent');
  t.is((await db.req('/cache/get?key=k')).status, 404, 'persistent keys are not in the cache');
  let r = await db.req('/cache/put?key=k&val=cached');
  t.is(r.status, 200);
  t.is(r.headers.get('Version'), null);
  r = await db.req('/cache/get?key=k');
  t.is(r.text, 'cached');
  t.is((await db.req('/get?key=k')).text, 'persistent');
  t.is((await db.req('/cache/exist?key=k')).status, 200);
  await db.req('/cache/append?key=k', { method: 'POST', body: '+more' });
  t.is((await db.req('/cache/get?key=k')).text, 'cached+more');
  t.is((await db.req('/cache/del?key=k')).status, 200);
  t.is((await db.req('/cache/del?key=k')).status, 404);
  t.is((await db.req('/cache/exist?key=k')).status, 404);
  t.is((await db.req('/cache/get')).status, 400);
  t.is((await db.req('/cache/put?key=k')).status, 404, 'empty value');
});

test('cache: ttl, expire, persist', async (t) => {
  const db = await startHustdb(t);
  await db.req('/cache/put?key=a&val=1');
  t.is((await db.req('/cache/ttl?key=a')).text, '-1');
  t.is((await db.req('/cache/ttl?key=none')).status, 404);
  t.is((await db.req('/cache/expire?key=a&ttl=100')).status, 200);
  const ttl = Number((await db.req('/cache/ttl?key=a')).text);
  t.true(ttl > 95 && ttl <= 100);
  t.is((await db.req('/cache/persist?key=a')).status, 200);
  t.is((await db.req('/cache/ttl?key=a')).text, '-1');
  t.is((await db.req('/cache/expire?key=a')).status, 400);
  t.is((await db.req('/cache/expire?key=none&ttl=5')).status, 404);
  await db.req('/cache/put?key=b&val=1&ttl=1');
  await new Promise((r) => setTimeout(r, 1100));
  t.is((await db.req('/cache/get?key=b')).status, 404);
});

test('cache: hashes and increments', async (t) => {
  const db = await startHustdb(t);
  t.is((await db.req('/cache/hset?tb=t&key=f&val=v')).status, 200);
  t.is((await db.req('/cache/hget?tb=t&key=f')).text, 'v');
  t.is((await db.req('/cache/hexist?tb=t&key=f')).status, 200);
  t.is((await db.req('/cache/get?key=f')).status, 404);
  t.is((await db.req('/cache/hdel?tb=t&key=f')).status, 200);
  t.is((await db.req('/cache/hget?tb=t&key=f')).status, 404);
  t.is((await db.req('/cache/hincrby?tb=t&key=n&val=3')).text, '3');
  t.is((await db.req('/cache/hincrby?tb=t&key=n&val=-5')).text, '-2');
  t.is((await db.req('/cache/hincrbyfloat?tb=t&key=x&val=1.5')).text, '1.5');
  t.is((await db.req('/cache/hincrbyfloat?tb=t&key=x&val=0.25')).text, '1.75');
  t.is((await db.req('/cache/hincrby?tb=t&key=x&val=1')).status, 404, 'not an integer');
  t.is((await db.req('/cache/hincrby?tb=t&key=n&val=1.5')).status, 400);
  t.is((await db.req('/cache/hincrby?tb=bad!&key=n&val=1')).status, 400);
});

test('cache: bounded by bytes, least recently used evicted first', async (t) => {
  const db = await startHustdb(t, { cacheMaxBytes: 1000 });
  const v = 'x'.repeat(200);
  for (const k of ['a', 'b', 'c']) await db.req(`/cache/put?key=${k}&val=${v}`);
  await db.req('/cache/get?key=a'); // a is now more recent than b
  await db.req(`/cache/put?key=d&val=${v}`);
  await db.req(`/cache/put?key=e&val=${v}`);
  t.is((await db.req('/cache/get?key=b')).status, 404, 'b was least recently used');
  t.is((await db.req('/cache/get?key=a')).status, 200);
  t.is((await db.req('/cache/get?key=e')).status, 200);
  t.is((await db.req(`/cache/put?key=big&val=${'y'.repeat(1000)}`)).status, 413);
});

test('stat and stat_all', async (t) => {
  const db = await startHustdb(t);
  await db.req('/put?key=a&val=12345');
  await db.req('/put?key=b&val=1');
  await db.req('/hset?tb=h&key=f&val=vv');
  await db.req('/sadd?tb=s', { method: 'POST', body: 'm' });
  await db.req('/zadd?tb=z&score=1&key=m');
  let r = await db.req('/stat?peer=0');
  t.deepEqual(JSON.parse(r.text), { TOTALIZE: { KVPAIR: { count: 2, size: 6, capacity: 0 }, HASHTABLE: { count: 1, size: 0, capacity: 0 } } });
  r = await db.req('/stat?peer=0&tb=h');
  t.deepEqual(JSON.parse(r.text), { table: 'h', type: 'H', count: 1, size: 2, capacity: 0 });
  t.is(JSON.parse((await db.req('/stat?peer=0&tb=z')).text).type, 'Z');
  t.is((await db.req('/stat?peer=0&tb=none')).status, 404);
  t.is((await db.req('/stat?peer=0&tb=bad!')).status, 400);
  t.is((await db.req('/stat')).status, 400);
  t.is((await db.req('/stat?peer=1')).status, 404);
  const all = JSON.parse((await db.req('/stat_all?peer=0')).text) as { table?: string }[];
  t.is(all.length, 4);
  t.deepEqual(all.slice(1).map((x) => x.table), ['h', 's', 'z']);
});

test('refusals are counted on the server /metrics by bridge and status', async (t) => {
  const db = await startHustdb(t);
  const count = async (status: number): Promise<number> => {
    const text = (await db.reqAt(db.server.urls.http as string, '/metrics')).text;
    const m = new RegExp(`^kitsune_bridge_refusals_total\\{bridge="hustdb",status="${status}"\\} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  t.is(await count(400), 0);
  t.is((await db.req('/get')).status, 400, 'missing key');
  t.is((await db.req('/get?key=none')).status, 404);
  t.is((await db.req('/nosuchroute')).status, 404);
  t.is((await db.req('/put?key=k&val=v&ver=x')).status, 400);
  t.is(await count(400), 2);
  t.is(await count(404), 2);
  // the hustmq bridge reports its own under the same name
  t.is((await db.reqAt(db.server.urls.hustmq as string, '/get?queue=q')).status, 404);
  const text = (await db.reqAt(db.server.urls.http as string, '/metrics')).text;
  t.regex(text, /^kitsune_bridge_refusals_total\{bridge="hustmq",status="404"\} 1$/m);
});

// hustdb bridge: sets and sorted sets over fetch.
import test from 'ava';
import { startHustdb } from '../../helpers/hustdb.ts';

const post = (body: string | Buffer): RequestInit => ({ method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body) });
const members = (text: string): string[] => (JSON.parse(text) as { key: string }[]).map((x) => Buffer.from(x.key, 'base64').toString());

test('sets: sadd/srem/sismember/sismember2/smembers; POST only; empty member 404', async (t) => {
  const db = await startHustdb(t);
  let r = await db.req('/sadd?tb=s', post('b'));
  t.is(r.status, 200);
  t.is(r.headers.get('Version'), '1');
  t.is((await db.req('/sadd?tb=s', post('b'))).headers.get('Version'), '2');
  for (const m of ['c', 'a']) await db.req('/sadd?tb=s', post(m));
  r = await db.req('/sismember?tb=s', post('b'));
  t.is(r.status, 200);
  t.is(r.headers.get('Version'), '2');
  t.is(r.text, '');
  t.is((await db.req('/sismember2?tb=s', post('b'))).status, 200);
  t.is((await db.req('/sismember?tb=s', post('zz'))).status, 404);
  r = await db.req('/smembers?peer=0&tb=s&offset=0&size=10');
  t.is(r.headers.get('Keys'), '3');
  t.deepEqual(members(r.text), ['a', 'b', 'c']);
  t.deepEqual(members((await db.req('/smembers?peer=0&tb=s&offset=1&size=1')).text), ['b']);
  t.is((await db.req('/srem?tb=s&ver=1', post('b'))).status, 404);
  t.is((await db.req('/srem?tb=s', post('b'))).status, 200);
  t.is((await db.req('/srem?tb=s', post('b'))).status, 404);
  r = await db.req('/sadd?tb=s&val=x');
  t.is(r.status, 405);
  t.is(r.headers.get('Allow'), 'POST');
  t.is((await db.req('/sismember?tb=s')).status, 405);
  t.is((await db.req('/sadd?tb=s', post(''))).status, 404);
  t.is((await db.req('/sadd', post('m'))).status, 400);
  t.is((await db.req('/smembers?peer=0&tb=s&offset=0')).status, 400);
});

test('sorted sets: zadd opt, zscore, zismember, zrem, ranges by rank and by inclusive score', async (t) => {
  const db = await startHustdb(t);
  t.is((await db.req('/zadd?tb=z&score=3&key=c')).status, 200);
  await db.req('/zadd?tb=z&score=1', post('a'));
  await db.req('/zadd?tb=z&score=2&key=b');
  await db.req('/zadd?tb=z&score=2&key=bb');
  let r = await db.req('/zadd?tb=z&score=10&opt=1&key=a');
  t.is(r.headers.get('Version'), '2');
  t.is(r.text, '', 'writes answer no body');
  await db.req('/zadd?tb=z&score=4&opt=-1&key=a');
  r = await db.req('/zscore?tb=z&key=a');
  t.is(r.text, '7');
  t.is(r.headers.get('Version'), '3');
  t.is((await db.req('/zscore2?tb=z', post('a'))).text, '7');
  r = await db.req('/zismember?tb=z&key=b');
  t.is(r.status, 200);
  t.is(r.text, '');
  t.is((await db.req('/zismember?tb=z&key=nope')).status, 404);
  t.deepEqual(members((await db.req('/zrangebyrank?tb=z&offset=0&size=10')).text), ['b', 'bb', 'c', 'a']);
  r = await db.req('/zrangebyscore?tb=z&min=2&max=3&offset=0&size=10&noval=false');
  t.deepEqual(members(r.text), ['b', 'bb', 'c']);
  t.deepEqual((JSON.parse(r.text) as { val: string }[]).map((x) => x.val), ['2', '2', '3']);
  t.is(r.headers.get('Keys'), '3');
  t.deepEqual(members((await db.req('/zrangebyscore?tb=z&min=2&max=3&offset=1&size=1')).text), ['bb']);
  t.is((await db.req('/zrem?tb=z&key=a&ver=1')).status, 404);
  t.is((await db.req('/zrem?tb=z&key=a')).status, 200);
  t.is((await db.req('/zscore?tb=z&key=a')).status, 404);
  // bad input
  t.is((await db.req('/zadd?tb=z&key=a')).status, 400, 'score required');
  t.is((await db.req('/zadd?tb=z&key=a&score=1&opt=2')).status, 400);
  t.is((await db.req('/zadd?tb=z&score=1')).status, 404, 'no member');
  t.is((await db.req('/zrangebyscore?tb=z&min=1&offset=0&size=10')).status, 400);
  t.is((await db.req('/zrangebyscore?tb=z&min=5&max=1&offset=0&size=10')).status, 400);
  // one type per table
  t.is((await db.req('/sadd?tb=z', post('x'))).status, 404);
  t.is((await db.req('/zadd?tb=z&score=1&key=x&ttl=abc')).status, 400);
  await db.req('/hset?tb=h&key=k&val=v');
  t.is((await db.req('/zadd?tb=h&score=1&key=x')).status, 404);
});

test('zset members with ttl expire; binary members', async (t) => {
  const db = await startHustdb(t);
  await db.req('/zadd?tb=e&score=1&key=short&ttl=1');
  await db.req('/zadd?tb=e&score=2&key=long');
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  await db.req('/sadd?tb=bin', post(all));
  const r = await db.req('/smembers?peer=0&tb=bin&offset=0&size=10');
  t.deepEqual(Buffer.from((JSON.parse(r.text) as { key: string }[])[0]!.key, 'base64'), all);
  t.is((await db.req('/sismember?tb=bin', post(all))).status, 200);
  await new Promise((res) => setTimeout(res, 1100));
  t.is((await db.req('/zscore?tb=e&key=short')).status, 404);
  t.deepEqual(members((await db.req('/zrangebyrank?tb=e&offset=0&size=10')).text), ['long']);
});

test('bucket ranges: smembers pages a set by member bucket; a sorted set is all in its table bucket', async (t) => {
  const db = await startHustdb(t);
  const names = Array.from({ length: 40 }, (_, i) => `m${i}`);
  for (const x of names) await db.req('/sadd?tb=bs', post(x));
  const page = async (q: string): Promise<string[]> => members((await db.req(`/smembers?peer=0&tb=bs&${q}`)).text);
  const low = await page('offset=0&size=100&start=0&end=512');
  const high = await page('offset=0&size=100&start=512&end=1024');
  t.deepEqual([...low, ...high].sort(), [...names].sort(), 'the halves split the set without loss');
  t.deepEqual(await page('offset=2&size=3&start=0&end=512'), low.slice(2, 5));
  // 'z1' is in bucket 122*31+49 = 3831 mod 1024 = 759
  for (const [x, s] of [['a', 1], ['b', 2]] as const) await db.req(`/zadd?tb=z1&score=${s}&key=${x}`);
  const zpage = async (q: string): Promise<string[]> => members((await db.req(`/zrangebyrank?tb=z1&offset=0&size=10&${q}`)).text);
  t.deepEqual(await zpage('start=759&end=760'), ['a', 'b']);
  t.deepEqual(await zpage('start=0&end=759'), []);
  t.deepEqual(members((await db.req('/zrangebyscore?tb=z1&min=0&max=5&offset=0&size=10&start=700&end=1024')).text), ['a', 'b']);
});

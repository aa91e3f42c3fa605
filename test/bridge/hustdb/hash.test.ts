// hustdb bridge: hashes over fetch.
import test from 'ava';
import { startHustdb } from '../../helpers/hustdb.ts';

test('hset/hget/hget2/hexist/hdel with versions; tables are separate from plain keys', async (t) => {
  const db = await startHustdb(t);
  let r = await db.req('/hset?tb=users&key=alice&val=1');
  t.is(r.status, 200);
  t.is(r.headers.get('Version'), '1');
  r = await db.req('/hset?tb=users&key=alice', { method: 'POST', body: 'two' });
  t.is(r.headers.get('Version'), '2');
  r = await db.req('/hget?tb=users&key=alice');
  t.is(r.text, 'two');
  t.is(r.headers.get('Version'), '2');
  t.is((await db.req('/hget2?tb=users&key=alice')).text, 'two');
  t.is((await db.req('/hexist?tb=users&key=alice')).status, 200);
  t.is((await db.req('/get?key=alice')).status, 404, 'a hash field is not a plain key');
  t.is((await db.req('/hget?tb=other&key=alice')).status, 404);
  t.is((await db.req('/hset?tb=users&key=alice&val=x&ver=1')).status, 404);
  t.is((await db.req('/hdel?tb=users&key=alice&ver=1')).status, 404);
  t.is((await db.req('/hdel?tb=users&key=alice&ver=2')).status, 200);
  t.is((await db.req('/hexist?tb=users&key=alice')).status, 404);
  t.is((await db.req('/hdel?tb=users&key=alice')).status, 404);
});

test('hkeys pages one table; hincrby counts', async (t) => {
  const db = await startHustdb(t);
  for (let i = 0; i < 7; i++) await db.req(`/hset?tb=t.1&key=f${i}&val=v${i}`);
  await db.req('/hset?tb=t.2&key=other&val=x');
  const r = await db.req('/hkeys?peer=0&tb=t.1&offset=2&size=3&noval=false');
  t.is(r.status, 200);
  t.is(r.headers.get('Keys'), '3');
  const all = JSON.parse((await db.req('/hkeys?peer=0&tb=t.1&offset=0&size=100')).text) as { key: string }[];
  t.deepEqual(all.map((x) => Buffer.from(x.key, 'base64').toString()).sort(), ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6']);
  let h = await db.req('/hincrby?tb=c&key=n&val=5');
  t.is(h.status, 200);
  t.is(h.text, '5');
  t.is(h.headers.get('Version'), null, 'hincrby answers no Version');
  h = await db.req('/hincrby?tb=c&key=n&val=-7');
  t.is(h.text, '-2');
  t.is((await db.req('/hget?tb=c&key=n')).text, '-2');
  await db.req('/hset?tb=c&key=s&val=abc');
  t.is((await db.req('/hincrby?tb=c&key=s&val=1')).status, 404);
  t.is((await db.req('/hincrby?tb=c&key=n&val=x')).status, 400);
  t.is((await db.req('/hincrby?tb=c&key=n')).status, 400);
});

test('hash bad input: tb checked, a set table is not a hash', async (t) => {
  const db = await startHustdb(t);
  let r = await db.req('/hget?key=a');
  t.is(r.status, 400);
  t.regex(r.text, /'tb'/);
  r = await db.req('/hset?tb=bad/name&key=a&val=1');
  t.is(r.status, 400);
  t.regex(r.text, /'tb'/);
  t.is((await db.req(`/hset?tb=${'x'.repeat(65)}&key=a&val=1`)).status, 400);
  t.is((await db.req('/sadd?tb=s', { method: 'POST', body: 'm' })).status, 200);
  r = await db.req('/hset?tb=s&key=a&val=1');
  t.is(r.status, 404);
  t.regex(r.text, /set/);
  t.is((await db.req('/hkeys?peer=0&tb=nope&offset=0&size=10')).text, '[]');
});

// hustdb bridge: Basic auth users act as realm principals; their roles' permissions give 403s.
import test from 'ava';
import type { RealmConfig } from '../../../lib/core/config.ts';
import { startHustdb } from '../../helpers/hustdb.ts';

const basic = (user: string, password: string): RequestInit => ({ headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } });

const realm: RealmConfig = {
  name: 'realm1',
  roles: [
    { name: 'writer', permissions: [{ uri: 'hustdb.', match: 'prefix', allow: { publish: true, subscribe: true } }] },
    { name: 'reader', permissions: [{ uri: 'hustdb.', match: 'prefix', allow: { subscribe: true } }] },
    { name: 'anonymous', permissions: [{ uri: 'hustdb.kv.open', match: 'exact', allow: { publish: true, subscribe: true } }] },
  ],
  auth: { ticket: { alice: { ticket: 't1', role: 'writer' }, bob: { ticket: 't2', role: 'reader' } }, anonymous: { role: 'anonymous' } },
};

test('Basic auth: 401 without or with wrong credentials, 403 where the role may not act', async (t) => {
  const db = await startHustdb(t, { auth: { alice: { password: 'pa', principal: 'alice' }, bob: { password: 'pb', principal: 'bob' } } }, { realms: [realm] });
  let r = await db.req('/put?key=k&val=v');
  t.is(r.status, 401);
  t.truthy(r.headers.get('WWW-Authenticate'));
  t.is((await db.req('/put?key=k&val=v', basic('alice', 'wrong'))).status, 401);
  t.is((await db.req('/put?key=k&val=v', basic('carol', 'pa'))).status, 401);
  t.is((await db.req('/put?key=k&val=v', basic('alice', 'pa'))).status, 200);
  r = await db.req('/put?key=k&val=w', basic('bob', 'pb'));
  t.is(r.status, 403);
  t.regex(r.text, /not authorized/);
  r = await db.req('/get?key=k', basic('bob', 'pb'));
  t.is(r.text, 'v', 'the refused write changed nothing');
  t.is((await db.req('/sadd?tb=s', { ...basic('bob', 'pb'), method: 'POST', body: 'm' })).status, 403);
  t.is((await db.req('/zadd?tb=z&score=1&key=m', basic('alice', 'pa'))).status, 200);
  t.is((await db.req('/zscore?tb=z&key=m', basic('bob', 'pb'))).text, '1');
  t.is((await db.req('/cache/get?key=x')).status, 401);
});

test('without auth, requests have the realm anonymous role', async (t) => {
  const db = await startHustdb(t, {}, { realms: [realm] });
  t.is((await db.req('/put?key=open&val=v')).status, 200);
  t.is((await db.req('/get?key=open')).text, 'v');
  t.is((await db.req('/put?key=closed&val=v')).status, 403);
  t.is((await db.req('/get?key=closed')).status, 403);
  t.is((await db.req('/keys?peer=0&file=0&offset=0&size=10')).status, 403);
});

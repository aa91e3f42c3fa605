// hustdb bridge authorization with the shared bridge sessions: without options of its own, the
// realm's principals log in by Basic auth (password = ticket) or a bearer ticket, anonymous requests
// act with the anonymous role, and the role's permissions give 403s naming the topic.
import test from 'ava';
import type { RealmConfig } from '../../../lib/core/config.ts';
import { startHustdb } from '../../helpers/hustdb.ts';

const basic = (user: string, password: string): RequestInit => ({ headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } });

const realm: RealmConfig = {
  name: 'realm1',
  roles: [
    { name: 'anonymous', permissions: [{ uri: 'public.', match: 'prefix', allow: { subscribe: true } }] },
    { name: 'writer', permissions: [{ uri: 'hustdb.', match: 'prefix', allow: { publish: true, subscribe: true } }] },
  ],
  auth: { anonymous: { role: 'anonymous' }, wampcra: { dave: { secret: 'd-key', role: 'writer' } }, ticket: { alice: { ticket: 'a-secret', role: 'writer' } } },
};

test('anonymous may not put or read; a realm principal by Basic (ticket or wampcra secret) or bearer may; wrong credentials 401', async (t) => {
  const db = await startHustdb(t, {}, { realms: [realm] });
  const r = await db.req('/put?key=k&val=v');
  t.is(r.status, 403);
  t.regex(r.text, /not authorized to publish 'hustdb\.kv\.k'/);
  t.is((await db.req('/get?key=k')).status, 403);
  t.is((await db.req('/put?key=k&val=v', basic('alice', 'a-secret'))).status, 200);
  t.is((await db.req('/put?key=k&val=w', basic('dave', 'd-key'))).status, 200);
  t.is((await db.req('/get?key=k', { headers: { Authorization: 'Bearer a-secret', 'Kitsune-Authid': 'alice' } })).text, 'w');
  const bad = await db.req('/get?key=k', basic('alice', 'd-key'));
  t.is(bad.status, 401);
  t.truthy(bad.headers.get('WWW-Authenticate'));
});

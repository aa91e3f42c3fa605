// hustdb bridge authorization with the shared bridge sessions: without options of its own, the
// realm's principals log in by Basic auth (password = ticket) or a bearer ticket, anonymous requests
// act with the anonymous role, and the role's permissions give 403s naming the topic.
import test from 'ava';
import { hashSecret } from '../../../lib/core/auth/secret.ts';
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

test('anonymous may not put or read; a realm principal by Basic (its ticket) or bearer may; wrong credentials and wampcra secrets 401', async (t) => {
  const db = await startHustdb(t, {}, { realms: [realm] });
  const r = await db.req('/put?key=k&val=v');
  t.is(r.status, 403);
  t.regex(r.text, /not authorized to publish 'hustdb\.kv\.k'/);
  t.is((await db.req('/get?key=k')).status, 403);
  t.is((await db.req('/put?key=k&val=v', basic('alice', 'a-secret'))).status, 200);
  t.is((await db.req('/put?key=k&val=w', { headers: { Authorization: 'Bearer a-secret', 'Kitsune-Authid': 'alice' } })).status, 200);
  t.is((await db.req('/get?key=k', basic('alice', 'a-secret'))).text, 'w');
  // a wampcra secret is the key of an HMAC challenge, not a password to send
  t.is((await db.req('/get?key=k', basic('dave', 'd-key'))).status, 401);
  const bad = await db.req('/get?key=k', basic('alice', 'd-key'));
  t.is(bad.status, 401);
  t.truthy(bad.headers.get('WWW-Authenticate'));
});

test('a principal whose ticket is stored hashed (kitsune passwd format) logs in by Basic and by bearer; a wrong password, the hash itself or an unknown user is 401', async (t) => {
  const stored = await hashSecret('hashed-pw', { ln: 10 });
  const hashedRealm: RealmConfig = { ...realm, auth: { anonymous: { role: 'anonymous' }, unknownUsers: 'anonymous', ticket: { carol: { ticket: stored, role: 'writer' } } } };
  const db = await startHustdb(t, {}, { realms: [hashedRealm] });
  t.is((await db.req('/put?key=h&val=1', basic('carol', 'hashed-pw'))).status, 200);
  t.is((await db.req('/get?key=h', { headers: { Authorization: 'Bearer hashed-pw', 'Kitsune-Authid': 'carol' } })).text, '1');
  t.is((await db.req('/get?key=h', basic('carol', 'wrong pw'))).status, 401);
  t.is((await db.req('/get?key=h', basic('carol', stored))).status, 401);
  // unknownUsers "anonymous" is for MQTT user names: over HTTP an unknown user is never demoted to anonymous
  t.is((await db.req('/get?key=h', basic('nobody', 'x'))).status, 401);
  t.is((await db.req('/get?key=h')).status, 403, 'no credentials: the anonymous role');
});

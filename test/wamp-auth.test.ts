// Authentication (anonymous, ticket, wampcra plain and salted) and per-role authorization from the
// realm config. Denials are WAMP errors, never silent drops.
import test from 'ava';
import autobahn from 'autobahn';
import { openRealm, type RealmConfig } from '../lib/core/config.ts';
import { callError, collect, openAutobahn } from './helpers/autobahn.ts';
import { RawWamp, T } from './helpers/raw-wamp.ts';
import { startTestServer } from './helpers/server.ts';
import { connectAutobahn } from './helpers/wamp.ts';

const cra = (autobahn as unknown as { auth_cra: { sign(key: string, challenge: string): string; derive_key(secret: string, salt: string, iterations?: number, keylen?: number): string } }).auth_cra;

const secure: RealmConfig = {
  name: 'secure',
  roles: [
    {
      name: 'guest',
      permissions: [
        { uri: 'public.', match: 'prefix', allow: { subscribe: true } },
        { uri: 'wamp.session.count', allow: { call: true } },
      ],
    },
    {
      name: 'user',
      permissions: [
        { uri: 'com.', match: 'prefix', allow: { subscribe: true, call: true } },
        { uri: 'com.user.', match: 'prefix', allow: { publish: true, subscribe: true, call: true } },
        { uri: 'com.user.proc', allow: { register: true, call: true } },
        { uri: 'sensor..status', match: 'wildcard', allow: { publish: true, subscribe: true } },
        { uri: 'com.admin.', match: 'prefix', allow: {} },
        { uri: 'public.', match: 'prefix', allow: { publish: true, subscribe: true } },
      ],
    },
    { name: 'admin', permissions: [{ uri: '', match: 'prefix', allow: { publish: true, subscribe: true, call: true, register: true } }] },
  ],
  auth: {
    anonymous: { role: 'guest' },
    ticket: { alice: { ticket: 'alice-ticket', role: 'user' } },
    wampcra: {
      bob: { secret: 'bob-secret', role: 'user' },
      carol: { secret: 'carol-secret', role: 'admin', salt: 'salt123', iterations: 100, keylen: 32 },
    },
  },
};
const closed: RealmConfig = { name: 'closed', roles: [{ name: 'user', permissions: [] }], auth: { ticket: { alice: { ticket: 'alice-ticket', role: 'user' } } } };

async function server(t: Parameters<typeof connectAutobahn>[0]) {
  // realm1 first: the server binds its HTTP bridges to the first realm
  return startTestServer(t, { realms: [openRealm('realm1'), secure, closed] });
}

function ticket(t: Parameters<typeof connectAutobahn>[0], urls: Record<string, string>, authid: string, secret: string, realm = 'secure') {
  return openAutobahn(t, urls, { realm, authid, authmethods: ['ticket'], onchallenge: () => secret });
}

function wampcra(t: Parameters<typeof connectAutobahn>[0], urls: Record<string, string>, authid: string, secret: string) {
  return openAutobahn(t, urls, {
    realm: 'secure',
    authid,
    authmethods: ['wampcra'],
    onchallenge: (_s, method, extra) => {
      if (method !== 'wampcra') throw new Error(`unexpected method ${method}`);
      const e = extra as { challenge: string; salt?: string; iterations?: number; keylen?: number };
      const key = e.salt ? cra.derive_key(secret, e.salt, e.iterations, e.keylen) : secret;
      return cra.sign(key, e.challenge);
    },
  });
}

const reason = (err: unknown): string | undefined => (err as { details?: { reason?: string } }).details?.reason;

test('anonymous: WELCOME with the configured role; a realm without anonymous refuses it', async (t) => {
  const { urls } = await server(t);
  const raw = await RawWamp.ws(t, urls.wamp as string);
  const w = await raw.hello('secure', { authid: 'visitor' });
  t.is(w[0], T.WELCOME);
  t.like(w[2] as Record<string, unknown>, { authid: 'visitor', authrole: 'guest', authmethod: 'anonymous' });

  const raw2 = await RawWamp.ws(t, urls.wamp as string);
  const a = await raw2.hello('closed');
  t.is(a[0], T.ABORT);
  t.is(a[2], 'wamp.error.no_auth_method');
});

test('ticket: the right ticket is welcomed with the principal role, a wrong one is refused', async (t) => {
  const { urls } = await server(t);
  const { session } = await ticket(t, urls, 'alice', 'alice-ticket');
  t.is((await callError(session.call('wamp.session.get', [session.id]))).error, 'wamp.error.not_authorized');
  const raw = await RawWamp.ws(t, urls.wamp as string);
  const ch = await raw.hello('secure', { authid: 'alice', authmethods: ['ticket'] });
  t.deepEqual(ch.slice(0, 2), [T.CHALLENGE, 'ticket']);
  raw.send([T.AUTHENTICATE, 'alice-ticket', {}]);
  const w = await raw.nextOf(T.WELCOME);
  t.like(w[2] as Record<string, unknown>, { authid: 'alice', authrole: 'user', authmethod: 'ticket' });

  t.is(reason(await t.throwsAsync(ticket(t, urls, 'alice', 'wrong'))), 'wamp.error.authentication_failed');
  // an unknown authid has no ticket method: refused (this realm falls back to nothing)
  t.is(reason(await t.throwsAsync(ticket(t, urls, 'mallory', 'alice-ticket', 'closed'))), 'wamp.error.no_auth_method');
});

test('wampcra with a plain secret: right secret welcomed, wrong secret refused', async (t) => {
  const { urls, router } = await server(t);
  const { session } = await wampcra(t, urls, 'bob', 'bob-secret');
  const details = [...router.realms.get('secure')!.sessions.values()].find((s) => s.id === session.id)!;
  t.is(details.authid, 'bob');
  t.is(details.authrole, 'user');
  t.is(details.identity.authmethod, 'wampcra');
  t.is(reason(await t.throwsAsync(wampcra(t, urls, 'bob', 'not-bobs'))), 'wamp.error.authentication_failed');
});

test('wampcra with a salted secret: the challenge carries salt, iterations and keylen; derive_key + sign is accepted', async (t) => {
  const { urls, router } = await server(t);
  let seen: Record<string, unknown> = {};
  const { session } = await openAutobahn(t, urls, {
    realm: 'secure',
    authid: 'carol',
    authmethods: ['wampcra'],
    onchallenge: (_s, _m, extra) => {
      seen = extra as Record<string, unknown>;
      const e = extra as { challenge: string; salt: string; iterations: number; keylen: number };
      return cra.sign(cra.derive_key('carol-secret', e.salt, e.iterations, e.keylen), e.challenge);
    },
  });
  t.like(seen, { salt: 'salt123', iterations: 100, keylen: 32 });
  t.is(typeof seen.challenge, 'string');
  t.is(JSON.parse(seen.challenge as string).authid, 'carol');
  t.is([...router.realms.get('secure')!.sessions.values()].find((s) => s.id === session.id)?.authrole, 'admin');
  // signing with the raw secret (not the derived key) fails
  const err = await t.throwsAsync(
    openAutobahn(t, urls, {
      realm: 'secure',
      authid: 'carol',
      authmethods: ['wampcra'],
      onchallenge: (_s, _m, extra) => cra.sign('carol-secret', (extra as { challenge: string }).challenge),
    }),
  );
  t.is(reason(err), 'wamp.error.authentication_failed');
});

test('authorization: publish, subscribe, call and register outside the role are refused with wamp.error.not_authorized', async (t) => {
  const { urls } = await server(t);
  const { session: user } = await ticket(t, urls, 'alice', 'alice-ticket');
  const { session: admin } = await wampcra(t, urls, 'carol', 'carol-secret');

  // allowed
  await admin.register('com.api.ping', () => 'pong');
  t.is(await user.call('com.api.ping'), 'pong');
  await user.register('com.user.proc', () => 'mine');
  t.is(await admin.call('com.user.proc'), 'mine');
  const userEvents = await collect(user, 'com.news');
  await admin.publish('com.news', ['hi'], {}, { acknowledge: true });
  await userEvents.waitFor(1);
  await user.publish('com.user.chat', ['x'], {}, { acknowledge: true });
  await user.publish('sensor.kitchen.status', ['ok'], {}, { acknowledge: true }); // wildcard permission

  // refused: each with an ERROR
  const denied = async (p: PromiseLike<unknown>): Promise<string> => (await callError(p)).error;
  t.is(await denied(user.publish('com.news', ['forged'], {}, { acknowledge: true })), 'wamp.error.not_authorized');
  t.is(await denied(user.publish('sensor.kitchen.oven.status', ['x'], {}, { acknowledge: true })), 'wamp.error.not_authorized');
  // 'com.' (subscribe/call only) is the most specific permission matching com.kitchen.status
  t.is(await denied(user.publish('com.kitchen.status', ['x'], {}, { acknowledge: true })), 'wamp.error.not_authorized');
  t.is(await denied(user.subscribe('org.private', () => undefined)), 'wamp.error.not_authorized');
  t.is(await denied(user.subscribe('com.admin.audit', () => undefined)), 'wamp.error.not_authorized');
  t.is(await denied(user.call('com.admin.reset')), 'wamp.error.not_authorized');
  t.is(await denied(user.call('org.other')), 'wamp.error.not_authorized');
  t.is(await denied(user.register('com.user.other', () => 1)), 'wamp.error.not_authorized');
  t.is(await denied(user.register('com.api.ping2', () => 1)), 'wamp.error.not_authorized');

  // a refused unacknowledged publish is not routed either
  await user.publish('com.news', ['forged, unacknowledged']);
  await admin.publish('com.news', ['after'], {}, { acknowledge: true });
  await userEvents.waitFor(2);
  t.deepEqual(
    userEvents.items.map((e) => e.args[0]),
    ['hi', 'after'],
  );
});

test('authorization: the anonymous guest role may only subscribe to public topics and count sessions', async (t) => {
  const { urls } = await server(t);
  const guest = await connectAutobahn(t, urls, { realm: 'secure' });
  const { session: user } = await ticket(t, urls, 'alice', 'alice-ticket');
  const events = await collect(guest, 'public.feed');
  await user.publish('public.feed', ['for everyone'], {}, { acknowledge: true });
  await events.waitFor(1);
  t.is(await guest.call('wamp.session.count', [['guest', 'user']]), 2);
  t.is((await callError(guest.call('wamp.session.list'))).error, 'wamp.error.not_authorized');
  t.is((await callError(guest.publish('public.feed', ['x'], {}, { acknowledge: true }))).error, 'wamp.error.not_authorized');
  t.is((await callError(guest.register('public.proc', () => 1))).error, 'wamp.error.not_authorized');
  t.is((await callError(guest.subscribe('com.news', () => undefined))).error, 'wamp.error.not_authorized');
  // a pattern subscription is checked as a pattern: a prefix wider than the permission is refused
  t.is((await callError(guest.subscribe('pub', () => undefined, { match: 'prefix' }))).error, 'wamp.error.not_authorized');
  await guest.subscribe('public.x', () => undefined, { match: 'prefix' });
  t.pass();
});

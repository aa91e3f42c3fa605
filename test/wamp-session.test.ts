// The WAMP session lifecycle: HELLO/WELCOME with the announced features, ABORT, GOODBYE both ways,
// ERROR answers, and the id ranges.
import test from 'ava';
import { openAutobahn } from './helpers/autobahn.ts';
import { RawWamp, T } from './helpers/raw-wamp.ts';
import { startTestServer } from './helpers/server.ts';
import { connectAutobahn } from './helpers/wamp.ts';

const MAX_ID = 2 ** 53;
const inRange = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_ID;

test('HELLO gets WELCOME with the session id, identity and every advanced feature announced', async (t) => {
  const { urls } = await startTestServer(t);
  const c = await RawWamp.ws(t, urls.wamp as string);
  const w = await c.hello('realm1', { authid: 'someone' });
  t.is(w[0], T.WELCOME);
  t.true(inRange(w[1]));
  const details = w[2] as { realm: string; authid: string; authrole: string; authmethod: string; roles: { broker: { features: Record<string, boolean> }; dealer: { features: Record<string, boolean> } } };
  t.is(details.realm, 'realm1');
  t.is(details.authid, 'someone');
  t.is(details.authrole, 'anonymous');
  t.is(details.authmethod, 'anonymous');
  const broker = details.roles.broker.features;
  for (const f of [
    'pattern_based_subscription',
    'publisher_identification',
    'publisher_exclusion',
    'subscriber_blackwhite_listing',
    'session_meta_api',
    'subscription_meta_api',
    'event_retention',
    'testament_meta_api',
  ]) {
    t.true(broker[f], `broker feature ${f}`);
  }
  const dealer = details.roles.dealer.features;
  for (const f of [
    'pattern_based_registration',
    'shared_registration',
    'progressive_call_results',
    'progressive_call_invocations',
    'call_canceling',
    'call_timeout',
    'caller_identification',
    'session_meta_api',
    'registration_meta_api',
  ]) {
    t.true(dealer[f], `dealer feature ${f}`);
  }
});

test('an anonymous HELLO without authid gets a generated authid', async (t) => {
  const { urls } = await startTestServer(t);
  const { session } = await openAutobahn(t, urls);
  const me = (await session.call('wamp.session.get', [session.id])) as { authid: string; authrole: string };
  t.is(typeof me.authid, 'string');
  t.true(me.authid.length > 0);
  t.is(me.authrole, 'anonymous');
});

test('HELLO for an unknown realm is ABORTed with wamp.error.no_such_realm', async (t) => {
  const { urls, router } = await startTestServer(t);
  const base = router.sessionCount; // the server's own sessions (HTTP bridges)
  const c = await RawWamp.ws(t, urls.wamp as string);
  const m = await c.hello('no.such.realm');
  t.is(m[0], T.ABORT);
  t.is(m[2], 'wamp.error.no_such_realm');
  t.is(typeof (m[1] as { message?: unknown }).message, 'string');
  await c.closed;
  t.is(router.sessionCount, base);
  t.false(router.realms.has('no.such.realm'));
  // autobahn sees the same refusal
  const err = await t.throwsAsync(openAutobahn(t, urls, { realm: 'no.such.realm' }));
  t.is((err as unknown as { details: { reason: string } }).details.reason, 'wamp.error.no_such_realm');
});

test('client GOODBYE is answered with GOODBYE wamp.close.goodbye_and_out and the session is gone', async (t) => {
  const { urls, router } = await startTestServer(t);
  const base = router.sessionCount;
  const c = await RawWamp.session(t, urls);
  t.is(router.sessionCount, base + 1);
  c.goodbye('wamp.close.close_realm');
  const g = await c.nextOf(T.GOODBYE);
  t.is(g[2], 'wamp.close.goodbye_and_out');
  await c.closed;
  t.is(router.sessionCount, base);
});

test('autobahn leaves cleanly with GOODBYE (its close reason is the router GOODBYE)', async (t) => {
  const { urls, router } = await startTestServer(t);
  const base = router.sessionCount;
  const { connection, closed } = await openAutobahn(t, urls);
  connection.close('wamp.close.normal', 'bye');
  const info = await closed;
  t.is(info.details.reason, 'wamp.close.goodbye_and_out');
  t.is(router.sessionCount, base);
});

test('router GOODBYE (shutdown): the client gets GOODBYE with the reason, answers, and the transport closes', async (t) => {
  const { urls, router } = await startTestServer(t);
  const c = await RawWamp.session(t, urls);
  router.close();
  const g = await c.nextOf(T.GOODBYE);
  t.is(g[2], 'wamp.close.system_shutdown');
  t.is(router.sessionCount, 0);
  c.goodbye('wamp.close.goodbye_and_out');
  await c.closed;
  t.pass();
});

test('requests the router refuses are answered with ERROR [8, type, request, details, uri]', async (t) => {
  const { urls } = await startTestServer(t);
  const c = await RawWamp.session(t, urls);

  const call = c.call('com.nobody.here', [1]);
  const e1 = await c.callOutcome(call);
  t.deepEqual(e1.slice(0, 2), [T.ERROR, T.CALL]);
  t.is(e1[2], call);
  t.deepEqual(e1[3], {});
  t.is(e1[4], 'wamp.error.no_such_procedure');

  const u = c.id();
  c.send([T.UNSUBSCRIBE, u, 12345]);
  const e2 = await c.reply(T.UNSUBSCRIBE, u);
  t.deepEqual(e2.slice(0, 3), [T.ERROR, T.UNSUBSCRIBE, u]);
  t.is(e2[4], 'wamp.error.no_such_subscription');

  const r = c.id();
  c.send([T.UNREGISTER, r, 12345]);
  const e3 = await c.reply(T.UNREGISTER, r);
  t.deepEqual(e3.slice(0, 3), [T.ERROR, T.UNREGISTER, r]);
  t.is(e3[4], 'wamp.error.no_such_registration');

  // the session is still usable after ERRORs
  const sub = await c.subscribe('com.still.alive');
  t.true(inRange(sub));
});

test('every id the router hands out is an integer in [1, 2^53]; session ids are distinct', async (t) => {
  const { urls } = await startTestServer(t);
  const ids = new Set<number>();
  for (let i = 0; i < 10; i++) {
    const s = await RawWamp.session(t, urls);
    t.true(inRange(s.sessionId));
    ids.add(s.sessionId);
  }
  t.is(ids.size, 10);

  const a = await RawWamp.session(t, urls);
  const b = await RawWamp.session(t, urls);
  const sub = await b.subscribe('com.ids');
  const reg = await b.register('com.ids.proc');
  t.true(inRange(sub));
  t.true(inRange(reg));
  const pub = await a.publishAck('com.ids', [1]);
  t.is(pub[0], T.PUBLISHED);
  t.true(inRange(pub[2]));
  const ev = await b.nextOf(T.EVENT);
  t.is(ev[1], sub);
  t.is(ev[2], pub[2]);
  const call = a.call('com.ids.proc');
  const inv = await b.nextOf(T.INVOCATION);
  t.true(inRange(inv[1]));
  t.is(inv[2], reg);
  b.send([T.YIELD, inv[1], {}]);
  const res = await a.callOutcome(call);
  t.is(res[0], T.RESULT);
});

test('autobahn over WebSocket and RawSocket: session ids in range', async (t) => {
  const { urls } = await startTestServer(t);
  const ws = await connectAutobahn(t, urls);
  const rs = await connectAutobahn(t, urls, { rawsocket: true });
  t.true(inRange(ws.id));
  t.true(inRange(rs.id));
  t.not(ws.id, rs.id);
});

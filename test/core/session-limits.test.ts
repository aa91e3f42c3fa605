// The per-session and per-realm limits WAMP clients meet (sessions, subscriptions, registrations,
// pending calls, queued calls): each refusal is the protocol's own error and a count on /metrics.
import test from 'ava';
import { callError, deferred, openAutobahn, opts } from '../helpers/autobahn.ts';
import { startTestServer } from '../helpers/server.ts';

async function refusals(urls: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${urls.http}/metrics`)).text();
  const m = /^kitsune_limit_refusals_total (\d+)/m.exec(text);
  if (!m) throw new Error('kitsune_limit_refusals_total is missing from /metrics');
  return Number(m[1]);
}

const LIMIT = 'kitsune.error.limit_exceeded';

test('subscriptions, registrations and pending calls per session: the one past the limit gets limit_exceeded, counted', async (t) => {
  const server = await startTestServer(t, { limits: { maxSubscriptionsPerSession: 2, maxRegistrationsPerSession: 2, maxPendingCallsPerSession: 2 } });
  const { session } = await openAutobahn(t, server.urls);
  const before = await refusals(server.urls);
  await session.subscribe('a.one', () => {});
  await session.subscribe('a.two', () => {});
  t.is((await callError(session.subscribe('a.three', () => {}))).error, LIMIT);
  await session.register('p.one', () => new Promise(() => {}));
  await session.register('p.two', () => new Promise(() => {}));
  t.is((await callError(session.register('p.three', () => 1))).error, LIMIT);
  // p.one never answers: two calls stay pending, the third is refused at once.
  const { session: caller } = await openAutobahn(t, server.urls);
  void caller.call('p.one').catch(() => {});
  void caller.call('p.one').catch(() => {});
  t.is((await callError(caller.call('p.two'))).error, LIMIT);
  t.is((await refusals(server.urls)) - before, 3);
  // The session stays usable within its limits.
  const got = deferred<unknown[]>();
  const { session: other } = await openAutobahn(t, server.urls);
  await other.subscribe('a.one', (args) => got.resolve(args ?? []));
  await session.publish('a.one', ['still served'], {}, { exclude_me: false, acknowledge: true });
  t.deepEqual(await got.promise, ['still served']);
});

test('sessions per realm and the wait queue of a busy registration: refusals counted', async (t) => {
  const server = await startTestServer(t, { limits: { maxSessionsPerRealm: 8, maxQueuedCallsPerRegistration: 1 } });
  const { session: callee } = await openAutobahn(t, server.urls);
  const { session: caller } = await openAutobahn(t, server.urls);
  const before = await refusals(server.urls);
  await callee.register('busy', () => new Promise(() => {}), opts({ concurrency: 1 }));
  void caller.call('busy').catch(() => {}); // running
  void caller.call('busy').catch(() => {}); // waiting (the queue holds one)
  t.is((await callError(caller.call('busy'))).error, 'wamp.error.no_available_callee');
  // The bridges hold local sessions of their own: fill the realm up to its limit, then one more.
  const realm = server.router.realms.get('realm1')!;
  while (realm.sessions.size < 8) await openAutobahn(t, server.urls);
  const refused = await t.throwsAsync(openAutobahn(t, server.urls));
  t.regex(JSON.stringify((refused as Error & { details?: unknown }).details), /limit_exceeded/);
  t.is((await refusals(server.urls)) - before, 2);
});

// The WAMP meta API: session procedures and events, kill, registration and subscription procedures
// and events, and testaments.
import test from 'ava';
import { openRealm, type RealmConfig } from '../lib/core/config.ts';
import { callError, collect, Collector, opts } from './helpers/autobahn.ts';
import { RawWamp, T } from './helpers/raw-wamp.ts';
import { startTestServer } from './helpers/server.ts';
import { connectAutobahn } from './helpers/wamp.ts';

type Dict = Record<string, unknown>;
const all = { publish: true, subscribe: true, call: true, register: true };
const twoRoles: RealmConfig = {
  name: 'roles',
  roles: [
    { name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: all }] },
    { name: 'worker', permissions: [{ uri: '', match: 'prefix', allow: all }] },
  ],
  auth: { anonymous: { role: 'anonymous' }, ticket: { w1: { ticket: 't', role: 'worker' }, w2: { ticket: 't', role: 'worker' } } },
};

test('wamp.session.count, .list and .get (with an authrole filter)', async (t) => {
  const { urls } = await startTestServer(t, { realms: [openRealm('realm1'), twoRoles] });
  const realm = 'roles';
  const admin = await connectAutobahn(t, urls, { realm, authid: 'admin' });
  const worker = await connectAutobahn(t, urls, { realm, authid: 'w1', authmethods: ['ticket'], onchallenge: () => 't' });
  const other = await connectAutobahn(t, urls, { realm, rawsocket: true, authid: 'someone' });

  t.is(await admin.call('wamp.session.count'), 3);
  t.is(await admin.call('wamp.session.count', [['worker']]), 1);
  t.deepEqual(((await admin.call('wamp.session.list')) as number[]).sort(), [admin.id, worker.id, other.id].sort());
  t.deepEqual(await admin.call('wamp.session.list', [['worker']]), [worker.id]);

  const d = (await admin.call('wamp.session.get', [worker.id])) as Dict;
  t.is(d.session, worker.id);
  t.is(d.authid, 'w1');
  t.is(d.authrole, 'worker');
  t.is(d.authmethod, 'ticket');
  const tr = (await admin.call('wamp.session.get', [other.id])) as { transport: Dict };
  t.is(tr.transport.type, 'rawsocket');
  t.is((await callError(admin.call('wamp.session.get', [12345]))).error, 'wamp.error.no_such_session');
});

test('wamp.session.on_join and on_leave events', async (t) => {
  const { urls } = await startTestServer(t);
  const watcher = await connectAutobahn(t, urls);
  const joins = await collect(watcher, 'wamp.session.on_join');
  const leaves = await collect(watcher, 'wamp.session.on_leave');
  const c = await RawWamp.session(t, urls, { details: { authid: 'joiner' } });
  const [join] = await joins.waitFor(1);
  const jd = join?.args[0] as Dict;
  t.is(jd.session, c.sessionId);
  t.is(jd.authid, 'joiner');
  t.is(jd.authrole, 'anonymous');
  c.end();
  const [leave] = await leaves.waitFor(1);
  t.deepEqual(leave?.args, [c.sessionId, 'joiner', 'anonymous']);
});

test('wamp.session.kill: the killed client gets GOODBYE with the reason and message; the caller may not kill itself', async (t) => {
  // a realm whose anonymous role may kill (the default realm's may not: see the next test)
  const { urls, router } = await startTestServer(t, { realms: [openRealm('realm1'), twoRoles] });
  const realm = 'roles';
  const base = router.realms.get(realm)!.sessions.size;
  const admin = await connectAutobahn(t, urls, { realm });
  const victim = await RawWamp.session(t, urls, { realm });
  const bystander = await RawWamp.session(t, urls, { realm });
  await admin.call('wamp.session.kill', [victim.sessionId], { reason: 'com.myapp.close.banned', message: 'go away' });
  const g = await victim.nextOf(T.GOODBYE);
  t.deepEqual(g, [T.GOODBYE, { message: 'go away' }, 'com.myapp.close.banned']);
  victim.goodbye('wamp.close.goodbye_and_out');
  await victim.closed;
  t.false(router.realms.get(realm)!.sessions.has(victim.sessionId));
  // default reason
  await admin.call('wamp.session.kill', [bystander.sessionId]);
  t.is((await bystander.nextOf(T.GOODBYE))[2], 'wamp.close.killed');
  t.is((await callError(admin.call('wamp.session.kill', [admin.id]))).error, 'wamp.error.no_such_session');
  t.is((await callError(admin.call('wamp.session.kill', [424242]))).error, 'wamp.error.no_such_session');
  t.is(await admin.call('wamp.session.count'), base + 1);
});

test('the default realm: anonymous may list sessions but not kill them; a role granted kill_all may', async (t) => {
  const killers: RealmConfig = {
    name: 'killers',
    roles: [
      { name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: all }, { uri: 'wamp.session.kill', match: 'prefix', allow: {} }] },
      { name: 'admin', permissions: [{ uri: 'wamp.session.kill_all', match: 'exact', allow: { call: true } }] },
    ],
    auth: { anonymous: { role: 'anonymous' }, ticket: { root: { ticket: 'r00t', role: 'admin' } } },
  };
  const { urls, router } = await startTestServer(t, { realms: [openRealm('realm1'), killers] });
  const anon = await connectAutobahn(t, urls);
  const victim = await RawWamp.session(t, urls);
  for (const proc of ['wamp.session.kill_all', 'wamp.session.kill_by_authrole', 'wamp.session.kill_by_authid', 'wamp.session.kill']) {
    t.is((await callError(anon.call(proc, proc === 'wamp.session.kill_all' ? [] : [victim.sessionId]))).error, 'wamp.error.not_authorized', proc);
  }
  t.true(((await anon.call('wamp.session.list')) as number[]).includes(victim.sessionId), 'listing stays open in the default realm');
  t.true(router.realms.get('realm1')!.sessions.has(victim.sessionId));
  t.true(await victim.quiet(50, (m) => m[0] === T.GOODBYE));

  const realm = 'killers';
  const bystander = await RawWamp.session(t, urls, { realm });
  const anonThere = await connectAutobahn(t, urls, { realm });
  t.is((await callError(anonThere.call('wamp.session.kill_all'))).error, 'wamp.error.not_authorized');
  const anonThereId = anonThere.id;
  const admin = await connectAutobahn(t, urls, { realm, authid: 'root', authmethods: ['ticket'], onchallenge: () => 'r00t' });
  t.is((await callError(admin.call('wamp.session.list'))).error, 'wamp.error.not_authorized', 'kill_all does not grant listing');
  const killed = (await admin.call('wamp.session.kill_all', [], { reason: 'com.x.all' })) as number[];
  t.deepEqual(killed.sort(), [bystander.sessionId, anonThereId].sort());
  t.is((await bystander.nextOf(T.GOODBYE))[2], 'com.x.all');
});

test('wamp.session.kill_by_authid and kill_by_authrole kill the matching sessions only (not the caller)', async (t) => {
  const { urls } = await startTestServer(t, { realms: [openRealm('realm1'), twoRoles] });
  const realm = 'roles';
  const admin = await connectAutobahn(t, urls, { realm, authid: 'dup' });
  const dup1 = await RawWamp.session(t, urls, { realm, details: { authid: 'dup' } });
  const dup2 = await RawWamp.session(t, urls, { realm, rawsocket: true, details: { authid: 'dup' } });
  const keep = await RawWamp.session(t, urls, { realm, details: { authid: 'keep' } });
  const killed = (await admin.call('wamp.session.kill_by_authid', ['dup'], { reason: 'com.x.dup' })) as number[];
  t.deepEqual(killed.sort(), [dup1.sessionId, dup2.sessionId].sort());
  t.is((await dup1.nextOf(T.GOODBYE))[2], 'com.x.dup');
  t.is((await dup2.nextOf(T.GOODBYE))[2], 'com.x.dup');
  t.true(await keep.quiet(50, (m) => m[0] === T.GOODBYE));

  const worker1 = await connectAutobahn(t, urls, { realm, authid: 'w1', authmethods: ['ticket'], onchallenge: () => 't' });
  const worker2 = await connectAutobahn(t, urls, { realm, authid: 'w2', authmethods: ['ticket'], onchallenge: () => 't' });
  const workerIds = [worker1.id, worker2.id];
  const gone = new Collector<string>();
  worker1.onleave = (reason) => gone.push(reason);
  worker2.onleave = (reason) => gone.push(reason);
  const byRole = (await admin.call('wamp.session.kill_by_authrole', ['worker'], { reason: 'com.x.workers' })) as number[];
  t.deepEqual(byRole.sort(), workerIds.sort());
  t.deepEqual(await gone.waitFor(2), ['com.x.workers', 'com.x.workers']);
  t.is(await admin.call('wamp.session.count'), 2); // admin and keep
});

test('registration meta API: list, lookup, match, get, list_callees, count_callees', async (t) => {
  const { urls } = await startTestServer(t);
  const a = await connectAutobahn(t, urls);
  const b = await connectAutobahn(t, urls);
  const q = await connectAutobahn(t, urls);
  const exact = await a.register('com.meta.proc', () => 1, { invoke: 'roundrobin' });
  await b.register('com.meta.proc', () => 2, { invoke: 'roundrobin' });
  const prefix = await a.register('com.meta', () => 3, opts({ match: 'prefix' }));
  const wild = await b.register('com..proc', () => 4, opts({ match: 'wildcard' }));

  const list = (await q.call('wamp.registration.list')) as { exact: number[]; prefix: number[]; wildcard: number[] };
  t.true(list.exact.includes(exact.id));
  t.true(list.prefix.includes(prefix.id));
  t.true(list.wildcard.includes(wild.id));
  t.false(list.exact.includes(prefix.id) || list.exact.includes(wild.id) || list.prefix.includes(exact.id));

  t.is(await q.call('wamp.registration.lookup', ['com.meta.proc']), exact.id);
  t.is(await q.call('wamp.registration.lookup', ['com.meta', { match: 'prefix' }]), prefix.id);
  t.is(await q.call('wamp.registration.lookup', ['com..proc', { match: 'wildcard' }]), wild.id);
  t.is(await q.call('wamp.registration.lookup', ['com.meta']), null);

  t.is(await q.call('wamp.registration.match', ['com.meta.proc']), exact.id);
  t.is(await q.call('wamp.registration.match', ['com.meta.other']), prefix.id);
  t.is(await q.call('wamp.registration.match', ['com.x.proc']), wild.id);
  t.is(await q.call('wamp.registration.match', ['org.nothing']), null);

  const got = (await q.call('wamp.registration.get', [exact.id])) as Dict;
  t.is(got.id, exact.id);
  t.is(got.uri, 'com.meta.proc');
  t.is(got.match, 'exact');
  t.is(got.invoke, 'roundrobin');
  t.is(typeof got.created, 'string');
  t.is((await q.call('wamp.registration.get', [prefix.id]) as Dict).match, 'prefix');

  t.deepEqual(((await q.call('wamp.registration.list_callees', [exact.id])) as number[]).sort(), [a.id, b.id].sort());
  t.is(await q.call('wamp.registration.count_callees', [exact.id]), 2);
  t.is(await q.call('wamp.registration.count_callees', [wild.id]), 1);
  t.is((await callError(q.call('wamp.registration.get', [999999]))).error, 'wamp.error.no_such_registration');
  t.is((await callError(q.call('wamp.registration.list_callees', [999999]))).error, 'wamp.error.no_such_registration');
});

test('registration meta events: on_create, on_register, on_unregister, on_delete', async (t) => {
  const { urls } = await startTestServer(t);
  const watcher = await connectAutobahn(t, urls);
  // keep the events about com.ev.proc (other sessions, e.g. the server's bridges, may register too)
  const events = new Collector<[string, unknown[]]>();
  let watched: unknown;
  for (const e of ['on_create', 'on_register', 'on_unregister', 'on_delete']) {
    await watcher.subscribe(`wamp.registration.${e}`, (args) => {
      const a = args as unknown[];
      if (e === 'on_create' && (a[1] as Dict).uri === 'com.ev.proc') watched = (a[1] as Dict).id;
      if ((e === 'on_create' ? (a[1] as Dict).id : a[1]) === watched) events.push([e, a]);
    });
  }
  const a = await connectAutobahn(t, urls);
  const b = await connectAutobahn(t, urls);
  const ra = await a.register('com.ev.proc', () => 1, { invoke: 'first' });
  await events.waitFor(2);
  const rb = await b.register('com.ev.proc', () => 2, { invoke: 'first' });
  await events.waitFor(3);
  await ra.unregister();
  await events.waitFor(4);
  await rb.unregister();
  const got = await events.waitFor(6);
  t.deepEqual(got.map(([e, args]) => [e, args[0]]), [
    ['on_create', a.id],
    ['on_register', a.id],
    ['on_register', b.id],
    ['on_unregister', a.id],
    ['on_unregister', b.id],
    ['on_delete', b.id],
  ]);
  const created = got[0]![1][1] as Dict;
  t.is(created.id, ra.id);
  t.is(created.uri, 'com.ev.proc');
  t.is(created.invoke, 'first');
  for (const [, args] of got.slice(1)) t.is(args[1], ra.id);
});

test('subscription meta API: list, lookup, match, get, list_subscribers, count_subscribers', async (t) => {
  const { urls } = await startTestServer(t);
  const a = await RawWamp.session(t, urls);
  const b = await RawWamp.session(t, urls);
  const q = await connectAutobahn(t, urls);
  const exact = await a.subscribe('com.meta.topic');
  t.is(await b.subscribe('com.meta.topic'), exact);
  const prefix = await a.subscribe('com.meta', { match: 'prefix' });
  const wild = await b.subscribe('com..topic', { match: 'wildcard' });

  const list = (await q.call('wamp.subscription.list')) as { exact: number[]; prefix: number[]; wildcard: number[] };
  t.true(list.exact.includes(exact));
  t.true(list.prefix.includes(prefix));
  t.true(list.wildcard.includes(wild));
  t.false(list.exact.includes(prefix) || list.exact.includes(wild) || list.prefix.includes(exact));

  t.is(await q.call('wamp.subscription.lookup', ['com.meta.topic']), exact);
  t.is(await q.call('wamp.subscription.lookup', ['com.meta', { match: 'prefix' }]), prefix);
  t.is(await q.call('wamp.subscription.lookup', ['com..topic', { match: 'wildcard' }]), wild);
  t.is(await q.call('wamp.subscription.lookup', ['com.nope']), null);

  t.deepEqual(((await q.call('wamp.subscription.match', ['com.meta.topic'])) as number[]).sort(), [exact, prefix, wild].sort());
  t.deepEqual(await q.call('wamp.subscription.match', ['com.metaphor']), [prefix]);
  t.is(await q.call('wamp.subscription.match', ['org.none']), null);

  const got = (await q.call('wamp.subscription.get', [wild])) as Dict;
  t.is(got.id, wild);
  t.is(got.uri, 'com..topic');
  t.is(got.match, 'wildcard');
  t.is(typeof got.created, 'string');

  t.deepEqual(((await q.call('wamp.subscription.list_subscribers', [exact])) as number[]).sort(), [a.sessionId, b.sessionId].sort());
  t.is(await q.call('wamp.subscription.count_subscribers', [exact]), 2);
  t.is(await q.call('wamp.subscription.count_subscribers', [prefix]), 1);
  t.is((await callError(q.call('wamp.subscription.get', [999999]))).error, 'wamp.error.no_such_subscription');
  t.is((await callError(q.call('wamp.subscription.count_subscribers', [999999]))).error, 'wamp.error.no_such_subscription');
});

test('subscription meta events: on_create, on_subscribe, on_unsubscribe, on_delete', async (t) => {
  const { urls } = await startTestServer(t);
  const watcher = await connectAutobahn(t, urls);
  // the watcher's own subscriptions make meta events too: keep those about com.ev.topic, whose id
  // on_create announces before any other event of that subscription
  const events = new Collector<[string, unknown[]]>();
  let watched: unknown;
  for (const e of ['on_create', 'on_subscribe', 'on_unsubscribe', 'on_delete']) {
    await watcher.subscribe(`wamp.subscription.${e}`, (args) => {
      const a = args as unknown[];
      if (e === 'on_create' && (a[1] as Dict).uri === 'com.ev.topic') watched = (a[1] as Dict).id;
      if ((e === 'on_create' ? (a[1] as Dict).id : a[1]) === watched) events.push([e, a]);
    });
  }
  const a = await RawWamp.session(t, urls);
  const b = await RawWamp.session(t, urls);
  const sid = await a.subscribe('com.ev.topic', { match: 'prefix' });
  await b.subscribe('com.ev.topic', { match: 'prefix' });
  const u = a.id();
  a.send([T.UNSUBSCRIBE, u, sid]);
  t.is((await a.reply(T.UNSUBSCRIBE, u))[0], T.UNSUBSCRIBED);
  b.end(); // leaving unsubscribes too
  const got = await events.waitFor(6);
  t.deepEqual(got.map(([e, args]) => [e, args[0]]), [
    ['on_create', a.sessionId],
    ['on_subscribe', a.sessionId],
    ['on_subscribe', b.sessionId],
    ['on_unsubscribe', a.sessionId],
    ['on_unsubscribe', b.sessionId],
    ['on_delete', b.sessionId],
  ]);
  const created = got[0]![1][1] as Dict;
  t.is(created.id, sid);
  t.is(created.uri, 'com.ev.topic');
  t.is(created.match, 'prefix');
  for (const [, args] of got.slice(1)) t.is(args[1], sid);
});

test('testament: a session that drops without GOODBYE has its testament published', async (t) => {
  const { urls } = await startTestServer(t);
  const watcher = await connectAutobahn(t, urls);
  const wills = await collect(watcher, 'com.client.gone');
  const c = await RawWamp.session(t, urls, { serializer: 'msgpack' });
  const id = c.call('wamp.session.add_testament', ['com.client.gone', ['client-42'], { why: 'dropped' }]);
  t.is((await c.callOutcome(id))[0], T.RESULT);
  t.is(wills.items.length, 0, 'nothing is published while the session lives');
  c.end();
  const got = await wills.waitFor(1);
  t.deepEqual(got.map((e) => [e.args, e.kwargs]), [[['client-42'], { why: 'dropped' }]]);
});

test('testament: flush_testaments discards them, so nothing is published when the session drops', async (t) => {
  const { urls } = await startTestServer(t);
  const watcher = await connectAutobahn(t, urls);
  const wills = await collect(watcher, 'com.client.gone');
  const leaves = await collect(watcher, 'wamp.session.on_leave');
  const c = await RawWamp.session(t, urls);
  for (const n of [1, 2]) {
    const id = c.call('wamp.session.add_testament', ['com.client.gone', [n]]);
    t.is((await c.callOutcome(id))[0], T.RESULT);
  }
  const f = c.call('wamp.session.flush_testaments');
  t.deepEqual(await c.callOutcome(f), [T.RESULT, f, {}, [2]]);
  c.end();
  // on_leave is published after any testament would have been
  const [leave] = await leaves.waitFor(1);
  t.is(leave?.args[0], c.sessionId);
  t.is(wills.items.length, 0);
});

test('testament: add_testament on a topic the role may not publish to is refused', async (t) => {
  const { urls } = await startTestServer(t, {
    realms: [
      openRealm('realm1'),
      {
        name: 'restricted',
        roles: [{ name: 'anonymous', permissions: [{ uri: 'com.open', match: 'prefix', allow: { publish: true, call: true } }, { uri: 'wamp.', match: 'prefix', allow: { call: true } }] }],
        auth: { anonymous: { role: 'anonymous' } },
      },
    ],
  });
  const s = await connectAutobahn(t, urls, { realm: 'restricted' });
  t.is((await callError(s.call('wamp.session.add_testament', ['com.secret.topic', ['x']]))).error, 'wamp.error.not_authorized');
  t.deepEqual(await s.call('wamp.session.add_testament', ['com.open.topic', ['x']]), null);
});

test('a meta event about a subscription never precedes its SUBSCRIBED (subscribing to on_create itself)', async (t) => {
  const { urls } = await startTestServer(t);
  const c = await RawWamp.session(t, urls, { serializer: 'cbor' });
  const req = c.id();
  c.send([T.SUBSCRIBE, req, {}, 'wamp.subscription.on_create']);
  const first = await c.next();
  t.deepEqual(first.slice(0, 2), [T.SUBSCRIBED, req], 'SUBSCRIBED comes first');
  const ev = await c.nextOf(T.EVENT);
  t.is(ev[1], first[2]);
  const [session, details] = ev[4] as [number, Dict];
  t.is(session, c.sessionId);
  t.like(details, { id: first[2], uri: 'wamp.subscription.on_create', match: 'exact' });
});

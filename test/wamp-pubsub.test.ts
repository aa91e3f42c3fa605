// WAMP pub/sub: basic routing, pattern-based subscriptions, publisher identification and exclusion,
// subscriber black/white listing, event retention.
import test from 'ava';
import { openRealm, type RealmConfig } from '../lib/core/config.ts';
import { collect, openAutobahn, opts } from './helpers/autobahn.ts';
import { RawWamp, T } from './helpers/raw-wamp.ts';
import { startTestServer } from './helpers/server.ts';
import { connectAutobahn } from './helpers/wamp.ts';
import type autobahn from 'autobahn';
import { DeferredArgs } from '../lib/wamp/deferred-args.ts';
import { serializerByName } from '../lib/wamp/serializers.ts';

const all = { publish: true, subscribe: true, call: true, register: true };

/** A realm with two roles; alice and carol are users, bob is an admin (ticket = name + '-secret'). */
const realmWithRoles: RealmConfig = {
  name: 'roles',
  roles: [
    { name: 'user', permissions: [{ uri: '', match: 'prefix', allow: all }] },
    { name: 'admin', permissions: [{ uri: '', match: 'prefix', allow: all }] },
  ],
  auth: {
    anonymous: { role: 'user' },
    ticket: {
      alice: { ticket: 'alice-secret', role: 'user' },
      bob: { ticket: 'bob-secret', role: 'admin' },
      carol: { ticket: 'carol-secret', role: 'user' },
    },
  },
};

function ticketLogin(t: Parameters<typeof connectAutobahn>[0], urls: Record<string, string>, name: string): Promise<autobahn.Session> {
  return connectAutobahn(t, urls, { realm: 'roles', authid: name, authmethods: ['ticket'], onchallenge: () => `${name}-secret` });
}

test('publish/subscribe with args and kwargs; acknowledge gives PUBLISHED; unsubscribe stops delivery', async (t) => {
  const { urls } = await startTestServer(t);
  const pub = await connectAutobahn(t, urls);
  const sub = await connectAutobahn(t, urls);
  const events: unknown[] = [];
  let got!: () => void;
  const arrived = new Promise<void>((r) => (got = r));
  const s = await sub.subscribe('com.app.topic', (args, kwargs) => {
    events.push([args, kwargs]);
    got();
  });
  const p = (await pub.publish('com.app.topic', [1, 'two', { three: 3 }], { k: [true, null] }, { acknowledge: true })) as autobahn.IPublication;
  t.true(Number.isInteger(p.id) && p.id >= 1);
  await arrived;
  t.deepEqual(events, [[[1, 'two', { three: 3 }], { k: [true, null] }]]);

  await s.unsubscribe();
  await pub.publish('com.app.topic', [2], {}, { acknowledge: true });
  // a marker through another subscription of the same session: the event before it would have arrived first
  const other = await collect(sub, 'com.app.marker');
  await pub.publish('com.app.marker', [], {}, { acknowledge: true });
  await other.waitFor(1);
  t.is(events.length, 1);
});

test('two subscribers of one topic share the subscription id and both get every event', async (t) => {
  const { urls } = await startTestServer(t);
  const a = await RawWamp.session(t, urls);
  const b = await RawWamp.session(t, urls);
  const p = await RawWamp.session(t, urls);
  const sa = await a.subscribe('com.shared');
  const sb = await b.subscribe('com.shared');
  t.is(sa, sb);
  await p.publishAck('com.shared', ['x']);
  const ea = await a.nextOf(T.EVENT);
  const eb = await b.nextOf(T.EVENT);
  t.deepEqual(ea.slice(3), [{}, ['x']]);
  t.deepEqual(eb.slice(3), [{}, ['x']]);
});

// Serial: it watches encoders every server in this process shares, and no other test may encode meanwhile.
test.serial('fan-out encodes an EVENT once per subscription and serializer, whatever the number of subscribers', async (t) => {
  // Watches the real encoders for EVENT heads: a JSON publisher's arguments reach JSON subscribers
  // copied behind the head (DeferredArgs.encodeAfter), msgpack subscribers through msgpack's encode.
  const heads: unknown[][] = [];
  const encodeAfter = DeferredArgs.prototype.encodeAfter;
  DeferredArgs.prototype.encodeAfter = function (this: DeferredArgs, head: unknown[]) {
    heads.push(head);
    return encodeAfter.call(this, head);
  };
  const msgpack = serializerByName('msgpack');
  const encode = msgpack.encode;
  (msgpack as { encode: typeof encode }).encode = (msg) => {
    heads.push(msg.slice(0, 4));
    return encode.call(msgpack, msg);
  };
  t.teardown(() => {
    DeferredArgs.prototype.encodeAfter = encodeAfter;
    (msgpack as { encode: typeof encode }).encode = encode;
  });

  const { urls } = await startTestServer(t);
  const pub = await connectAutobahn(t, urls);
  const subscribers = await Promise.all(['json', 'json', 'json', 'msgpack', 'msgpack'].map((serializer) => connectAutobahn(t, urls, { serializer: serializer as 'json' | 'msgpack' })));
  const exact = await Promise.all(subscribers.map((s) => collect(s, 'com.once.topic')));
  const prefix = await collect(subscribers[0] as autobahn.Session, 'com.once', { match: 'prefix' });
  const p = (await pub.publish('com.once.topic', ['x', 1], { k: true }, { acknowledge: true })) as autobahn.IPublication;
  for (const c of [...exact, prefix]) t.deepEqual((await c.waitFor(1))[0]?.args, ['x', 1]);

  const events = heads.filter((h) => h[0] === 36 && h[2] === p.id);
  // Six deliveries; one encoding for each (subscription, serializer): exact/json, exact/msgpack, prefix/json.
  t.is(events.length, 3);
  t.is(new Set(events.map((h) => h[1])).size, 2, 'the exact and the prefix subscription');
});

test('prefix subscription: WAMP string-prefix semantics, details.topic names the concrete topic', async (t) => {
  const { urls } = await startTestServer(t);
  const sub = await connectAutobahn(t, urls);
  const pub = await connectAutobahn(t, urls);
  const c = await collect(sub, 'com.my', { match: 'prefix' });
  for (const topic of ['com.my', 'com.my.a', 'com.myapp.x.y', 'com.other', 'org.com.my', 'com.m']) {
    await pub.publish(topic, [topic], {}, { acknowledge: true });
  }
  const exact = await collect(sub, 'com.end');
  await pub.publish('com.end', [], {}, { acknowledge: true });
  await exact.waitFor(1);
  t.deepEqual(
    c.items.map((e) => e.args[0]),
    ['com.my', 'com.my.a', 'com.myapp.x.y'],
  );
  t.deepEqual(
    c.items.map((e) => e.details.topic),
    ['com.my', 'com.my.a', 'com.myapp.x.y'],
  );
});

test('wildcard subscription: empty components match exactly one component; details.topic is sent', async (t) => {
  const { urls } = await startTestServer(t);
  const sub = await RawWamp.session(t, urls);
  const pub = await RawWamp.session(t, urls);
  const sid = await sub.subscribe('com..update', { match: 'wildcard' });
  const sid2 = await sub.subscribe('.b.', { match: 'wildcard' });
  for (const topic of ['com.a.update', 'com.a.b.update', 'com.a.delete', 'org.a.update', 'com.bb.update', 'x.b.y', 'x.b', 'a.b.c.d']) {
    await pub.publishAck(topic, [topic]);
  }
  await pub.publishAck('com.done.update', ['end']);
  const seen: unknown[] = [];
  for (;;) {
    const e = await sub.nextOf(T.EVENT);
    seen.push([e[1], (e[3] as { topic: string }).topic, (e[4] as string[])[0]]);
    if ((e[4] as string[])[0] === 'end') break;
  }
  t.deepEqual(seen, [
    [sid, 'com.a.update', 'com.a.update'],
    [sid, 'com.bb.update', 'com.bb.update'],
    [sid2, 'x.b.y', 'x.b.y'],
    [sid, 'com.done.update', 'end'],
  ]);
});

test('an event goes once through every matching subscription (exact, prefix, wildcard), each with its id', async (t) => {
  const { urls } = await startTestServer(t);
  const sub = await RawWamp.session(t, urls);
  const pub = await RawWamp.session(t, urls);
  const exact = await sub.subscribe('com.x.y');
  const prefix = await sub.subscribe('com.x', { match: 'prefix' });
  const wild = await sub.subscribe('com..y', { match: 'wildcard' });
  t.is(new Set([exact, prefix, wild]).size, 3);
  const ack = await pub.publishAck('com.x.y', [1]);
  const evs = [await sub.nextOf(T.EVENT), await sub.nextOf(T.EVENT), await sub.nextOf(T.EVENT)];
  t.deepEqual(evs.map((e) => e[1] as number).sort((x, y) => x - y), [exact, prefix, wild].sort((x, y) => x - y));
  for (const e of evs) t.is(e[2], ack[2]);
  const details = Object.fromEntries(evs.map((e) => [e[1] as number, e[3]]));
  t.deepEqual(details[exact], {});
  t.deepEqual(details[prefix], { topic: 'com.x.y' });
  t.deepEqual(details[wild], { topic: 'com.x.y' });
  t.true(await sub.quiet(100, (m) => m[0] === T.EVENT));
});

test('publisher identification: disclose_me gives publisher, publisher_authid and publisher_authrole', async (t) => {
  const { urls } = await startTestServer(t, { realms: [openRealm('realm1'), realmWithRoles] });
  const pub = await ticketLogin(t, urls, 'bob');
  const sub = await connectAutobahn(t, urls, { realm: 'roles' });
  const c = await collect(sub, 'com.ident');
  await pub.publish('com.ident', ['hidden'], {}, { acknowledge: true });
  await pub.publish('com.ident', ['disclosed'], {}, { acknowledge: true, disclose_me: true });
  await c.waitFor(2);
  const [hidden, disclosed] = c.items;
  t.is(hidden?.details.publisher, undefined);
  t.is(hidden?.details.publisher_authid, undefined);
  t.is(disclosed?.details.publisher, pub.id);
  t.is(disclosed?.details.publisher_authid, 'bob');
  t.is(disclosed?.details.publisher_authrole, 'admin');
});

test('publisher exclusion: a subscribed publisher does not get its own event unless exclude_me is false', async (t) => {
  const { urls } = await startTestServer(t);
  const me = await connectAutobahn(t, urls);
  const other = await connectAutobahn(t, urls);
  const mine = await collect(me, 'com.excl');
  const theirs = await collect(other, 'com.excl');
  await me.publish('com.excl', ['default'], {}, { acknowledge: true });
  await me.publish('com.excl', ['included'], {}, { acknowledge: true, exclude_me: false });
  await me.publish('com.excl', ['explicit'], {}, { acknowledge: true, exclude_me: true });
  await theirs.waitFor(3);
  await mine.waitFor(1);
  // a marker through the same subscription: anything sent before it has arrived
  await other.publish('com.excl', ['marker'], {}, { acknowledge: true });
  await mine.waitFor(2);
  t.deepEqual(
    mine.items.map((e) => e.args[0]),
    ['included', 'marker'],
  );
  t.deepEqual(
    theirs.items.map((e) => e.args[0]),
    ['default', 'included', 'explicit'],
  );
});

test('subscriber black/white listing by session id, authid and authrole', async (t) => {
  const { urls } = await startTestServer(t, { realms: [openRealm('realm1'), realmWithRoles] });
  const alice = await ticketLogin(t, urls, 'alice');
  const bob = await ticketLogin(t, urls, 'bob');
  const carol = await ticketLogin(t, urls, 'carol');
  const publisher = await connectAutobahn(t, urls, { realm: 'roles' });
  const got = {
    alice: await collect(alice, 'com.bw'),
    bob: await collect(bob, 'com.bw'),
    carol: await collect(carol, 'com.bw'),
  };
  const cases: [string, Record<string, unknown>][] = [
    ['exclude', { exclude: [bob.id] }],
    ['eligible', { eligible: [alice.id, carol.id] }],
    ['exclude_authid', { exclude_authid: ['alice'] }],
    ['eligible_authid', { eligible_authid: ['bob'] }],
    ['exclude_authrole', { exclude_authrole: ['user'] }],
    ['eligible_authrole', { eligible_authrole: ['user'] }],
    ['eligible+exclude', { eligible: [alice.id, bob.id], exclude: [alice.id] }],
    ['eligible_authrole+exclude_authid', { eligible_authrole: ['user'], exclude_authid: ['carol'] }],
  ];
  for (const [name, options] of cases) {
    await publisher.publish('com.bw', [name], {}, opts({ acknowledge: true, ...options }));
  }
  await publisher.publish('com.bw', ['end'], {}, { acknowledge: true });
  await Promise.all(Object.values(got).map((c) => c.waitFor(1).then(() => undefined)));
  const names = async (c: (typeof got)['alice']): Promise<unknown[]> => {
    // every subscriber gets 'end'; events published before it arrived before it
    while (!c.items.some((e) => e.args[0] === 'end')) await c.waitFor(c.items.length + 1);
    return c.items.map((e) => e.args[0]).filter((n) => n !== 'end');
  };
  t.deepEqual(await names(got.alice), ['exclude', 'eligible', 'eligible_authrole', 'eligible_authrole+exclude_authid']);
  t.deepEqual(await names(got.bob), ['exclude_authid', 'eligible_authid', 'exclude_authrole', 'eligible+exclude']);
  t.deepEqual(await names(got.carol), ['exclude', 'eligible', 'exclude_authid', 'eligible_authrole']);
});

test('event retention: retain stores the last event; get_retained delivers it on subscribe with details.retained', async (t) => {
  const { urls } = await startTestServer(t);
  const pub = await connectAutobahn(t, urls);
  await pub.publish('com.retained.a', ['first'], {}, { acknowledge: true, retain: true });
  await pub.publish('com.retained.a', ['latest'], { v: 2 }, { acknowledge: true, retain: true });
  await pub.publish('com.retained.b', ['not retained'], {}, { acknowledge: true });

  const late = await connectAutobahn(t, urls);
  const withRetained = await collect(late, 'com.retained.a', { get_retained: true });
  const events = await withRetained.waitFor(1);
  t.deepEqual(events[0]?.args, ['latest']);
  t.deepEqual(events[0]?.kwargs, { v: 2 });
  t.is(events[0]?.details.retained, true);

  // without get_retained nothing is replayed; a live event afterwards is not marked retained
  const plain = await connectAutobahn(t, urls);
  const noRetained = await collect(plain, 'com.retained.a');
  const prefixRetained = await collect(plain, 'com.retained', { match: 'prefix', get_retained: true });
  await prefixRetained.waitFor(1);
  t.deepEqual(prefixRetained.items[0]?.args, ['latest']);
  t.is(prefixRetained.items[0]?.details.topic, 'com.retained.a');
  await pub.publish('com.retained.a', ['live'], {}, { acknowledge: true });
  await noRetained.waitFor(1);
  t.deepEqual(
    noRetained.items.map((e) => [e.args[0], e.details.retained]),
    [['live', false]],
  );
});

test('a subscriber sees events of a publisher on another transport (RawSocket → WebSocket)', async (t) => {
  const { urls } = await startTestServer(t);
  const { session: sub } = await openAutobahn(t, urls);
  const pub = await connectAutobahn(t, urls, { rawsocket: true });
  const c = await collect(sub, 'com.cross');
  await pub.publish('com.cross', ['via rawsocket'], { n: 1 }, { acknowledge: true });
  const [e] = await c.waitFor(1);
  t.deepEqual(e?.args, ['via rawsocket']);
  t.deepEqual(e?.kwargs, { n: 1 });
});

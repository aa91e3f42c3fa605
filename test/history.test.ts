// Event history and retained state: ids that grow across restarts, `after` replay (wildcards too),
// `snapshot`, the `filter` option on live and replayed events, retained values kept exactly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import autobahn from 'autobahn';
import { silentLogger } from '../lib/core/log.ts';
import { openRealm, type RealmConfig } from '../lib/index.ts';
import { defaultConfig } from '../server/config.ts';
import { startServer, type RunningServer } from '../server/server.ts';
import { startTestServer } from './helpers/server.ts';
import { connectAutobahn } from './helpers/wamp.ts';

const realm: RealmConfig = { ...openRealm('realm1'), history: [{ uri: 'feed', match: 'prefix', maxCount: 100 }] };

function tempDir(t: import('ava').ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-hist-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function durableServer(dataDir: string): Promise<RunningServer> {
  return startServer({ ...defaultConfig(), port: 0, mqttPort: null, memory: false, dataDir, router: { realms: [realm] } }, silentLogger);
}

function collect(): { events: { args: unknown[]; details: autobahn.IEvent }[]; handler: autobahn.SubscribeHandler } {
  const events: { args: unknown[]; details: autobahn.IEvent }[] = [];
  return { events, handler: (args, _kw, details) => void events.push({ args: args ?? [], details: details! }) };
}

const settle = (ms = 50): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('history ids are numbers that grow across a restart, and `after` replays what came after an id', async (t) => {
  const dir = tempDir(t);
  let server = await durableServer(dir);
  let pub = await connectAutobahn(t, server.urls);
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) ids.push((await pub.publish('feed.a', [i], {}, { acknowledge: true }))!.id);
  for (let i = 1; i < ids.length; i++) t.true(ids[i]! > ids[i - 1]!);
  await server.close();

  server = await durableServer(dir);
  t.teardown(() => server.close());
  pub = await connectAutobahn(t, server.urls);
  const later = (await pub.publish('feed.a', [5], {}, { acknowledge: true }))!.id;
  t.true(later > ids[4]!, 'ids keep growing after a restart');

  const sub = await connectAutobahn(t, server.urls);
  const c = collect();
  await sub.subscribe('feed.a', c.handler, { after: ids[1] } as object);
  await pub.publish('feed.a', [6], {}, { acknowledge: true });
  await settle();
  t.deepEqual(c.events.map((e) => e.args[0]), [2, 3, 4, 5, 6], 'replayed in order, then live, without gaps or duplicates');
});

test('`after` works with wildcard and prefix subscriptions and `filter` applies to replayed and live events', async (t) => {
  const server = await startTestServer(t, { realms: [realm] });
  const pub = await connectAutobahn(t, server.urls);
  await pub.publish('feed.x.temp', [{ room: 'kitchen', v: 1 }], {}, { acknowledge: true });
  await pub.publish('feed.y.temp', [{ room: 'hall', v: 2 }], {}, { acknowledge: true });
  await pub.publish('feed.y.hum', [{ room: 'kitchen', v: 3 }], {}, { acknowledge: true });
  const sub = await connectAutobahn(t, server.urls, { serializer: 'msgpack' });
  const wild = collect();
  await sub.subscribe('feed..temp', wild.handler, { match: 'wildcard', after: 0 } as object);
  const filtered = collect();
  await sub.subscribe('feed', filtered.handler, { match: 'prefix', after: 0, filter: { room: 'kitchen' } } as object);
  await pub.publish('feed.z.temp', [{ room: 'kitchen', v: 4 }], {}, { acknowledge: true });
  await settle();
  t.deepEqual(wild.events.map((e) => (e.args[0] as { v: number }).v), [1, 2, 4]);
  t.deepEqual(wild.events.map((e) => e.details.topic), ['feed.x.temp', 'feed.y.temp', 'feed.z.temp']);
  t.deepEqual(filtered.events.map((e) => (e.args[0] as { v: number }).v), [1, 3, 4]);
});

test('`snapshot` replays and ends the subscription with an UNSUBSCRIBED', async (t) => {
  const server = await startTestServer(t, { realms: [realm] });
  const pub = await connectAutobahn(t, server.urls);
  for (let i = 0; i < 3; i++) await pub.publish('feed.s', [i], {}, { acknowledge: true });
  const sub = await connectAutobahn(t, server.urls);
  const c = collect();
  const subscription = await sub.subscribe('feed.s', c.handler, { after: 0, snapshot: true } as object);
  await settle();
  t.deepEqual(c.events.map((e) => e.args[0]), [0, 1, 2]);
  t.false(subscription.active, 'autobahn saw the router end the subscription');
  await pub.publish('feed.s', [3], {}, { acknowledge: true });
  await settle();
  t.is(c.events.length, 3, 'no live events after the snapshot');
  const count = await pub.call('wamp.subscription.lookup', ['feed.s']);
  t.is(count, null, 'the router dropped the subscription');
});

test('retained values are kept exactly (binary and JSON, args and kwargs) and survive a restart', async (t) => {
  const dir = tempDir(t);
  let server = await durableServer(dir);
  const pub = await connectAutobahn(t, server.urls, { serializer: 'msgpack' });
  const bin = Buffer.from([0, 1, 2, 250, 255]);
  await pub.publish('room.bin', [bin], {}, { acknowledge: true, retain: true });
  await pub.publish('room.json', [1, 'two'], { three: 3 }, { acknowledge: true, retain: true });
  await pub.publish('room.gone', ['x'], {}, { acknowledge: true, retain: true });
  await pub.publish('room.gone', [null], {}, { acknowledge: true, retain: true });
  await server.close();
  server = await durableServer(dir);
  t.teardown(() => server.close());
  for (const serializer of ['json', 'msgpack', 'cbor'] as const) {
    const sub = await connectAutobahn(t, server.urls, { serializer });
    const got = new Map<string, { args: unknown[]; kwargs: unknown; retained: unknown }>();
    await sub.subscribe('room', (args, kwargs, details) => void got.set(details!.topic!, { args: args ?? [], kwargs, retained: (details as { retained?: boolean } | undefined)?.retained }), { match: 'prefix', get_retained: true } as object);
    await settle();
    t.deepEqual([...got.keys()].sort(), ['room.bin', 'room.json'], `${serializer}: deleted value stays deleted`);
    // autobahn's JSON serializer leaves WAMP's binary convention ("\u0000" + base64) to the application.
    const raw = got.get('room.bin')!.args[0];
    const bytes = typeof raw === 'string' && raw.startsWith('\u0000') ? Buffer.from(raw.slice(1), 'base64') : Buffer.from(raw as Uint8Array);
    t.deepEqual(bytes, bin, `${serializer}: binary intact`);
    t.deepEqual(got.get('room.json')!.args, [1, 'two']);
    t.deepEqual(got.get('room.json')!.kwargs, { three: 3 });
    t.true(got.get('room.json')!.retained === true);
  }
});

test('retention bounds per topic pattern: maintenance keeps the newest maxCount events of each topic', async (t) => {
  const bounded: RealmConfig = { ...openRealm('realm1'), history: [{ uri: 'feed.small', match: 'prefix', maxCount: 3 }, { uri: 'feed.big', match: 'prefix', maxCount: 100 }] };
  const server = await startTestServer(t, { realms: [bounded] });
  const pub = await connectAutobahn(t, server.urls);
  for (let i = 0; i < 10; i++) {
    await pub.publish('feed.small.a', [i], {}, { acknowledge: true });
    await pub.publish('feed.big.a', [i], {}, { acknowledge: true });
  }
  await server.router.maintain();
  const sub = await connectAutobahn(t, server.urls);
  const small = collect();
  const big = collect();
  await sub.subscribe('feed.small.a', small.handler, { after: 0 } as object);
  await sub.subscribe('feed.big.a', big.handler, { after: 0 } as object);
  await settle();
  t.deepEqual(small.events.map((e) => e.args[0]), [7, 8, 9]);
  t.is(big.events.length, 10);
});

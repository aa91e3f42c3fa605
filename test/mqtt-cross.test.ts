// MQTT ⇔ WAMP in one realm. The WAMP side is the in-process client (router.connect), which goes
// through the same core as the WAMP gate: `a/b/c` ⇔ `a.b.c`, payload mapping, retained state,
// QoS capping, share groups across protocols, wills and testaments.
import test from 'ava';
import type { ClientEvent } from '../lib/index.ts';
import { Payload } from '../lib/core/payload.ts';
import { collect, connect, dropConnection, sleep, startKitsune, uniqueId, type Kitsune } from './helpers/mqtt-harness.ts';

let k: Kitsune;
test.before(async () => {
  k = await startKitsune();
});
test.after.always(async () => {
  await k?.stop();
});

function events(): { list: ClientEvent[]; handler: (e: ClientEvent) => void; waitFor(n: number): Promise<ClientEvent[]> } {
  const list: ClientEvent[] = [];
  return {
    list,
    handler: (e) => list.push(e),
    async waitFor(n) {
      const deadline = Date.now() + 3000;
      while (list.length < n) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} WAMP events, got ${list.length}`);
        await sleep(10);
      }
      return list;
    },
  };
}

test('MQTT publish reaches a WAMP subscriber, WAMP publish reaches an MQTT subscriber', async (t) => {
  const base = uniqueId('x');
  const wamp = k.router.connect('realm1');
  const ev = events();
  await wamp.subscribe(`${base}.sensor.temp`, ev.handler);
  const m = await connect(k.url, { protocolVersion: 5 });
  const got = collect(m);
  await m.subscribeAsync(`${base}/cmd/#`, { qos: 1 });
  await m.publishAsync(`${base}/sensor/temp`, JSON.stringify({ c: 21.5 }), { qos: 1 });
  const [e] = await ev.waitFor(1);
  t.deepEqual(e?.args, [{ c: 21.5 }]);
  t.is(e?.topic, `${base}.sensor.temp`);
  await wamp.publish(`${base}.cmd.heat`, [{ on: true }]);
  await wamp.publish(`${base}.cmd.kw`, [], { level: 3 });
  await wamp.publish(`${base}.cmd.both`, [1, 2], { k: 'v' });
  const msgs = await got.waitFor(3);
  t.deepEqual(
    msgs.map((x) => [x.topic.slice(base.length + 1), x.payload.toString()]),
    [
      ['cmd/heat', '{"on":true}'],
      ['cmd/kw', '{"level":3}'],
      ['cmd/both', '{"args":[1,2],"kwargs":{"k":"v"}}'],
    ],
  );
  wamp.close();
  await m.endAsync();
});

test('wildcard and prefix matching across protocols', async (t) => {
  const base = uniqueId('w');
  const wamp = k.router.connect('realm1');
  const prefix = events();
  const wildcard = events();
  await wamp.subscribe(`${base}.sensor`, prefix.handler, { match: 'prefix' });
  await wamp.subscribe(`${base}..temp`, wildcard.handler, { match: 'wildcard' });
  const m = await connect(k.url);
  const got = collect(m);
  await m.subscribeAsync(`${base}/+/temp`, { qos: 0 });
  await m.subscribeAsync(`${base}/room/#`, { qos: 0 });
  await m.publishAsync(`${base}/sensor/temp`, '1', { qos: 1 });
  await m.publishAsync(`${base}/sensors/x/y`, '2', { qos: 1 });
  const wampPub = k.router.connect('realm1'); // a WAMP publisher is excluded from its own subscriptions
  await wampPub.publish(`${base}.room.temp`, [3]);
  await wampPub.publish(`${base}.room.a.b.c`, [4]);
  await prefix.waitFor(2);
  await wildcard.waitFor(2);
  t.deepEqual(prefix.list.map((e) => e.args[0]).sort(), [1, 2], 'WAMP prefix (string prefix) sees both MQTT topics');
  t.deepEqual(wildcard.list.map((e) => e.args[0]).sort(), [1, 3]);
  await got.waitFor(3);
  await sleep(100); // a second copy of room/temp would be here by now
  t.deepEqual(
    got.messages.map((x) => x.payload.toString()).sort(),
    ['1', '3', '4'],
    'room/temp matches both +/temp and room/#: one copy for the overlapping subscriptions',
  );
  wamp.close();
  wampPub.close();
  await m.endAsync();
});

test('non-JSON payloads never break delivery and round-trip byte-identical', async (t) => {
  const base = uniqueId('bin');
  const wamp = k.router.connect('realm1');
  const ev = events();
  await wamp.subscribe(`${base}.data`, ev.handler);
  const m = await connect(k.url);
  const got = collect(m);
  await m.subscribeAsync(`${base}/data`, { qos: 1 });
  const binary = Buffer.from([0xff, 0x00, 0xfe, 0x7b]);
  await m.publishAsync(`${base}/data`, binary, { qos: 1 });
  await m.publishAsync(`${base}/data`, 'plain text, not JSON', { qos: 1 });
  await m.publishAsync(`${base}/data`, '', { qos: 1 });
  await ev.waitFor(3);
  t.true(ev.list[0]?.args[0] instanceof Uint8Array);
  t.deepEqual(Buffer.from(ev.list[0]?.args[0] as Uint8Array), binary);
  t.is(Buffer.from(ev.list[1]?.args[0] as Uint8Array).toString(), 'plain text, not JSON');
  t.deepEqual(ev.list[2]?.args, []);
  const msgs = await got.waitFor(3);
  t.deepEqual(msgs[0]?.payload, binary, 'MQTT → MQTT untouched');
  // A WAMP client re-publishing the binary arg gives the MQTT side the same bytes back.
  await wamp.publish(`${base}.data`, [ev.list[0]?.args[0]]);
  const again = await got.waitFor(4);
  t.deepEqual(again[3]?.payload, binary);
  wamp.close();
  await m.endAsync();
});

test('retained state is shared: WAMP retained → MQTT subscribe, MQTT retained → WAMP get_retained', async (t) => {
  const base = uniqueId('ret');
  const wamp = k.router.connect('realm1');
  await wamp.publish(`${base}.from.wamp`, [{ v: 1 }], undefined, { retain: true, acknowledge: true });
  const m = await connect(k.url);
  await m.publishAsync(`${base}/from/mqtt`, '{"v":2}', { qos: 1, retain: true });
  const got = collect(m);
  await m.subscribeAsync(`${base}/from/wamp`, { qos: 2 });
  const [r] = await got.waitFor(1);
  t.is(r?.payload.toString(), '{"v":1}');
  t.true(r?.retain);
  t.is(r?.qos, 2, 'acknowledged WAMP publish = QoS 2');
  const ev = events();
  await wamp.subscribe(`${base}.from.mqtt`, ev.handler, { get_retained: true });
  const [e] = await ev.waitFor(1);
  t.deepEqual(e?.args, [{ v: 2 }]);
  t.true(e?.retained);
  wamp.close();
  await m.endAsync();
});

test('QoS capping: WAMP publications reach MQTT at min(subscriber QoS, 0 or 2)', async (t) => {
  const base = uniqueId('cap');
  const wamp = k.router.connect('realm1');
  const s2 = await connect(k.url);
  const s1 = await connect(k.url);
  const g2 = collect(s2);
  const g1 = collect(s1);
  await s2.subscribeAsync(`${base}/t`, { qos: 2 });
  await s1.subscribeAsync(`${base}/t`, { qos: 1 });
  await wamp.publish(`${base}.t`, ['fire-and-forget']);
  await wamp.publish(`${base}.t`, ['acknowledged'], undefined, { acknowledge: true });
  const m2 = await g2.waitFor(2);
  const m1 = await g1.waitFor(2);
  const qos = (ms: typeof m2) => Object.fromEntries(ms.map((m) => [m.payload.toString(), m.qos]));
  t.deepEqual(qos(m2), { 'fire-and-forget': 0, acknowledged: 2 });
  t.deepEqual(qos(m1), { 'fire-and-forget': 0, acknowledged: 1 });
  wamp.close();
  await Promise.all([s1.endAsync(), s2.endAsync()]);
});

test('a share group mixes MQTT and WAMP members', async (t) => {
  const base = uniqueId('share');
  const wamp = k.router.connect('realm1');
  const ev = events();
  await wamp.subscribe(`${base}.jobs`, ev.handler, { share_group: 'g' });
  const m = await connect(k.url);
  const got = collect(m);
  await m.subscribeAsync(`$share/g/${base}/jobs`, { qos: 1 });
  const pub = await connect(k.url);
  for (let i = 0; i < 6; i++) await pub.publishAsync(`${base}/jobs`, String(i), { qos: 1 });
  await sleep(200);
  t.is(ev.list.length, 3);
  t.is(got.messages.length, 3);
  t.deepEqual([...ev.list.map((e) => e.args[0] as number), ...got.messages.map((x) => Number(x.payload.toString()))].sort(), [0, 1, 2, 3, 4, 5]);
  wamp.close();
  await Promise.all([m.endAsync(), pub.endAsync()]);
});

test('MQTT wills and WAMP testaments both fire on unclean disconnect, across protocols', async (t) => {
  const base = uniqueId('gone');
  const wamp = k.router.connect('realm1');
  const ev = events();
  await wamp.subscribe(`${base}.status`, ev.handler);
  const m = await connect(k.url, { will: { topic: `${base}/status`, payload: Buffer.from('"mqtt offline"'), qos: 1, retain: false } });
  dropConnection(m);
  const [e] = await ev.waitFor(1);
  t.deepEqual(e?.args, ['mqtt offline']);

  const watcher = await connect(k.url);
  const got = collect(watcher);
  await watcher.subscribeAsync(`${base}/status`, { qos: 1 });
  const dying = k.router.connect('realm1');
  dying.session.testaments.detached.push({ id: 1, topic: [base, 'status'], payload: Payload.fromArgs(['wamp offline']), options: { acknowledge: true } });
  dying.close();
  const [msg] = await got.waitFor(1);
  t.is(msg?.payload.toString(), 'wamp offline');
  t.is(msg?.qos, 1);
  wamp.close();
  await watcher.endAsync();
});

test('MQTT levels WAMP cannot name (dots, empty levels) stay MQTT-only but are never split', async (t) => {
  const base = uniqueId('dots');
  const wamp = k.router.connect('realm1');
  const ev = events();
  await wamp.subscribe(base, ev.handler, { match: 'prefix' });
  const m = await connect(k.url);
  const got = collect(m);
  await m.subscribeAsync(`${base}/v1.2/x`, { qos: 0 });
  await m.subscribeAsync(`${base}//empty`, { qos: 0 });
  await m.publishAsync(`${base}/v1.2/x`, 'dotted', { qos: 1 });
  await m.publishAsync(`${base}//empty`, 'empty-level', { qos: 1 });
  await m.publishAsync(`${base}/v1/2/x`, 'not-the-same', { qos: 1 });
  const msgs = await got.waitFor(2);
  await sleep(100);
  t.deepEqual(msgs.map((x) => x.payload.toString()).sort(), ['dotted', 'empty-level']);
  t.is(ev.list.length, 3, 'a WAMP prefix subscription still receives them (topic shown joined with dots)');
  wamp.close();
  await m.endAsync();
});

test('MQTT clients receive their own publications (unlike WAMP, where exclude_me defaults to true)', async (t) => {
  const base = uniqueId('self');
  const m = await connect(k.url);
  const got = collect(m);
  await m.subscribeAsync(`${base}/echo`, { qos: 1 });
  await m.publishAsync(`${base}/echo`, 'own', { qos: 1 });
  await got.waitFor(1);
  t.is(got.messages[0]?.payload.toString(), 'own', 'MQTT clients receive their own publications by default');
  await m.endAsync();
});

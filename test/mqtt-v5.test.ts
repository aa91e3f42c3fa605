// MQTT 5 features of the gate, with mqtt.js v5 clients and raw sockets where exact bytes matter.
import test from 'ava';
import type { IConnackPacket, IDisconnectPacket, IPubackPacket, IPublishPacket, IPubrecPacket, ISubackPacket, IUnsubackPacket } from 'mqtt-packet';
import { collect, connect, connectRaw, dropConnection, RawClient, sleep, startKitsune, uniqueId, waitUntil, type Kitsune } from './helpers/mqtt-harness.ts';

let k: Kitsune;
test.before(async () => {
  k = await startKitsune({
    realms: [
      {
        name: 'realm1',
        roles: [
          {
            name: 'anonymous',
            permissions: [
              { uri: '', match: 'prefix', allow: { publish: true, subscribe: true, call: true } },
              { uri: 'denied', match: 'prefix', allow: { subscribe: true } },
              { uri: 'secret', match: 'prefix', allow: { publish: true } },
            ],
          },
        ],
        auth: { anonymous: { role: 'anonymous' } },
      },
      {
        name: 'secure',
        roles: [{ name: 'user', permissions: [{ uri: '', match: 'prefix', allow: { publish: true, subscribe: true } }] }],
        auth: { ticket: { alice: { ticket: 's3cret', role: 'user' } } },
      },
    ],
  });
});
test.after.always(async () => {
  await k?.stop();
});

test('CONNACK announces receive maximum, topic alias maximum, maximum packet size; assigns a client id', async (t) => {
  const { client, connack } = connectRaw(k.url, { protocolVersion: 5, clientId: '' });
  const p = (await connack).properties ?? {};
  t.is(p.receiveMaximum, 1024);
  t.is(p.topicAliasMaximum, 64);
  t.is(p.maximumPacketSize, 16 * 1024 * 1024);
  t.regex(String(p.assignedClientIdentifier), /^kitsune-/);
  await client.endAsync();
});

test('server keep alive replaces the client keep alive', async (t) => {
  const k2 = await startKitsune({}, { serverKeepAlive: 1 });
  try {
    const raw = await RawClient.connected(k2.port, 5, { keepalive: 60 });
    t.is((raw.packets[0] as IConnackPacket).properties?.serverKeepAlive, 1);
    const d = (await raw.next('disconnect', 4000)) as IDisconnectPacket;
    t.is(d.reasonCode, 0x8d, 'keep alive timeout after 1.5 s');
    await raw.waitClosed();
  } finally {
    await k2.stop();
  }
});

test('denied PUBLISH is acknowledged with 0x87 and a reason string but not routed; denied SUBSCRIBE gets 0x87', async (t) => {
  const watcher = await connect(k.url, { protocolVersion: 5 });
  const got = collect(watcher);
  await watcher.subscribeAsync('denied/#', { qos: 2 });
  const raw = await RawClient.connected(k.port, 5);
  raw.send({ cmd: 'publish', topic: 'denied/x', payload: Buffer.from('no'), qos: 1, messageId: 1, retain: false, dup: false });
  const ack = (await raw.next('puback')) as IPubackPacket;
  t.is(ack.reasonCode, 0x87);
  t.regex(String(ack.properties?.reasonString), /not authorized/);
  raw.send({ cmd: 'publish', topic: 'denied/y', payload: Buffer.from('no'), qos: 2, messageId: 2, retain: false, dup: false });
  const rec = (await raw.next('pubrec')) as IPubrecPacket;
  t.is(rec.reasonCode, 0x87);
  // (a misplaced wildcard such as 'bad/#/x' is a malformed SUBSCRIBE: test/mqtt/names-and-filters.test.ts)
  raw.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'secret/#', qos: 1 }, { topic: 'fine/#', qos: 2 }] });
  const suback = (await raw.next('suback')) as ISubackPacket;
  t.deepEqual(suback.granted, [0x87, 2]);
  raw.send({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['fine/#', 'never/subscribed'] });
  const unsuback = (await raw.next('unsuback')) as IUnsubackPacket;
  t.deepEqual(unsuback.granted, [0x00, 0x11]);
  await sleep(100);
  t.is(got.messages.length, 0, 'nothing was routed');
  t.false(raw.isClosed);
  raw.close();
  await watcher.endAsync();
});

test('3.1.1: denied SUBSCRIBE gets 0x80, denied PUBLISH is acknowledged and dropped', async (t) => {
  const raw = await RawClient.connected(k.port, 4);
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'secret/x', qos: 1 }] }, 4);
  t.deepEqual(((await raw.next('suback')) as ISubackPacket).granted, [0x80]);
  raw.send({ cmd: 'publish', topic: 'denied/z', payload: Buffer.from('x'), qos: 1, messageId: 2, retain: false, dup: false }, 4);
  const ack = (await raw.next('puback')) as IPubackPacket;
  t.is(ack.messageId, 2);
  raw.close();
});

test('request problem information 0 leaves reason strings out of acknowledgements', async (t) => {
  const raw = await RawClient.connected(k.port, 5, { properties: { requestProblemInformation: false } });
  raw.send({ cmd: 'publish', topic: 'denied/x', payload: Buffer.from('no'), qos: 1, messageId: 1, retain: false, dup: false });
  const ack = (await raw.next('puback')) as IPubackPacket;
  t.is(ack.reasonCode, 0x87);
  t.is(ack.properties?.reasonString, undefined);
  raw.close();
});

test('user properties, content type, response topic, correlation data, payload format pass through', async (t) => {
  const sub5 = await connect(k.url, { protocolVersion: 5 });
  const sub4 = await connect(k.url, { protocolVersion: 4 });
  const got5 = collect(sub5);
  const got4 = collect(sub4);
  const topic = `props/${uniqueId()}`;
  await sub5.subscribeAsync(topic, { qos: 1 });
  await sub4.subscribeAsync(topic, { qos: 1 });
  const pub = await connect(k.url, { protocolVersion: 5 });
  await pub.publishAsync(topic, 'héllo', {
    qos: 1,
    properties: {
      userProperties: { a: '1', b: ['x', 'y'] },
      contentType: 'text/plain',
      responseTopic: 'reply/here',
      correlationData: Buffer.from('cid-1'),
      payloadFormatIndicator: true,
    },
  });
  const [m] = await got5.waitFor(1);
  const p = m?.properties ?? {};
  t.deepEqual({ ...(p.userProperties as object) }, { a: '1', b: ['x', 'y'] });
  t.is(p.contentType, 'text/plain');
  t.is(p.responseTopic, 'reply/here');
  t.is(Buffer.from(p.correlationData as Buffer).toString(), 'cid-1');
  t.is(p.payloadFormatIndicator, true);
  const [m4] = await got4.waitFor(1);
  t.is(m4?.payload.toString(), 'héllo');
  await Promise.all([sub5.endAsync(), sub4.endAsync(), pub.endAsync()]);
});

test('payload format indicator 1 with a non-UTF-8 payload: PUBACK 0x99, not routed', async (t) => {
  const watcher = await connect(k.url, { protocolVersion: 5 });
  const got = collect(watcher);
  const topic = `pfi/${uniqueId()}`;
  await watcher.subscribeAsync(topic, { qos: 1 });
  const raw = await RawClient.connected(k.port, 5);
  raw.send({ cmd: 'publish', topic, payload: Buffer.from([0xff, 0xfe, 0x00]), qos: 1, messageId: 9, retain: false, dup: false, properties: { payloadFormatIndicator: true } });
  t.is(((await raw.next('puback')) as IPubackPacket).reasonCode, 0x99);
  await sleep(100);
  t.is(got.messages.length, 0);
  raw.close();
  await watcher.endAsync();
});

test('message expiry: expired retained and queued messages are not delivered; remaining interval is sent', async (t) => {
  const pub = await connect(k.url, { protocolVersion: 5 });
  const topic = `expiry/${uniqueId()}`;
  await pub.publishAsync(`${topic}/short`, 'short', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
  await pub.publishAsync(`${topic}/long`, 'long', { qos: 1, retain: true, properties: { messageExpiryInterval: 30 } });
  const clientId = uniqueId('exp');
  const queued = await connect(k.url, { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
  await queued.subscribeAsync(`${topic}/q/#`, { qos: 1 });
  await queued.endAsync();
  await pub.publishAsync(`${topic}/q/gone`, 'gone', { qos: 1, properties: { messageExpiryInterval: 1 } });
  await pub.publishAsync(`${topic}/q/kept`, 'kept', { qos: 1, properties: { messageExpiryInterval: 10 } });
  await sleep(1300);
  const sub = await connect(k.url, { protocolVersion: 5 });
  const got = collect(sub);
  await sub.subscribeAsync(`${topic}/+`, { qos: 1 });
  const [r] = await got.waitFor(1);
  t.is(r?.payload.toString(), 'long');
  t.true((r?.properties?.messageExpiryInterval as number) <= 29);
  const { client: back } = connectRaw(k.url, { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 0 } });
  const gotBack = collect(back);
  const [q] = await gotBack.waitFor(1);
  t.is(q?.payload.toString(), 'kept');
  const left = q?.properties?.messageExpiryInterval as number;
  t.true(left >= 1 && left <= 9, `remaining interval ${left}`);
  await sleep(100);
  t.is(got.messages.length, 1);
  t.is(gotBack.messages.length, 1);
  t.true(k.gate.stats.expired >= 1);
  await Promise.all([pub.endAsync(), sub.endAsync(), back.endAsync()]);
});

test('overlapping subscriptions: one copy carrying every subscription identifier, at the highest QoS', async (t) => {
  const sub = await connect(k.url, { protocolVersion: 5 });
  const got = collect(sub);
  const topic = `subid/${uniqueId()}`;
  await sub.subscribeAsync(`${topic}/+`, { qos: 0, properties: { subscriptionIdentifier: 42 } });
  await sub.subscribeAsync(`${topic}/#`, { qos: 1, properties: { subscriptionIdentifier: 7 } });
  await sub.subscribeAsync(`${topic}/a`, { qos: 0 });
  const pub = await connect(k.url, { protocolVersion: 5 });
  await pub.publishAsync(`${topic}/a`, 'x', { qos: 2 });
  await pub.publishAsync(`${topic}/b/c`, 'y', { qos: 2 });
  await got.waitFor(2);
  await sleep(100); // further copies would be here by now
  t.is(got.messages.length, 2);
  const [a, bc] = got.messages;
  t.is(a?.payload.toString(), 'x');
  t.is(a?.qos, 1, 'the highest QoS of the matching subscriptions');
  t.deepEqual([a?.properties?.subscriptionIdentifier].flat().sort(), [42, 7].sort());
  t.is(bc?.payload.toString(), 'y');
  t.is(bc?.properties?.subscriptionIdentifier, 7, 'only the subscription that matches');
  await Promise.all([sub.endAsync(), pub.endAsync()]);
});

test('overlapping subscriptions: no local leaves its subscription out of the one copy; a shared subscription gets its own', async (t) => {
  const c = await connect(k.url, { protocolVersion: 5 });
  const got = collect(c);
  const topic = `subid/${uniqueId()}`;
  await c.subscribeAsync(`${topic}/#`, { qos: 0, nl: true, properties: { subscriptionIdentifier: 1 } });
  await c.subscribeAsync(`${topic}/+`, { qos: 1, properties: { subscriptionIdentifier: 2 } });
  await c.subscribeAsync(`$share/g/${topic}/a`, { qos: 0, properties: { subscriptionIdentifier: 3 } });
  await c.publishAsync(`${topic}/a`, 'own', { qos: 1 });
  await got.waitFor(2);
  await sleep(100);
  t.is(got.messages.length, 2);
  const ids = got.messages.map((m) => m.properties?.subscriptionIdentifier).sort();
  t.deepEqual(ids, [2, 3], 'the no-local subscription adds nothing to its own publication; the shared one is separate');
  await c.endAsync();
});

test('overlapping subscriptions: a shared subscription gets its copy whichever the broker visits first', async (t) => {
  const c = await connect(k.url, { protocolVersion: 5 });
  const got = collect(c);
  const topic = `subid/${uniqueId()}`;
  await c.subscribeAsync(`$share/g/${topic}/+`, { qos: 0, properties: { subscriptionIdentifier: 5 } });
  await c.subscribeAsync(`$share/h/${topic}/#`, { qos: 0, properties: { subscriptionIdentifier: 6 } });
  await c.subscribeAsync(`${topic}/a`, { qos: 0, properties: { subscriptionIdentifier: 7 } });
  await c.subscribeAsync(`${topic}/#`, { qos: 0, properties: { subscriptionIdentifier: 8 } });
  const pub = await connect(k.url, { protocolVersion: 5 });
  await pub.publishAsync(`${topic}/a`, 'x', { qos: 1 });
  await got.waitFor(3);
  await sleep(100);
  const ids = got.messages.map((m) => [m.properties?.subscriptionIdentifier].flat().sort().join('+')).sort();
  t.deepEqual(ids, ['5', '6', '7+8']);
  await Promise.all([c.endAsync(), pub.endAsync()]);
});

test('no local, retain as published and retain handling 0/1/2', async (t) => {
  const topic = `opts/${uniqueId()}`;
  const c = await connect(k.url, { protocolVersion: 5 });
  const other = await connect(k.url, { protocolVersion: 5 });
  const mine = collect(c);
  const theirs = collect(other);
  await c.subscribeAsync(`${topic}/nl`, { qos: 1, nl: true });
  await other.subscribeAsync(`${topic}/nl`, { qos: 1, nl: true });
  await c.publishAsync(`${topic}/nl`, 'from c', { qos: 1 });
  await theirs.waitFor(1);
  await sleep(100);
  t.is(mine.messages.length, 0, 'no local: own message not received');

  await other.subscribeAsync(`${topic}/rap`, { qos: 1, rap: true });
  await other.subscribeAsync(`${topic}/norap`, { qos: 1, rap: false });
  await c.publishAsync(`${topic}/rap`, 'r1', { qos: 1, retain: true });
  await c.publishAsync(`${topic}/norap`, 'r2', { qos: 1, retain: true });
  const msgs = await theirs.waitFor(3);
  t.true(msgs.find((m) => m.payload.toString() === 'r1')?.retain, 'retain as published keeps the flag');
  t.false(msgs.find((m) => m.payload.toString() === 'r2')?.retain);

  const rh = await connect(k.url, { protocolVersion: 5 });
  const gotRh = collect(rh);
  await rh.subscribeAsync(`${topic}/rap`, { qos: 1, rh: 2 });
  await sleep(100);
  t.is(gotRh.messages.length, 0, 'rh 2: no retained messages');
  await rh.subscribeAsync(`${topic}/norap`, { qos: 1, rh: 1 });
  await gotRh.waitFor(1);
  await rh.subscribeAsync(`${topic}/norap`, { qos: 1, rh: 1 });
  await sleep(100);
  t.is(gotRh.messages.length, 1, 'rh 1: only for a new subscription');
  await rh.subscribeAsync(`${topic}/norap`, { qos: 1, rh: 0 });
  await gotRh.waitFor(2);
  t.pass('rh 0: on every subscribe');
  await Promise.all([c.endAsync(), other.endAsync(), rh.endAsync()]);
});

test('topic aliases inbound: defined then used; mqtt.js auto aliases work', async (t) => {
  const sub = await connect(k.url, { protocolVersion: 5 });
  const got = collect(sub);
  const topic = `alias/${uniqueId()}`;
  await sub.subscribeAsync(`${topic}/#`, { qos: 1 });
  const raw = await RawClient.connected(k.port, 5);
  raw.send({ cmd: 'publish', topic: `${topic}/one`, payload: Buffer.from('1'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
  raw.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
  raw.send({ cmd: 'publish', topic: `${topic}/two`, payload: Buffer.from('3'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
  raw.send({ cmd: 'publish', topic: '', payload: Buffer.from('4'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
  await got.waitFor(4);
  const auto = await connect(k.url, { protocolVersion: 5, autoUseTopicAlias: true, autoAssignTopicAlias: true } as never);
  for (let i = 5; i <= 7; i++) await auto.publishAsync(`${topic}/auto`, String(i), { qos: 1 });
  const msgs = await got.waitFor(7);
  t.deepEqual(
    msgs.map((m) => `${m.topic.slice(topic.length + 1)}=${m.payload.toString()}`),
    ['one=1', 'one=2', 'two=3', 'two=4', 'auto=5', 'auto=6', 'auto=7'],
  );
  raw.close();
  await Promise.all([sub.endAsync(), auto.endAsync()]);
});

test("topic aliases outbound: within the client's Topic Alias Maximum", async (t) => {
  const topic = `oalias/${uniqueId()}`;
  const raw = await RawClient.connected(k.port, 5, { properties: { topicAliasMaximum: 2 } });
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${topic}/#`, qos: 0 }] });
  await raw.next('suback');
  const pub = await connect(k.url, { protocolVersion: 5 });
  for (const leaf of ['a', 'b', 'c', 'a', 'b', 'c']) await pub.publishAsync(`${topic}/${leaf}`, leaf, { qos: 1 });
  await raw.until(() => raw.packets.filter((p) => p.cmd === 'publish').length === 6);
  const pubs = raw.packets.filter((p) => p.cmd === 'publish') as IPublishPacket[];
  t.deepEqual(
    pubs.map((p) => [p.topic === '' ? '' : p.topic.slice(topic.length + 1), p.properties?.topicAlias ?? null, p.payload.toString()]),
    [
      ['a', 1, 'a'],
      ['b', 2, 'b'],
      ['c', null, 'c'],
      ['', 1, 'a'],
      ['', 2, 'b'],
      ['c', null, 'c'],
    ],
  );
  // mqtt.js resolves them back to topics.
  const js = await connect(k.url, { protocolVersion: 5, properties: { topicAliasMaximum: 5 } });
  const got = collect(js);
  await js.subscribeAsync(`${topic}/#`, { qos: 0 });
  for (const leaf of ['x', 'x', 'y']) await pub.publishAsync(`${topic}/${leaf}`, leaf, { qos: 1 });
  const msgs = await got.waitFor(3);
  t.deepEqual(
    msgs.map((m) => m.topic.slice(topic.length + 1)),
    ['x', 'x', 'y'],
  );
  raw.close();
  await Promise.all([pub.endAsync(), js.endAsync()]);
});

test("maximum packet size: messages larger than the client's maximum are dropped, not sent", async (t) => {
  const topic = `maxsize/${uniqueId()}`;
  const raw = await RawClient.connected(k.port, 5, { properties: { maximumPacketSize: 200 } });
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
  await raw.next('suback');
  const before = k.gate.stats.droppedTooLarge;
  const pub = await connect(k.url, { protocolVersion: 5 });
  await pub.publishAsync(topic, Buffer.alloc(500, 0x61), { qos: 1 });
  await pub.publishAsync(topic, 'small', { qos: 1 });
  const p = (await raw.next('publish')) as IPublishPacket;
  t.is(p.payload.toString(), 'small');
  t.is(k.gate.stats.droppedTooLarge, before + 1);
  raw.send({ cmd: 'puback', messageId: p.messageId, reasonCode: 0 });
  await sleep(50);
  t.is(k.gate.sessions.all().find((s) => s.link === undefined && s.inflight.size > 0), undefined);
  raw.close();
  await pub.endAsync();
});

test("the client's receive maximum bounds our in-flight window; ours is enforced with DISCONNECT 0x93", async (t) => {
  const topic = `window/${uniqueId()}`;
  const raw = await RawClient.connected(k.port, 5, { properties: { receiveMaximum: 2 } });
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
  await raw.next('suback');
  const pub = await connect(k.url, { protocolVersion: 5 });
  for (let i = 0; i < 5; i++) await pub.publishAsync(topic, String(i), { qos: 1 });
  await sleep(100);
  const count = (): number => raw.packets.filter((p) => p.cmd === 'publish').length;
  t.is(count(), 2);
  const first = raw.packets.find((p) => p.cmd === 'publish') as IPublishPacket;
  raw.send({ cmd: 'puback', messageId: first.messageId, reasonCode: 0 });
  await raw.until(() => count() === 3);
  t.is(count(), 3);
  raw.close();
  await pub.endAsync();

  const k2 = await startKitsune({}, { receiveMaximum: 2 });
  try {
    const r2 = await RawClient.connected(k2.port, 5);
    t.is((r2.packets[0] as IConnackPacket).properties?.receiveMaximum, 2);
    for (let id = 1; id <= 3; id++) r2.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 2, messageId: id, retain: false, dup: false });
    const d = (await r2.next('disconnect')) as IDisconnectPacket;
    t.is(d.reasonCode, 0x93);
    await r2.waitClosed();
  } finally {
    await k2.stop();
  }
});

test('session takeover sends DISCONNECT 0x8E to the older v5 connection', async (t) => {
  const clientId = uniqueId('take5');
  const first = await connect(k.url, { protocolVersion: 5, clientId });
  const reason = new Promise<number | undefined>((r) => first.once('disconnect', (p) => r(p.reasonCode)));
  const second = await connect(k.url, { protocolVersion: 5, clientId });
  t.is(await reason, 0x8e);
  await second.endAsync();
  first.end(true);
});

test('wamp.session.kill of an MQTT session sends DISCONNECT 0x98', async (t) => {
  const c = await connect(k.url, { protocolVersion: 5 });
  const reason = new Promise<number | undefined>((r) => c.once('disconnect', (p) => r(p.reasonCode)));
  const session = [...k.router.realm('realm1').sessions.values()].find((s) => s.identity.transport.clientId === c.options.clientId);
  const local = k.router.connect('realm1', { authrole: 'anonymous' });
  await local.call('wamp.session.kill', [session?.id]);
  t.is(await reason, 0x98);
  local.close();
  c.end(true);
});

test('will: DISCONNECT 0x04 sends it, 0x00 does not; will delay; session end publishes it early', async (t) => {
  const topic = `will5/${uniqueId()}`;
  const sub = await connect(k.url, { protocolVersion: 5 });
  const got = collect(sub);
  await sub.subscribeAsync(`${topic}/#`, { qos: 1 });
  const will = (name: string, delay = 0) => ({ topic: `${topic}/${name}`, payload: Buffer.from(name), qos: 1 as const, retain: false, properties: { willDelayInterval: delay } });

  const normal = await connect(k.url, { protocolVersion: 5, will: will('normal') });
  await normal.endAsync({ reasonCode: 0 } as never);
  const withWill = await connect(k.url, { protocolVersion: 5, will: will('with-will') });
  await withWill.endAsync({ reasonCode: 0x04 } as never);
  await got.waitFor(1);
  t.deepEqual(got.messages.map((m) => m.payload.toString()), ['with-will']);

  // Delay 1 s, session lives 10 s: the will comes after the delay. Reconnecting within the delay
  // cancels it: 'cancelled' is dropped first, its 1 s timer would fire before the one of
  // 'delayed', so once the 'delayed' will is here a will of 'cancelled' would be too.
  const offline = (clientId: string) => () => k.gate.sessions.get('realm1', clientId)?.link === undefined;
  const cancelId = uniqueId('cancel');
  const cancel = await connect(k.url, { protocolVersion: 5, clientId: cancelId, clean: false, properties: { sessionExpiryInterval: 10 }, will: will('cancelled', 1) });
  const delayedId = uniqueId('delayed');
  const delayed = await connect(k.url, { protocolVersion: 5, clientId: delayedId, clean: false, properties: { sessionExpiryInterval: 10 }, will: will('delayed', 1) });
  dropConnection(cancel);
  await waitUntil(offline(cancelId), 'the server to see the first drop');
  const t0 = Date.now();
  dropConnection(delayed);
  await waitUntil(offline(delayedId), 'the server to see the second drop');
  const again = await connect(k.url, { protocolVersion: 5, clientId: cancelId, clean: false, properties: { sessionExpiryInterval: 10 } });
  await got.waitFor(2, 3000);
  t.true(Date.now() - t0 >= 900, 'after the will delay');
  t.deepEqual(got.messages.map((m) => m.payload.toString()), ['with-will', 'delayed']);

  // Session expiry (1 s) shorter than the delay (30 s): the will comes when the session ends.
  const short = await connect(k.url, { protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 1 }, will: will('session-end', 30) });
  dropConnection(short);
  await got.waitFor(3, 3000);
  t.is(got.messages[2]?.payload.toString(), 'session-end');
  await again.endAsync({ properties: { sessionExpiryInterval: 0 } } as never);
  const d = k.gate.sessions.get('realm1', delayedId);
  d?.end();
  await sub.endAsync();
});

test('DISCONNECT may shorten the session expiry to 0 (session ends at once)', async (t) => {
  const clientId = uniqueId('disc0');
  const c = await connect(k.url, { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
  await c.endAsync({ properties: { sessionExpiryInterval: 0 } } as never);
  await sleep(50);
  t.is(k.gate.sessions.get('realm1', clientId), undefined);
});

test('shared subscriptions split messages across members (v5 and 3.1.1) and get no retained messages', async (t) => {
  const topic = `jobs/${uniqueId()}`;
  const pub = await connect(k.url, { protocolVersion: 5 });
  await pub.publishAsync(topic, 'retained', { qos: 1, retain: true });
  const a = await connect(k.url, { protocolVersion: 5 });
  const b = await connect(k.url, { protocolVersion: 4 });
  const ga = collect(a);
  const gb = collect(b);
  await a.subscribeAsync(`$share/workers/${topic}`, { qos: 1 });
  await b.subscribeAsync(`$share/workers/${topic}`, { qos: 1 });
  for (let i = 0; i < 6; i++) await pub.publishAsync(topic, `job${i}`, { qos: 1 });
  await sleep(200);
  t.is(ga.messages.length + gb.messages.length, 6);
  t.is(ga.messages.length, 3);
  t.is(gb.messages.length, 3);
  t.false([...ga.messages, ...gb.messages].some((m) => m.payload.toString() === 'retained'));
  await pub.publishAsync(topic, '', { qos: 1, retain: true });
  await Promise.all([pub.endAsync(), a.endAsync(), b.endAsync()]);
});

test('enhanced authentication is refused with CONNACK 0x8C; auth refusals use v5 codes', async (t) => {
  const raw = await RawClient.open(k.port, 5);
  raw.send({ cmd: 'connect', protocolVersion: 5, protocolId: 'MQTT', clientId: 'x', clean: true, keepalive: 0, properties: { authenticationMethod: 'SCRAM-SHA-1' } } as never);
  t.is(((await raw.next('connack')) as IConnackPacket).reasonCode, 0x8c);
  await raw.waitClosed();
  const codes: number[] = [];
  for (const opts of [
    { username: 'alice@secure', password: 'wrong' },
    { username: '@secure' },
    { username: 'bob@secure' },
    { username: 'alice@nowhere', password: 's3cret' },
  ]) {
    const err = await connect(k.url, { protocolVersion: 5, ...opts }).catch((e: { code?: number }) => e);
    codes.push((err as { code?: number }).code ?? -1);
  }
  t.deepEqual(codes, [0x86, 0x87, 0x86, 0x86]);
  const ok = await connect(k.url, { protocolVersion: 5, username: 'alice@secure', password: 's3cret' });
  t.true(ok.connected);
  await ok.endAsync();
});

test('server shutdown: v5 clients get DISCONNECT 0x8B and wills are published', async (t) => {
  const k2 = await startKitsune();
  const watcher = k2.router.connect('realm1');
  const wills: string[] = [];
  await watcher.subscribe('bye', (e) => wills.push(String(e.args[0])), { match: 'prefix' });
  const c5 = await connect(k2.url, { protocolVersion: 5, will: { topic: 'bye/5', payload: Buffer.from('"five"'), qos: 0, retain: false } });
  const c4 = await connect(k2.url, { protocolVersion: 4 });
  const reason = new Promise<number | undefined>((r) => c5.once('disconnect', (p) => r(p.reasonCode)));
  const closed4 = new Promise<void>((r) => c4.once('close', () => r()));
  await k2.stop();
  t.is(await reason, 0x8b);
  await closed4;
  t.deepEqual(wills, ['five']);
  c5.end(true);
  c4.end(true);
});

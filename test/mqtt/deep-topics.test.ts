// Topics and filters thousands of levels deep: nothing walks them recursively (a retained message
// on a ~6,000-level topic followed by a `#` subscription used to overflow the stack and end the
// router, and with SQLite again after every restart), and the configured size limits refuse them
// with each protocol's own error: v5 PUBACK 0x90 / SUBACK 0x8F, 3.1.1 close / SUBACK 0x80, WAMP
// wamp.error.invalid_uri.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { IPubackPacket, ISubackPacket } from 'mqtt-packet';
import { silentLogger } from '../../lib/core/log.ts';
import { defaultTopicLimits } from '../../lib/core/topic.ts';
import { defaultConfig } from '../../server/config.ts';
import { startServer } from '../../server/server.ts';
import { startChildServer } from '../helpers/child-server.ts';
import { assertHealthy, collect, connect, RawClient, startKitsune, uniqueId } from '../helpers/mqtt-harness.ts';

const DEEP = 6_000;
const deepLimits = { maxTopicLevels: 20_000 };

function deepTopic(prefix: string, levels: number): string {
  return [prefix, ...Array.from({ length: levels - 1 }, (_, i) => `l${i}`)].join('/');
}

function dataDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-deep-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A retained message on a DEEP-level topic, then a `#` subscriber: it gets the message, the router lives on. */
async function retainedThenWildcard(t: ExecutionContext, url: string, prefix: string): Promise<void> {
  const topic = deepTopic(prefix, DEEP);
  const pub = await connect(url);
  await pub.publishAsync(topic, 'deep', { qos: 1, retain: true });
  await pub.endAsync();
  await subscribeAll(t, url, topic);
}

async function subscribeAll(t: ExecutionContext, url: string, topic: string): Promise<void> {
  const sub = await connect(url);
  const got = collect(sub);
  await sub.subscribeAsync('#', { qos: 1 });
  await got.waitFor(1);
  t.true(got.messages.some((m) => m.topic === topic && m.payload.toString() === 'deep'));
  await sub.endAsync();
  await assertHealthy(url);
}

test('deep retained topic + # subscription, memory', async (t) => {
  const k = await startKitsune({ limits: deepLimits });
  t.teardown(() => k.stop());
  await retainedThenWildcard(t, k.url, uniqueId('deep'));
});

test('deep retained topic + # subscription, SQLite, and again after an in-process restart', async (t) => {
  t.timeout(60_000);
  const dir = dataDir(t);
  const base = defaultConfig();
  const config = { ...base, port: 0, mqttPort: 0, dataDir: dir, memory: false, router: { ...base.router, limits: deepLimits } };
  const prefix = uniqueId('deep');
  const a = await startServer(config, silentLogger);
  await retainedThenWildcard(t, a.urls.mqtt as string, prefix);
  await a.close();
  const b = await startServer(config, silentLogger);
  t.teardown(() => b.close());
  await subscribeAll(t, b.urls.mqtt as string, deepTopic(prefix, DEEP));
});

test('deep retained topic + # subscription on the real CLI (pino logger, SQLite), and after a restart', async (t) => {
  t.timeout(90_000);
  const dir = dataDir(t);
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ limits: deepLimits }));
  const args = ['--config', configFile, '--host', '127.0.0.1', '--port', '0', '--mqtt-port', '0', '--data-dir', dir];
  const prefix = uniqueId('deep');
  const a = await startChildServer(t, args);
  await retainedThenWildcard(t, a.urls.mqtt as string, prefix);
  a.child.kill('SIGTERM');
  await a.exited;
  const b = await startChildServer(t, args);
  await subscribeAll(t, b.urls.mqtt as string, deepTopic(prefix, DEEP));
  t.is(b.child.exitCode, null, 'the restarted router is still running');
  b.child.kill('SIGTERM');
  await b.exited;
});

test('a filter of 8,000 + levels and a QoS 1 publish on an 8,000-level topic: matched, acknowledged, router alive', async (t) => {
  const k = await startKitsune({ limits: deepLimits });
  t.teardown(() => k.stop());
  const filter = Array.from({ length: 8_000 }, () => '+').join('/');
  const topic = deepTopic(uniqueId('deep'), 8_000);
  const sub = await connect(k.url, { protocolVersion: 5 });
  const got = collect(sub);
  const granted = await sub.subscribeAsync(filter, { qos: 1 });
  t.is(granted[0]?.qos, 1);
  const pub = await connect(k.url, { protocolVersion: 4 });
  await pub.publishAsync(topic, 'deep', { qos: 1 });
  await got.waitFor(1);
  t.is(got.messages[0]?.topic, topic);
  await Promise.all([sub.endAsync(), pub.endAsync()]);
  await assertHealthy(k.url);
});

test('default limits: a topic past maxTopicLevels gets v5 PUBACK 0x90 (QoS 1), a 3.1.1 publisher is closed; counted', async (t) => {
  const k = await startKitsune();
  t.teardown(() => k.stop());
  const max = defaultTopicLimits.maxTopicLevels;
  const atLimit = deepTopic(uniqueId('lim'), max);
  const pastLimit = deepTopic(uniqueId('lim'), max + 1);
  const before = k.router.stats.limitRefusals;

  const v5 = await RawClient.connected(k.port, 5);
  v5.send({ cmd: 'publish', topic: atLimit, payload: Buffer.from('ok'), qos: 1, messageId: 1, retain: false, dup: false });
  t.is(((await v5.next('puback')) as IPubackPacket).reasonCode ?? 0, 0, 'at the limit: accepted');
  v5.send({ cmd: 'publish', topic: pastLimit, payload: Buffer.from('no'), qos: 1, messageId: 2, retain: false, dup: false });
  t.is(((await v5.next('puback')) as IPubackPacket).reasonCode, 0x90, 'past the limit: Topic Name invalid');
  t.false(v5.isClosed, 'the v5 client stays connected');
  v5.close();

  const v3 = await RawClient.connected(k.port, 4);
  v3.send({ cmd: 'publish', topic: pastLimit, payload: Buffer.from('no'), qos: 1, messageId: 1, retain: false, dup: false }, 4);
  await v3.waitClosed();
  t.false(v3.packets.some((p) => p.cmd === 'puback'), 'not acknowledged');
  t.is(k.router.stats.limitRefusals, before + 2);
  await assertHealthy(k.url);
});

test('default limits: a filter past maxTopicLevels or maxTopicLength gets SUBACK 0x8F (v5) / 0x80 (3.1.1)', async (t) => {
  const k = await startKitsune({ limits: { maxTopicLength: 1_000 } });
  t.teardown(() => k.stop());
  const max = defaultTopicLimits.maxTopicLevels;
  const atLimit = Array.from({ length: max }, () => '+').join('/');
  const tooDeep = `${atLimit}/+`;
  const tooLong = `a/${'x'.repeat(1_000)}`;
  for (const version of [5, 4] as const) {
    const c = await RawClient.connected(k.port, version);
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: atLimit, qos: 1 }, { topic: tooDeep, qos: 1 }, { topic: `${'y'.repeat(996)}/#`, qos: 0 }, { topic: tooLong, qos: 0 }] } as never, version);
    const suback = (await c.next('suback')) as ISubackPacket;
    const refused = version === 5 ? 0x8f : 0x80;
    t.deepEqual(suback.granted, [1, refused, 0, refused], `MQTT ${version}`);
    c.close();
  }
  await assertHealthy(k.url);
});

test('WAMP: a URI past the configured limits is wamp.error.invalid_uri, at the limit it works', async (t) => {
  const k = await startKitsune({ limits: { maxTopicLevels: 10 } });
  t.teardown(() => k.stop());
  const client = k.router.connect('realm1');
  const ok = Array.from({ length: 10 }, (_, i) => `c${i}`).join('.');
  const tooDeep = `${ok}.c10`;
  await client.publish(ok, [1], undefined, { acknowledge: true });
  await t.throwsAsync(client.publish(tooDeep, [1], undefined, { acknowledge: true }), { message: /more than 10 levels/ });
  await t.throwsAsync(client.subscribe(tooDeep, () => {}), { message: /more than 10 levels/ });
  await t.throwsAsync(client.register(tooDeep, () => []), { message: /more than 10 levels/ });
  client.close();
  t.true(k.router.stats.limitRefusals >= 3);
});

test('a deep topic from an MQTT publisher reaches a WAMP prefix subscriber (iterative match both ways)', async (t) => {
  const k = await startKitsune({ limits: deepLimits });
  t.teardown(() => k.stop());
  const prefix = uniqueId('deepw');
  const events: unknown[] = [];
  const client = k.router.connect('realm1');
  await client.subscribe(prefix, (e: unknown) => events.push(e), { match: 'prefix' });
  const pub = await connect(k.url);
  await pub.publishAsync(deepTopic(prefix, DEEP), JSON.stringify('deep'), { qos: 1 });
  await pub.endAsync();
  for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.is(events.length, 1);
  client.close();
});

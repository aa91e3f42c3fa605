// MQTT $SYS topics as mosquitto's users read them: retained values under $SYS/broker/..., readable
// with subscribe permission on $SYS and refused without, never matched by first-level wildcards,
// not writable by clients, and written without counting as client traffic or filling history.
import test, { type ExecutionContext } from 'ava';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { RealmConfig } from '../../lib/core/config.ts';
import { packageVersion } from '../../server/version.ts';
import { startTestServer } from '../helpers/server.ts';
import { httpGet, metric } from '../helpers/sockets.ts';
import { sleep, until } from '../helpers/wait.ts';

/** Anonymous clients may use `app/...` only; `reader` may read $SYS (the README's permission); `monitor` may use everything. */
const realm: RealmConfig = {
  name: 'realm1',
  roles: [
    { name: 'anonymous', permissions: [{ uri: 'app.', match: 'prefix', allow: { publish: true, subscribe: true } }] },
    { name: 'reader', permissions: [{ uri: '$SYS.', match: 'prefix', allow: { subscribe: true } }] },
    { name: 'monitor', permissions: [{ uri: '', match: 'prefix', allow: { publish: true, subscribe: true } }] },
  ],
  auth: { anonymous: { role: 'anonymous' }, ticket: { monitor: { ticket: 'pw', role: 'monitor' }, reader: { ticket: 'pw', role: 'reader' } } },
  // keeps every topic a wildcard rule can name: $SYS must still stay out of history
  history: [{ uri: '', match: 'prefix' }],
};

const MONITOR: IClientOptions = { username: 'monitor', password: 'pw' };
const READER: IClientOptions = { username: 'reader', password: 'pw' };

async function start(t: ExecutionContext, sysInterval = 1) {
  return startTestServer(t, { realms: [realm] }, { mqttPort: 0, mqtt: { sysInterval } });
}

async function client(t: ExecutionContext, url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...opts });
  t.teardown(() => c.end(true));
  return c;
}

/** The latest value of every topic a client receives. */
function latest(c: MqttClient): Map<string, string> {
  const seen = new Map<string, string>();
  c.on('message', (topic, payload) => seen.set(topic, payload.toString()));
  return seen;
}

test('a subscriber with permission reads the mosquitto subset of $SYS/broker/..., kept up to date', async (t) => {
  const server = await start(t);
  const monitor = await client(t, server.urls.mqtt!, READER);
  const seen = latest(monitor);
  const granted = await monitor.subscribeAsync('$SYS/broker/#', { qos: 0 });
  t.is(granted[0]?.qos, 0);
  const topics = ['version', 'uptime', 'clients/connected', 'messages/received', 'messages/sent', 'bytes/received', 'bytes/sent', 'subscriptions/count', 'retained messages/count'].map((s) => `$SYS/broker/${s}`);
  await until(() => topics.every((tp) => seen.has(tp)), 5000, 'every $SYS topic, retained');
  t.is(seen.get('$SYS/broker/version'), `kitsune version ${packageVersion()}`);
  t.regex(seen.get('$SYS/broker/uptime')!, /^\d+ seconds$/);
  // a later update sees the monitor connected and subscribed (the bridges have subscriptions of their own)
  const subscriptions = String(server.router.realms.get('realm1')!.broker.byId.size);
  await until(() => seen.get('$SYS/broker/clients/connected') === '1' && seen.get('$SYS/broker/subscriptions/count') === subscriptions, 5000, 'the monitor counted');
  t.is(seen.get('$SYS/broker/retained messages/count'), String(topics.length));
  const received = Number(seen.get('$SYS/broker/messages/received'));
  t.true(received >= 2, 'CONNECT and SUBSCRIBE at least');
  t.true(Number(seen.get('$SYS/broker/bytes/sent')) > 0);
  const uptime = Number.parseInt(seen.get('$SYS/broker/uptime')!, 10);
  await until(() => Number.parseInt(seen.get('$SYS/broker/uptime')!, 10) > uptime, 5000, 'uptime moves on');
});

test('without subscribe permission on $SYS the subscription is refused', async (t) => {
  const server = await start(t);
  const anonymous = await client(t, server.urls.mqtt!);
  const granted = async (c: MqttClient, filter: string): Promise<number | undefined> => {
    const err = await t.throwsAsync(c.subscribeAsync(filter, { qos: 0 }));
    return (err as Error & { packet?: { granted?: number[] } }).packet?.granted?.[0];
  };
  t.is(await granted(anonymous, '$SYS/broker/version'), 0x80, '3.1.1: failure');
  const v5 = await client(t, server.urls.mqtt!, { protocolVersion: 5 });
  t.is(await granted(v5, '$SYS/#'), 0x87, 'v5: not authorized');
});

test('# and + at the first level do not deliver $SYS topics; clients cannot publish there', async (t) => {
  const server = await start(t);
  const monitor = await client(t, server.urls.mqtt!, MONITOR);
  const seen: string[] = [];
  monitor.on('message', (topic) => seen.push(topic));
  await monitor.subscribeAsync(['#', '+/broker/#', '+/broker/version'], { qos: 0 });
  const other = await client(t, server.urls.mqtt!, { ...MONITOR, protocolVersion: 5 });
  await other.publishAsync('app/x', 'hello', { qos: 1 });
  await sleep(2500); // two $SYS updates, with values that changed
  t.true(seen.includes('app/x'), 'the wildcards deliver ordinary topics');
  t.deepEqual(seen.filter((tp) => tp.startsWith('$')), []);

  // a client may not overwrite the broker's values, whatever its permissions
  const refusal = await t.throwsAsync(other.publishAsync('$SYS/broker/version', 'fake', { qos: 1, retain: true }));
  t.is((refusal as Error & { code?: number }).code, 0x90, 'v5 PUBACK: topic name invalid');
  const reader = await client(t, server.urls.mqtt!, MONITOR);
  const value = new Promise<string>((resolve) => reader.on('message', (_topic, payload) => resolve(payload.toString())));
  await reader.subscribeAsync('$SYS/broker/version', { qos: 0 });
  t.is(await value, `kitsune version ${packageVersion()}`);
});

test('$SYS writes are not client traffic or publications, and stay out of history', async (t) => {
  const server = await start(t);
  const scrape = async (): Promise<string> => (await httpGet(`${server.urls.http}/metrics`)).body;
  const series = ['kitsune_publications_total', 'kitsune_messages_total{protocol="mqtt",direction="in"}', 'kitsune_messages_total{protocol="wamp",direction="in"}'];
  const before = await scrape();
  await sleep(2500); // two updates (uptime changes every time)
  const after = await scrape();
  for (const s of series) t.is(metric(after, s), metric(before, s), s);
  t.is(server.router.realms.get('realm1')!.retention.tree.size, 9, 'one retained value per topic, overwritten');
  const history = await server.router.store!.readHistory('realm1', { prefix: '$' });
  t.deepEqual(history, []);
});

test('sysInterval 0 publishes no $SYS topics', async (t) => {
  const server = await start(t, 0);
  await sleep(200);
  t.is(server.router.realms.get('realm1')!.retention.tree.size, 0);
});

// Traffic metrics after known traffic: messages and bytes per protocol and direction, publications,
// deliveries, calls and errors by URI, dropped deliveries by reason, queue sizes and the store's
// commit histogram — scraped from /metrics as an operator would, as exact deltas.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import mqtt from 'mqtt';
import { MAX_OTHER_URIS } from '../../lib/core/error-counts.ts';
import { createMetricsHandler } from '../../server/metrics.ts';
import { connect, RawClient, startKitsune, uniqueId } from '../helpers/mqtt-harness.ts';
import { RawWamp, T } from '../helpers/raw-wamp.ts';
import { startTestServer } from '../helpers/server.ts';
import { httpGet, metric } from '../helpers/sockets.ts';
import { until } from '../helpers/wait.ts';
import { connectAutobahn } from '../helpers/wamp.ts';

type Scrape = () => Promise<string>;

function scraper(url: string): Scrape {
  return async () => (await httpGet(`${url}/metrics`)).body;
}

/** The change of each series between two scrapes. */
function deltas(before: string, after: string, series: string[]): Record<string, number> {
  return Object.fromEntries(series.map((s) => [s, metric(after, s) - metric(before, s)]));
}

const WAMP_SERIES = [
  'kitsune_messages_total{protocol="wamp",direction="in"}',
  'kitsune_messages_total{protocol="wamp",direction="out"}',
  'kitsune_publications_total',
  'kitsune_deliveries_total{protocol="wamp"}',
];

test('10 WAMP publishes (autobahn) to 2 subscribers: messages, publications and deliveries move by exactly that', async (t) => {
  const server = await startTestServer(t);
  const scrape = scraper(server.urls.http!);
  const publisher = await connectAutobahn(t, server.urls);
  const subscribers = [await connectAutobahn(t, server.urls), await connectAutobahn(t, server.urls)];
  const received = [0, 0];
  for (const [i, s] of subscribers.entries()) await s.subscribe('metrics.topic', () => void received[i]!++);
  const before = await scrape();
  for (let i = 0; i < 10; i++) await publisher.publish('metrics.topic', [i], {}, { acknowledge: true });
  await until(() => received[0] === 10 && received[1] === 10, 5000, 'both subscribers got all 10');
  const after = await scrape();
  t.deepEqual(deltas(before, after, WAMP_SERIES), {
    'kitsune_messages_total{protocol="wamp",direction="in"}': 10, // PUBLISH
    'kitsune_messages_total{protocol="wamp",direction="out"}': 30, // 10 PUBLISHED + 20 EVENT
    kitsune_publications_total: 10,
    'kitsune_deliveries_total{protocol="wamp"}': 20,
  });
});

test('WAMP bytes in and out are the encoded messages, over WebSocket and RawSocket alike', async (t) => {
  const server = await startTestServer(t);
  const scrape = scraper(server.urls.http!);
  const publisher = await RawWamp.session(t, server.urls, { rawsocket: true });
  const subscriber = await RawWamp.session(t, server.urls, { serializer: 'msgpack' });
  subscriber.send([T.SUBSCRIBE, subscriber.id(), {}, 'metrics.bytes']);
  await subscriber.nextOf(T.SUBSCRIBED);
  publisher.rawFrames.length = 0;
  subscriber.rawFrames.length = 0;
  const before = await scrape();
  let sentBytes = 0;
  for (let i = 0; i < 5; i++) {
    const publish = [T.PUBLISH, publisher.id(), { acknowledge: true }, 'metrics.bytes', ['x'.repeat(i * 10)]];
    sentBytes += publisher.serializer.encode(publish).length;
    publisher.send(publish);
    await publisher.nextOf(T.PUBLISHED);
    await subscriber.nextOf(T.EVENT);
  }
  const after = await scrape();
  const receivedBytes = [...publisher.rawFrames, ...subscriber.rawFrames].reduce((n, f) => n + f.length, 0);
  t.is(publisher.rawFrames.length + subscriber.rawFrames.length, 10);
  t.deepEqual(deltas(before, after, ['kitsune_bytes_total{protocol="wamp",direction="in"}', 'kitsune_bytes_total{protocol="wamp",direction="out"}']), {
    'kitsune_bytes_total{protocol="wamp",direction="in"}': sentBytes,
    'kitsune_bytes_total{protocol="wamp",direction="out"}': receivedBytes,
  });
});

test('5 MQTT QoS 1 publishes (mqtt.js) to one subscriber: packets and bytes exact both ways', async (t) => {
  const server = await startTestServer(t, {}, { mqttPort: 0 });
  const scrape = scraper(server.urls.http!);
  const sub = await mqtt.connectAsync(server.urls.mqtt!, { reconnectPeriod: 0, keepalive: 0 });
  const pub = await mqtt.connectAsync(server.urls.mqtt!, { reconnectPeriod: 0, keepalive: 0 });
  t.teardown(() => {
    sub.end(true);
    pub.end(true);
  });
  await sub.subscribeAsync('m/t', { qos: 1 });
  let got = 0;
  sub.on('message', () => void got++);
  const before = await scrape();
  for (let i = 0; i < 5; i++) await pub.publishAsync('m/t', `p${i}`, { qos: 1 });
  await until(() => got === 5, 5000, 'the subscriber got all 5');
  // PUBLISH 'm/t' 'pN' at QoS 1: 2 fixed header + 2+3 topic + 2 packet id + 2 payload = 11 bytes; PUBACK 4.
  const series = ['in', 'out'].flatMap((d) => [`kitsune_messages_total{protocol="mqtt",direction="${d}"}`, `kitsune_bytes_total{protocol="mqtt",direction="${d}"}`]);
  const expected = {
    'kitsune_messages_total{protocol="mqtt",direction="in"}': 10, // 5 PUBLISH + the subscriber's 5 PUBACK
    'kitsune_bytes_total{protocol="mqtt",direction="in"}': 5 * 11 + 5 * 4,
    'kitsune_messages_total{protocol="mqtt",direction="out"}': 10, // 5 PUBACK + 5 PUBLISH to the subscriber
    'kitsune_bytes_total{protocol="mqtt",direction="out"}': 5 * 4 + 5 * 11,
    kitsune_publications_total: 5,
    'kitsune_deliveries_total{protocol="mqtt"}': 5,
  };
  let after = await scrape();
  // the subscriber's last PUBACK may still be on its way
  for (let i = 0; i < 100 && deltas(before, after, series)['kitsune_messages_total{protocol="mqtt",direction="in"}']! < 10; i++) after = await scrape();
  t.deepEqual(deltas(before, after, Object.keys(expected)), expected);
});

test('calls and errors by URI; a callee cannot grow the error label set past its cap', async (t) => {
  const server = await startTestServer(t);
  const scrape = scraper(server.urls.http!);
  const callee = await RawWamp.session(t, server.urls);
  callee.send([T.REGISTER, callee.id(), {}, 'metrics.fail']);
  await callee.nextOf(T.REGISTERED);
  callee.tap = (m) => {
    // every invocation fails with its own URI: metrics.err.<n>
    if (m[0] !== T.INVOCATION) return false;
    callee.send([T.ERROR, T.INVOCATION, m[1], {}, `metrics.err.${m[1] as number}`]);
    return true;
  };
  const caller = await RawWamp.session(t, server.urls);
  const before = await scrape();
  const calls = MAX_OTHER_URIS + 20;
  for (let i = 0; i < calls; i++) {
    const id = caller.id();
    caller.send([T.CALL, id, {}, 'metrics.fail', []]);
    await caller.reply(T.CALL, id);
  }
  const nobody = caller.id();
  caller.send([T.CALL, nobody, {}, 'metrics.nobody', []]);
  t.is((await caller.reply(T.CALL, nobody))[4], 'wamp.error.no_such_procedure');
  const after = await scrape();
  t.is(metric(after, 'kitsune_calls_total') - metric(before, 'kitsune_calls_total'), calls + 1);
  t.is(metric(after, 'kitsune_errors_total{uri="wamp.error.no_such_procedure"}') - metric(before, 'kitsune_errors_total{uri="wamp.error.no_such_procedure"}'), 1);
  const errorSeries = after.split('\n').filter((l) => l.startsWith('kitsune_errors_total{'));
  const calleeUris = errorSeries.filter((l) => l.startsWith('kitsune_errors_total{uri="metrics.err.'));
  t.is(calleeUris.length, MAX_OTHER_URIS, 'the first 100 callee URIs by name');
  t.is(metric(after, 'kitsune_errors_total{uri="other"}'), 20, 'the rest as "other"');
});

/** /metrics over the router of an in-process MQTT harness (the gate's own options are configurable there). */
async function harnessMetrics(t: ExecutionContext, k: Awaited<ReturnType<typeof startKitsune>>): Promise<Scrape> {
  const http = createServer(createMetricsHandler(k.router));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    http.close();
    await k.stop();
  });
  return scraper(`http://127.0.0.1:${(http.address() as AddressInfo).port}`);
}

test('dropped deliveries by reason: slow consumers in both protocols; the older totals still count them', async (t) => {
  const k = await startKitsune({ limits: { sendBufferSoftBytes: 256 * 1024, sendBufferHardBytes: 64 * 1024 * 1024 } });
  const scrape = await harnessMetrics(t, k);
  const raw = await RawClient.connected(k.port, 4);
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 0 }] }, 4);
  await raw.next('suback');
  raw.socket.pause(); // stops reading: the kernel buffers fill, then ours
  const pub = await connect(k.url);
  t.teardown(() => pub.end(true));
  const big = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; i < 100; i++) pub.publish('flood', big, { qos: 0 });
  await until(() => k.gate.stats.droppedQos0 > 0, 10_000, 'QoS 0 drops');
  const text = await scrape();
  const mqttSlow = metric(text, 'kitsune_dropped_deliveries_total{protocol="mqtt",reason="slow_consumer"}');
  t.is(mqttSlow, k.gate.stats.droppedQos0);
  t.is(metric(text, 'kitsune_dropped_events_total'), mqttSlow, 'the older metric counts the same drops');
  t.is(metric(text, 'kitsune_dropped_deliveries_total{protocol="wamp",reason="slow_consumer"}'), 0);
  raw.socket.destroy();
});

test('dropped deliveries by reason: a full MQTT session queue, then expired messages', async (t) => {
  const k = await startKitsune({}, { maxQueuedMessages: 3 });
  const scrape = await harnessMetrics(t, k);
  const clientId = uniqueId('q');
  const sub = await connect(k.url, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 300 } });
  await sub.subscribeAsync('queued/#', { qos: 1 });
  await sub.endAsync();
  const pub = await connect(k.url, { protocolVersion: 5 });
  t.teardown(() => pub.end(true));
  for (let i = 0; i < 8; i++) await pub.publishAsync('queued/a', `m${i}`, { qos: 1 });
  let text = await scrape();
  t.is(metric(text, 'kitsune_dropped_deliveries_total{protocol="mqtt",reason="queue_full"}'), 5, '8 into a queue of 3');
  t.is(metric(text, 'kitsune_dropped_queued_total'), 5, 'the older metric counts the same drops');
  t.is(metric(text, 'kitsune_mqtt_queued_messages{realm="realm1"}'), 0, 'no MQTT gate given to this handler: no such series');

  // Three messages that expire while the session is away replace the queue; reconnecting drops them.
  for (let i = 0; i < 3; i++) await pub.publishAsync('queued/b', `e${i}`, { qos: 1, properties: { messageExpiryInterval: 1 } });
  await new Promise((r) => setTimeout(r, 2200));
  const back = await connect(k.url, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 300 } });
  t.teardown(() => back.end(true));
  await until(() => k.gate.stats.expired === 3, 5000, 'the expired messages were dropped');
  text = await scrape();
  t.is(metric(text, 'kitsune_dropped_deliveries_total{protocol="mqtt",reason="expired"}'), 3);
});

test('queue sizes per realm and the SQLite commit histogram, on the server with its store', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kitsune-metrics-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const server = await startTestServer(t, {}, { memory: false, dataDir, mqttPort: 0 });
  const scrape = scraper(server.urls.http!);
  const before = await scrape();
  t.regex(before, /# TYPE kitsune_store_commit_seconds histogram/);
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${server.urls.hustmq}/put?queue=metrics_q`, { method: 'POST', body: `item ${i}` });
    t.is(res.status, 200);
  }
  // an MQTT persistent session with messages queued while it is away
  const clientId = uniqueId('m');
  const away = await mqtt.connectAsync(server.urls.mqtt!, { clientId, clean: false, reconnectPeriod: 0 });
  await away.subscribeAsync('away/t', { qos: 1 });
  await away.endAsync();
  const pub = await mqtt.connectAsync(server.urls.mqtt!, { reconnectPeriod: 0 });
  t.teardown(() => pub.end(true));
  for (let i = 0; i < 2; i++) await pub.publishAsync('away/t', `m${i}`, { qos: 1 });
  const after = await scrape();
  t.is(metric(after, 'kitsune_queue_items{realm="realm1"}'), 3);
  t.is(metric(after, 'kitsune_mqtt_queued_messages{realm="realm1"}'), 2);
  t.true(metric(after, 'kitsune_store_commit_seconds_count') > metric(before, 'kitsune_store_commit_seconds_count'), 'commits were observed');
  t.true(metric(after, 'kitsune_store_commit_seconds_sum') > 0);
});

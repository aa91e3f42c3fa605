// The slow-consumer policy of lib/transport, as both gates apply it, seen where operators see it:
// /metrics. An MQTT subscriber that stops reading has its QoS 0 messages dropped past the soft limit
// and is disconnected past the hard limit, and both show in the router's counters.
import test from 'ava';
import { createMetricsHandler } from '../../server/metrics.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, RawClient, sleep, startKitsune } from '../helpers/mqtt-harness.ts';

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

test('MQTT slow consumers: QoS 0 drops and the disconnect past the hard limit reach /metrics', async (t) => {
  const k = await startKitsune({ limits: { sendBufferSoftBytes: 256 * 1024, sendBufferHardBytes: 2 * 1024 * 1024 } });
  const http = createServer(createMetricsHandler(k.router));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    http.close();
    await k.stop();
  });
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/metrics`;
  const raw = await RawClient.connected(k.port, 4);
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 1 }] }, 4);
  await raw.next('suback');
  raw.socket.pause(); // stops reading: the kernel buffers fill, then ours
  const pub = await connect(k.url);
  const big = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; i < 200; i++) pub.publish('flood', big, { qos: 0 });
  await raw.until(() => k.gate.stats.droppedQos0 > 0, 5000, 'QoS 0 drops');
  t.true((await metric(url, 'kitsune_dropped_events_total')) >= k.gate.stats.droppedQos0);
  for (let i = 0; i < 200; i++) pub.publish('flood', big, { qos: 1 });
  await raw.until(() => k.gate.stats.slowConsumers === 1, 10_000, 'the hard limit');
  t.is(await metric(url, 'kitsune_slow_consumers_disconnected_total'), 1);
  raw.socket.resume();
  await sleep(10);
  await pub.endAsync();
});

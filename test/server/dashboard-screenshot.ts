// Writes docs/dashboard.png: a server on ephemeral ports, a few WAMP and MQTT clients with
// subscriptions, registrations, a lock, queues and a minute of varying traffic, and the dashboard
// as headless Chromium shows it. Run: node --import tsx test/server/dashboard-screenshot.ts [out.png] [seconds]
import { fileURLToPath } from 'node:url';
import autobahn from 'autobahn';
import mqtt, { type MqttClient } from 'mqtt';
import { silentLogger } from '../../lib/core/log.ts';
import { defaultConfig } from '../../server/config.ts';
import { startServer } from '../../server/server.ts';
import { launchBrowser } from '../helpers/browser.ts';

const out = process.argv[2] ?? fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
const seconds = Number(process.argv[3] ?? 45);

const server = await startServer({ ...defaultConfig(), port: 0, mqttPort: null, memory: true, logLevel: 'silent' }, silentLogger);
const chromium = await launchBrowser();
const cleanup: (() => unknown)[] = [];

function wamp(authid: string): Promise<autobahn.Session> {
  return new Promise((resolve, reject) => {
    const connection = new autobahn.Connection({ url: server.urls.wamp!, realm: 'realm1', authid, max_retries: 0 } as autobahn.IConnectionOptions);
    connection.onopen = (session) => {
      cleanup.push(() => connection.close());
      resolve(session);
    };
    connection.onclose = (reason) => {
      reject(new Error(reason));
      return true;
    };
    connection.open();
  });
}

async function device(id: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(server.urls.mqttWs!, { clientId: id, reconnectPeriod: 0 });
  cleanup.push(() => client.endAsync());
  return client;
}

try {
  const page = await chromium.browser.newPage();
  await page.setViewport({ width: 1280, height: 1000, deviceScaleFactor: 1 });
  await page.goto(server.urls.dashboard!, { waitUntil: 'load' });

  const web = await wamp('web-frontend');
  const worker = await wamp('billing-worker');
  const worker2 = await wamp('billing-worker-2');
  const sensors = await Promise.all(['sensor-kitchen', 'sensor-garage', 'sensor-attic'].map(device));
  const display = await device('hall-display');

  await web.subscribe('home.kitchen.temp', () => {});
  await web.subscribe('home.', () => {}, { match: 'prefix' });
  await display.subscribeAsync(['home/+/temp', 'alerts/#']);
  await worker.register('billing.invoice.create', () => 'ok', { invoke: 'roundrobin' } as autobahn.IRegisterOptions);
  await worker2.register('billing.invoice.create', () => 'ok', { invoke: 'roundrobin' } as autobahn.IRegisterOptions);
  await worker.register('billing.invoice.get', () => ({ id: 1 }));
  await web.publish('locks.report-export', ['web-frontend'], {}, { acknowledge: true, retain: true, when: null, will: null, watch: true } as autobahn.IPublishOptions);
  for (const [queue, n] of [['emails', 12], ['thumbnails', 5], ['reports', 2]] as const) {
    for (let i = 0; i < n; i++) await fetch(`${server.urls.hustmq}/put?queue=${queue}`, { method: 'POST', body: `item ${i}` });
  }

  // varying traffic: MQTT sensors publish (fanned out to the WAMP and MQTT subscribers), the web
  // client calls the workers; the picture is taken while it flows
  const rooms = ['kitchen', 'garage', 'attic'];
  const start = Date.now();
  let flowing = true;
  const traffic = (async () => {
    while (flowing) {
      const t = (Date.now() - start) / 1000;
      const burst = Math.round(30 + 25 * Math.sin(t / 6) + (t % 20 < 3 ? 40 : 0));
      for (let i = 0; i < burst; i++) sensors[i % 3]!.publish(`home/${rooms[i % 3]}/temp`, String(18 + Math.random() * 6));
      for (let i = 0; i < burst / 5; i++) void web.call('billing.invoice.create', [i]);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await page.screenshot({ path: out as `${string}.png`, fullPage: true });
  flowing = false;
  await traffic;
  process.stdout.write(`wrote ${out}\n`);
} finally {
  for (const c of cleanup) await Promise.resolve(c()).catch(() => {});
  await chromium.close();
  await server.close();
}

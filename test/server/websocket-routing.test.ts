// WebSocket upgrades on the shared port go by subprotocol: autobahn and mqtt.js on `/`, on a path
// nobody configured and on the default /ws and /mqtt, with both WebSocket stacks; a path configured
// for one protocol refuses the other's subprotocol; an upgrade offering no known subprotocol gets a
// 400 naming ours (and a metric); the bridges keep their paths (esub's psub socket).
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IClientOptions } from 'mqtt';
import WebSocket from 'ws';
import { silentLogger } from '../../lib/core/log.ts';
import { defaultConfig, readConfigFile, type ServerConfig } from '../../server/config.ts';
import { startServer } from '../../server/server.ts';
import { deferred } from '../helpers/autobahn.ts';
import { collect, connect, uniqueId } from '../helpers/mqtt-harness.ts';
import { startTestServer } from '../helpers/server.ts';
import { httpGet, metric, parseResponse, portOf, rawConnect, untilClosed, type RawResponse } from '../helpers/sockets.ts';
import { connectAutobahn } from '../helpers/wamp.ts';

/** An upgrade request the server refuses: its answer, read until the server closes. */
async function refusedUpgrade(t: ExecutionContext, port: number, target: string, protocols?: string): Promise<RawResponse> {
  const socket = await rawConnect(t, port);
  const closed = untilClosed(socket);
  socket.write(
    `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
      (protocols === undefined ? '' : `Sec-WebSocket-Protocol: ${protocols}\r\n`) +
      '\r\n',
  );
  return parseResponse((await closed).data);
}

/** A WAMP session over WebSocket at `url` publishes, an MQTT client over WebSocket at `mqttUrl` gets it (and back). */
async function wampAndMqttMeet(t: ExecutionContext, wampUrl: string, mqttUrl: string, mqttOptions: IClientOptions = {}): Promise<void> {
  const id = uniqueId('wr').replaceAll('-', '_');
  const session = await connectAutobahn(t, { wamp: wampUrl });
  const mqttClient = await connect(mqttUrl, mqttOptions);
  t.teardown(() => mqttClient.endAsync());
  const got = collect(mqttClient);
  await mqttClient.subscribeAsync(`wr/${id}/down`, { qos: 1 });
  const up = deferred<unknown[]>();
  await session.subscribe(`wr.${id}.up`, (args) => up.resolve(args ?? []));
  await session.publish(`wr.${id}.down`, ['to mqtt'], undefined, { acknowledge: true });
  await mqttClient.publishAsync(`wr/${id}/up`, 'to wamp', { qos: 1 });
  t.deepEqual((await got.waitFor(1))[0]?.payload, Buffer.from('to mqtt'), `${wampUrl} → ${mqttUrl}`);
  t.deepEqual(await up.promise, ['to wamp'], `${mqttUrl} → ${wampUrl}`);
}

for (const engine of ['kitsune', 'ws'] as const) {
  test(`engine ${engine}: WAMP and MQTT over WebSocket on /, on a path nobody configured, and on /ws and /mqtt`, async (t) => {
    const { urls } = await startTestServer(t, undefined, { websocket: { engine } });
    const base = `ws://127.0.0.1:${portOf(urls.http as string)}`;
    t.is(urls.wamp, `${base}/ws`);
    t.is(urls.mqttWs, `${base}/mqtt`);
    await wampAndMqttMeet(t, `${base}/`, `${base}/`);
    await wampAndMqttMeet(t, `${base}/realm/app`, `${base}/devices?x=1`, { protocolVersion: 5 });
    await wampAndMqttMeet(t, urls.wamp as string, urls.mqttWs as string, { protocolVersion: 3, protocolId: 'MQIsdp' }); // MQTT 3.1 offers mqttv3.1
  });

  test(`engine ${engine}: paths configured for one protocol refuse the other's subprotocol, others go by subprotocol`, async (t) => {
    const { urls } = await startTestServer(t, undefined, { websocket: { engine, paths: { '/wamp': 'wamp', '/things/mqtt': 'mqtt' } } });
    const port = portOf(urls.http as string);
    const base = `ws://127.0.0.1:${port}`;
    t.is(urls.wamp, `${base}/wamp`, 'the listening line names the configured paths');
    t.is(urls.mqttWs, `${base}/things/mqtt`);
    await wampAndMqttMeet(t, `${base}/wamp`, `${base}/things/mqtt`);
    // /ws and /mqtt are no longer configured: either protocol is welcome there
    await wampAndMqttMeet(t, `${base}/mqtt`, `${base}/ws`, { protocolVersion: 5 });

    const mqttAtWamp = await refusedUpgrade(t, port, '/wamp', 'mqtt');
    t.is(mqttAtWamp.status, 400);
    t.regex(mqttAtWamp.body, /\/wamp serves WAMP \(wamp\.2\.json, wamp\.2\.msgpack, wamp\.2\.cbor\) only/);
    const wampAtMqtt = await refusedUpgrade(t, port, '/things/mqtt?id=1', 'wamp.2.json');
    t.is(wampAtMqtt.status, 400);
    t.regex(wampAtMqtt.body, /\/things\/mqtt serves MQTT \(mqtt, mqttv3\.1\) only/);
    // no subprotocol at a configured path: that protocol's own refusal
    t.regex((await refusedUpgrade(t, port, '/things/mqtt')).body, /MQTT over WebSocket needs the subprotocol 'mqtt'/);
    t.regex((await refusedUpgrade(t, port, '/wamp')).body, /WAMP over WebSocket needs one of the subprotocols/);
    // a client offering both, preferring the other protocol, gets the path's protocol
    const both = new WebSocket(`${base}/wamp`, ['mqtt', 'wamp.2.msgpack']);
    await new Promise((resolve, reject) => both.once('open', resolve).once('error', reject));
    t.is(both.protocol, 'wamp.2.msgpack');
    both.terminate();
    const metrics = (await httpGet(`${urls.http}/metrics`)).body;
    t.is(metric(metrics, 'kitsune_websocket_upgrades_refused_total{reason="wrong_path"}'), 2);
  });
}

test('an upgrade offering no known subprotocol gets a 400 naming the supported ones, counted in /metrics', async (t) => {
  const { urls } = await startTestServer(t);
  const port = portOf(urls.http as string);
  for (const offered of [undefined, 'chat, superchat', 'wamp.2.xml']) {
    const r = await refusedUpgrade(t, port, '/', offered);
    t.is(r.status, 400, String(offered));
    t.regex(r.body, /no supported WebSocket subprotocol offered/);
    t.regex(r.body, /WAMP \(wamp\.2\.json, wamp\.2\.msgpack, wamp\.2\.cbor\) and MQTT \(mqtt, mqttv3\.1\)/);
  }
  // with a browser's WebSocket API the client sees a failed handshake, the body is for curl and logs
  const ws = new WebSocket(`ws://127.0.0.1:${port}/app`);
  const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).once('error', () => resolve(0)));
  t.is(status, 400);
  const metrics = (await httpGet(`${urls.http}/metrics`)).body;
  t.is(metric(metrics, 'kitsune_websocket_upgrades_refused_total{reason="no_subprotocol"}'), 4);
});

test('bridge paths stay the bridges\': esub psub works with any subprotocol, HTTP-only endpoints answer 404', async (t) => {
  const { urls } = await startTestServer(t);
  const port = portOf(urls.http as string);
  const psub = new WebSocket(`ws://127.0.0.1:${port}/esub/psub/k1`);
  await new Promise((resolve, reject) => psub.once('open', resolve).once('error', reject));
  t.is(psub.protocol, '');
  psub.close();
  // a WAMP subprotocol under /esub still reaches esub (which answers without a subprotocol)
  const socket = await rawConnect(t, port);
  const head = new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
  socket.write(
    `GET /esub/psub/k2 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n',
  );
  t.regex(await head, /^HTTP\/1\.1 101 /);
  socket.destroy();
  for (const target of ['/hustmq/get', '/hustdb', '/metrics', '/healthz']) {
    const r = await refusedUpgrade(t, port, target, 'wamp.2.json');
    t.is(r.status, 404, target);
    t.regex(r.body, /no WebSocket endpoint at/);
  }
});

test('websocket.paths in the config file: read and checked; a path under a bridge stops the start', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kitsune-ws-paths-'));
  const file = (o: unknown): string => {
    const p = path.join(dir, `${randomBytes(4).toString('hex')}.json`);
    writeFileSync(p, JSON.stringify(o));
    return p;
  };
  t.deepEqual(readConfigFile(file({ websocket: { paths: { '/wamp': 'wamp', '/': 'mqtt' } } }), defaultConfig()).websocket, { paths: { '/wamp': 'wamp', '/': 'mqtt' } });
  t.deepEqual(readConfigFile(file({ websocket: { paths: {} } }), defaultConfig()).websocket, { paths: {} });
  t.throws(() => readConfigFile(file({ websocket: { paths: { ws: 'wamp' } } }), defaultConfig()), { message: /websocket\.paths\.ws: key does not match \^\// });
  t.throws(() => readConfigFile(file({ websocket: { paths: { '/ws?x': 'wamp' } } }), defaultConfig()), { message: /websocket\.paths\["\/ws\?x"\]: key does not match/ });
  t.throws(() => readConfigFile(file({ websocket: { paths: { '/ws': 'http' } } }), defaultConfig()), { message: /websocket\.paths\["\/ws"\]: "http" is not one of wamp, mqtt/ });
  t.throws(() => readConfigFile(file({ websocket: { paths: ['/ws'] } }), defaultConfig()), { message: /websocket\.paths: \["\/ws"\] is not an object/ });
  const config: ServerConfig = { ...defaultConfig(), port: 0, mqttPort: null, memory: true, websocket: { paths: { '/esub/wamp': 'wamp' } } };
  await t.throwsAsync(startServer(config, silentLogger), { message: /websocket path \/esub\/wamp is under the HTTP endpoint \/esub/ });
});

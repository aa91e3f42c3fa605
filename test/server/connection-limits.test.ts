// Connection limits at accept time, on every kind of port: the server-wide limit and the per-address
// one, each refused in the protocol's own words (HTTP 503/429, MQTT CONNACK 3 or 0x89/0x97, RawSocket
// error 4), counted on /metrics; a slot is freed when its connection closes, whoever owned it.
import test, { type ExecutionContext } from 'ava';
import mqtt from 'mqtt';
import type { ErrorWithReasonCode } from 'mqtt';
import { bytes } from '../helpers/bytes.ts';
import { startTestServer } from '../helpers/server.ts';
import { openAutobahn } from '../helpers/autobahn.ts';
import { eventually, httpGet, metric, portOf, rawConnect, rawGet, untilClosed } from '../helpers/sockets.ts';
import type { ConnectionSettings } from '../../server/admission.ts';

async function start(t: ExecutionContext, connections: Partial<ConnectionSettings>) {
  return startTestServer(t, {}, { mqttPort: 0, hustmqPort: 0, esubPort: 0, connections });
}

/** Holds `n` connections from `localAddress` that have sent nothing yet. */
async function hold(t: ExecutionContext, port: number, n: number, localAddress = '127.0.0.1') {
  return Promise.all(Array.from({ length: n }, () => rawConnect(t, port, localAddress)));
}

/** The last connection that fits: a keep-alive GET answered (its status), the connection kept open. */
async function lastServed(t: ExecutionContext, port: number, path: string, localAddress = '127.0.0.1'): Promise<number> {
  const socket = await rawConnect(t, port, localAddress);
  const reply = new Promise<Buffer>((resolve) => socket.once('data', resolve));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return Number(/^HTTP\/1\.1 (\d{3})/.exec((await reply).toString())?.[1]);
}

/** The CONNACK an MQTT client gets: mqtt.js's error code, or 0 when it connected. */
async function connackCode(url: string, protocolVersion: 4 | 5): Promise<number> {
  try {
    const client = await mqtt.connectAsync(url, { protocolVersion, reconnectPeriod: 0, connectTimeout: 5000 });
    await client.endAsync(true);
    return 0;
  } catch (err) {
    return (err as ErrorWithReasonCode).code;
  }
}

/** A raw MQTT CONNECT (client id "c", clean start) of the given level. */
function connectPacket(level: 4 | 5): Buffer {
  const body = level === 5 ? bytes(0, 4, 'MQTT', 5, 2, 0, 60, 0, 0, 1, 'c') : bytes(0, 4, 'MQTT', 4, 2, 0, 60, 0, 1, 'c');
  return bytes(0x10, body.length, body);
}

/** Sends `first` and reads all the server says before it closes the connection. */
async function answerTo(t: ExecutionContext, port: number, first: Buffer, localAddress = '127.0.0.1'): Promise<Buffer> {
  const socket = await rawConnect(t, port, localAddress);
  const closed = untilClosed(socket);
  socket.write(first);
  return (await closed).data;
}

/** Sends `first` and resolves with the first bytes the server answers (the connection stays open). */
async function firstReply(t: ExecutionContext, port: number, first: Buffer, localAddress: string): Promise<Buffer> {
  const socket = await rawConnect(t, port, localAddress);
  const reply = new Promise<Buffer>((resolve) => socket.once('data', resolve));
  socket.write(first);
  return reply;
}

test('shared port, server-wide limit: HTTP 503, MQTT CONNACK 3 / 0x89, RawSocket error 4; a closed connection frees its slot', async (t) => {
  const server = await start(t, { maxConnections: 4 });
  const port = portOf(server.urls.http!);
  const held = await hold(t, port, 3);
  t.is(await lastServed(t, port, '/healthz'), 200, 'the 4th connection is served');
  const http = await rawGet(t, port, '/healthz');
  t.is(http.status, 503);
  t.regex(http.head, /connection: close/i);
  t.regex(http.body, /too many connections to this server/);
  t.is(await connackCode(`mqtt://127.0.0.1:${port}`, 4), 3, 'MQTT 3.1.1: Server unavailable');
  t.is(await connackCode(`mqtt://127.0.0.1:${port}`, 5), 0x89, 'MQTT 5: Server busy');
  t.deepEqual([...(await answerTo(t, port, bytes(0x7f, 0xf1, 0, 0)))], [0x7f, 0x40, 0, 0], 'RawSocket: maximum connection count reached');
  held[0]!.destroy();
  t.true(await eventually(async () => (await httpGet(`${server.urls.http}/healthz`).catch(() => ({ status: 0 }))).status === 200), 'the freed slot is taken');
  held.forEach((s) => s.destroy());
  const metrics = (await httpGet(`${server.urls.http}/metrics`)).body;
  t.true(metric(metrics, 'kitsune_connections_refused_total{listener="shared",reason="total"}') >= 4);
});

test('shared port, per-address limit: 429 and CONNACK 3 / 0x97 from the full address; another address still gets in', async (t) => {
  const server = await start(t, { maxPerAddress: 3 });
  const port = portOf(server.urls.http!);
  await hold(t, port, 2, '127.0.0.1');
  t.is(await lastServed(t, port, '/healthz'), 200, 'the 3rd connection from the address is served');
  const refused = await rawGet(t, port, '/healthz', '127.0.0.1');
  t.is(refused.status, 429);
  t.regex(refused.body, /too many connections from your address/);
  t.is(await connackCode(`mqtt://127.0.0.1:${port}`, 4), 3);
  t.is(await connackCode(`mqtt://127.0.0.1:${port}`, 5), 0x97, 'MQTT 5: Quota exceeded');
  t.deepEqual([...(await answerTo(t, port, connectPacket(5)))], [0x20, 3, 0, 0x97, 0], 'CONNACK: flags, reason code, no properties');
  t.is((await rawGet(t, port, '/healthz', '127.0.0.2')).status, 200, 'another address is not affected');
  t.deepEqual([...(await firstReply(t, port, connectPacket(4), '127.0.0.3'))], [0x20, 2, 0, 0], 'MQTT from another address is accepted');
});

test('the per-address limit counts all ports together; exemptAddresses lifts it', async (t) => {
  const server = await start(t, { maxPerAddress: 2, exemptAddresses: ['127.0.0.5'] });
  const shared = portOf(server.urls.http!);
  await hold(t, shared, 1, '127.0.0.4');
  await hold(t, portOf(server.urls.mqtt!), 1, '127.0.0.4');
  t.is((await rawGet(t, portOf(server.urls.hustmqPort!), '/', '127.0.0.4')).status, 429);
  await hold(t, shared, 3, '127.0.0.5');
  t.is((await rawGet(t, shared, '/healthz', '127.0.0.5')).status, 200, 'the exempt address is past the limit and served');
});

test('MQTT port: CONNACK refusals with mqtt.js and raw bytes; anything but a CONNECT is just closed', async (t) => {
  const server = await start(t, { maxConnections: 2 });
  const port = portOf(server.urls.mqtt!);
  await hold(t, port, 2);
  t.is(await connackCode(server.urls.mqtt!, 4), 3);
  t.is(await connackCode(server.urls.mqtt!, 5), 0x89);
  t.deepEqual([...(await answerTo(t, port, connectPacket(4)))], [0x20, 2, 0, 3]);
  t.is((await answerTo(t, port, Buffer.from('GET / HTTP/1.1\r\n\r\n'))).length, 0, 'no HTTP answer on the MQTT port');
});

test('dedicated bridge ports: 503 past the server-wide limit, 429 past the per-address one', async (t) => {
  const server = await start(t, { maxConnections: 3, maxPerAddress: 2 });
  const hustmq = portOf(server.urls.hustmqPort!);
  const esub = portOf(server.urls.esubPort!);
  await hold(t, esub, 1, '127.0.0.6');
  t.true((await lastServed(t, hustmq, '/version', '127.0.0.6')) < 500, 'the 2nd from the address is served');
  const perAddress = await rawGet(t, hustmq, '/', '127.0.0.6');
  t.is(perAddress.status, 429);
  await hold(t, hustmq, 1, '127.0.0.7');
  const total = await rawGet(t, esub, '/', '127.0.0.8');
  t.is(total.status, 503);
  t.regex(total.head, /retry-after: 1/i);
  t.is(total.body, 'too many connections to this server; try again later\n');
});

test('/metrics: open connections by listener, refusals by reason; WebSocket sessions hold one slot until they close', async (t) => {
  const server = await start(t, { maxPerAddress: 6 });
  const port = portOf(server.urls.http!);
  const read = async (): Promise<string> => (await httpGet(`${server.urls.http}/metrics`)).body;
  const wamp = await openAutobahn(t, server.urls);
  const mq = await mqtt.connectAsync(server.urls.mqttWs!, { reconnectPeriod: 0 });
  const raw = await hold(t, port, 2);
  const onMqttPort = await hold(t, portOf(server.urls.mqtt!), 1);
  const before = await read(); // this request holds one more slot on the shared port
  t.is(metric(before, 'kitsune_connections{listener="shared"}'), 5);
  t.is(metric(before, 'kitsune_connections{listener="mqtt"}'), 1);
  raw.forEach((s) => s.destroy());
  onMqttPort.forEach((s) => s.destroy());
  await mq.endAsync(true);
  wamp.connection.close();
  await wamp.closed;
  const released = async (): Promise<boolean> => {
    const text = await read();
    return metric(text, 'kitsune_connections{listener="shared"}') === 1 && metric(text, 'kitsune_connections{listener="mqtt"}') === 0;
  };
  t.true(await eventually(released), 'every slot released, once');
  const full = await hold(t, port, 6);
  t.is((await rawGet(t, port, '/healthz')).status, 429);
  full.forEach((s) => s.destroy());
  // at least: the last /metrics connection may still have held its slot when the six were opened
  t.true(await eventually(async () => metric(await read(), 'kitsune_connections_refused_total{listener="shared",reason="address"}') >= 1));
});

test('the raw CONNACK parser answers 3.1 (MQIsdp) too, and closes a CONNECT too short to tell its level', async (t) => {
  const server = await start(t, { maxConnections: 1 });
  const port = portOf(server.urls.mqtt!);
  await hold(t, port, 1);
  const v31 = bytes(0, 6, 'MQIsdp', 3, 2, 0, 60, 0, 1, 'c');
  t.deepEqual([...(await answerTo(t, port, bytes(0x10, v31.length, v31)))], [0x20, 2, 0, 3]);
  t.is((await answerTo(t, port, bytes(0x10, 0x80))).length, 0);
});

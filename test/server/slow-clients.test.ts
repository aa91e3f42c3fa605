// Slow clients are closed by deadlines of our own, on time, while everyone else carries on: HTTP
// headers that never complete get 408, a trickling body gets 408, an idle keep-alive connection is
// closed, a connection that sends nothing is dropped after the sniff timeout. Timeouts here are short
// (configured); the assertions leave seconds of margin for a loaded machine.
import type { IncomingMessage, ServerResponse } from 'node:http';
import test from 'ava';
import mqtt from 'mqtt';
import { startTestServer } from '../helpers/server.ts';
import { connectAutobahn } from '../helpers/wamp.ts';
import { eventually, httpGet, metric, parseResponse, portOf, rawConnect, untilClosed } from '../helpers/sockets.ts';

const HEADERS_MS = 1500;
const SNIFF_MS = 1000;
const REQUEST_MS = 1500;
const KEEPALIVE_MS = 600;
/** How late past its deadline a connection may be closed here: the sweep, plus a loaded machine. */
const SLACK_MS = 4000;

const connections = { headersTimeoutMs: HEADERS_MS, sniffTimeoutMs: SNIFF_MS, requestTimeoutMs: REQUEST_MS, keepAliveTimeoutMs: KEEPALIVE_MS };

test('hundreds of one-byte HTTP connections get 408 on time; WAMP, MQTT and HTTP clients are served meanwhile', async (t) => {
  const server = await startTestServer(t, {}, { mqttPort: 0, connections });
  const port = portOf(server.urls.http!);
  const started = Date.now();
  const slow = await Promise.all(Array.from({ length: 300 }, () => rawConnect(t, port)));
  const silent = await Promise.all(Array.from({ length: 40 }, () => rawConnect(t, port)));
  const slowClosed = slow.map((s) => {
    const closed = untilClosed(s);
    s.write('G');
    return closed;
  });
  const silentClosed = silent.map((s) => untilClosed(s));

  const wamp = await connectAutobahn(t, server.urls);
  const sub = await mqtt.connectAsync(server.urls.mqtt!, { reconnectPeriod: 0 });
  t.teardown(() => sub.end(true));
  const got = new Promise<string>((resolve) => sub.on('message', (_topic, payload) => resolve(payload.toString())));
  await sub.subscribeAsync('health/check', { qos: 1 });
  await wamp.publish('health.check', ['from wamp'], {}, { acknowledge: true });
  t.is(await got, 'from wamp', 'one WAMP string arrives as its text');
  t.is((await fetch(`${server.urls.http}/healthz`)).status, 200);

  for (const { data, closedAt } of await Promise.all(slowClosed)) {
    const res = parseResponse(data);
    t.is(res.status, 408);
    t.true(closedAt - started <= HEADERS_MS + SLACK_MS, `closed ${closedAt - started} ms after opening`);
  }
  for (const { data, closedAt } of await Promise.all(silentClosed)) {
    t.is(data.length, 0);
    t.true(closedAt - started <= SNIFF_MS + SLACK_MS);
  }
  // the WebSocket left the deadlines when it upgraded: still open well past them
  const again = new Promise<string>((resolve) => sub.once('message', (_topic, payload) => resolve(payload.toString())));
  await wamp.publish('health.check', ['still here'], {}, { acknowledge: true });
  t.is(await again, 'still here');
  const metrics = (await httpGet(`${server.urls.http}/metrics`)).body;
  t.is(metric(metrics, 'kitsune_connections_timed_out_total{listener="shared",phase="headers"}'), 300);
  t.is(metric(metrics, 'kitsune_connections_timed_out_total{listener="shared",phase="sniff"}'), 40);
});

test('a trickling body gets 408 after the request timeout; a slow answer is not cut', async (t) => {
  const server = await startTestServer(t, {}, { connections });
  server.http.mount('/upload', (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => res.end('uploaded\n'));
  });
  server.http.mount('/slow', (_req: IncomingMessage, res: ServerResponse) => void setTimeout(() => res.end('late\n'), REQUEST_MS * 2));
  const port = portOf(server.urls.http!);
  const socket = await rawConnect(t, port);
  const closed = untilClosed(socket);
  socket.write('PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
  const res = parseResponse((await closed).data);
  t.is(res.status, 408);
  t.regex(res.body, /request timeout/);
  const late = await httpGet(`${server.urls.http}/slow`);
  t.deepEqual(late, { status: 200, body: 'late\n' });
  t.is(metric((await httpGet(`${server.urls.http}/metrics`)).body, 'kitsune_connections_timed_out_total{listener="shared",phase="request"}'), 1);
});

test('keep-alive: an idle connection is closed after keepAliveTimeoutMs; slow headers of a next request get 408', async (t) => {
  // headers deadline well past the keep-alive one, so a loaded machine cannot blur which one closed it
  const headersTimeoutMs = 3000;
  const server = await startTestServer(t, {}, { connections: { ...connections, headersTimeoutMs } });
  const port = portOf(server.urls.http!);
  const request = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';

  const idle = await rawConnect(t, port);
  const idleClosed = untilClosed(idle);
  idle.write(request);
  const idleResult = await idleClosed;
  t.is(parseResponse(idleResult.data).status, 200);
  t.notRegex(idleResult.data.toString(), /408/, `an idle connection is closed without a 408: ${idleResult.data.toString()}`);

  const slow = await rawConnect(t, port);
  const slowClosed = untilClosed(slow);
  slow.write(request);
  await new Promise<void>((resolve) => slow.once('data', () => resolve()));
  const answered = Date.now();
  slow.write('GET /hea'); // starts a second request that never completes
  // keep the keep-alive timer from closing it as idle: a byte now and then
  const drip = setInterval(() => slow.write('a'), KEEPALIVE_MS / 3);
  const { data, closedAt } = await slowClosed;
  clearInterval(drip);
  t.regex(data.toString(), /HTTP\/1\.1 408/);
  t.true(closedAt - answered <= KEEPALIVE_MS + headersTimeoutMs + SLACK_MS);
});

test('dedicated bridge ports have the same deadlines', async (t) => {
  const server = await startTestServer(t, {}, { hustmqPort: 0, esubPort: 0, connections });
  for (const url of [server.urls.hustmqPort!, server.urls.esubPort!]) {
    const socket = await rawConnect(t, portOf(url));
    const closed = untilClosed(socket);
    socket.write('GET / HTTP/1.1\r\nHo');
    t.is(parseResponse((await closed).data).status, 408);
  }
  const metrics = (await httpGet(`${server.urls.http}/metrics`)).body;
  t.is(metric(metrics, 'kitsune_connections_timed_out_total{listener="hustmq",phase="headers"}'), 1);
  t.is(metric(metrics, 'kitsune_connections_timed_out_total{listener="esub",phase="headers"}'), 1);
  t.true(await eventually(async () => metric((await httpGet(`${server.urls.http}/metrics`)).body, 'kitsune_connections{listener="hustmq"}') === 0));
});

test('an Upgrade request to a port without WebSockets is an ordinary HTTP request, answered', async (t) => {
  const server = await startTestServer(t, {}, { hustmqPort: 0, connections });
  const socket = await rawConnect(t, portOf(server.urls.hustmqPort!));
  const reply = new Promise<Buffer>((resolve) => socket.once('data', resolve));
  socket.write('GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  t.regex((await reply).toString(), /^HTTP\/1\.1 [1-5]\d\d /);
  t.notRegex((await reply).toString(), /^HTTP\/1\.1 101/);
});

// TLS on every listener, with real clients and certificates made for the test: wss:// (autobahn),
// https:// (node:https) and RawSocket over TLS on the shared port beside plain connections, MQTT over
// TLS on the shared port and on the mqtts port (mqtt.js), https on a bridge port; a handshake that
// never finishes is closed at the deadline; `required` turns plain clients away.
import https from 'node:https';
import tls from 'node:tls';
import test, { type ExecutionContext } from 'ava';
import autobahn from 'autobahn';
import mqtt from 'mqtt';
import { makeTestCerts, type TestCerts } from '../helpers/certs.ts';
import { RawWamp, T } from '../helpers/raw-wamp.ts';
import { startTestServer } from '../helpers/server.ts';
import { httpGet, metric, portOf, rawConnect, rawGet, untilClosed } from '../helpers/sockets.ts';
import type { ServerConfig } from '../../server/config.ts';
import type { TlsConfig } from '../../server/tls.ts';

let certs: TestCerts;
test.before(async () => {
  certs = await makeTestCerts();
});
test.after.always(() => certs?.remove());

const serverTls = () => ({ cert: certs.path('server.pem'), key: certs.path('server.key') });

function start(t: ExecutionContext, tlsConfig: TlsConfig, overrides: Partial<ServerConfig> = {}) {
  return startTestServer(t, undefined, { tls: tlsConfig, ...overrides });
}

/** GET over https trusting only the test CA; one connection of its own. */
function httpsGet(url: string, options: https.RequestOptions = {}): Promise<{ status: number; body: string; peerCn: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: certs.ca.cert, agent: false, ...options }, (res) => {
        let body = '';
        const peerCn = String((res.socket as tls.TLSSocket).getPeerCertificate().subject?.CN);
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, peerCn }));
      })
      .on('error', reject);
  });
}

/** An autobahn session over wss:// that trusts the test CA (through the agent ws is given). */
function openWss(t: ExecutionContext, url: string): Promise<autobahn.Session> {
  const agent = new https.Agent({ ca: certs.ca.cert });
  const connection = new autobahn.Connection({ transports: [{ type: 'websocket', url, agent }], realm: 'realm1', max_retries: 0 } as unknown as autobahn.IConnectionOptions);
  return new Promise((resolve, reject) => {
    connection.onopen = (session) => {
      t.teardown(() => {
        if (connection.isOpen) connection.close();
        agent.destroy();
      });
      resolve(session);
    };
    connection.onclose = (reason, details) => {
      reject(new Error(`closed: ${reason} ${JSON.stringify(details)}`));
      return true;
    };
    connection.open();
  });
}

test('shared port: wss (autobahn), https, RawSocket and MQTT inside TLS, and plain clients beside them', async (t) => {
  const server = await start(t, { port: serverTls() });
  const port = portOf(server.urls.http!);
  t.is(server.urls.wss, `wss://127.0.0.1:${port}/ws`);
  t.is(server.urls.https, `https://127.0.0.1:${port}`);

  // WAMP over wss: register and call over TLS, with a plain ws:// caller on the same port
  const callee = await openWss(t, server.urls.wss!);
  await callee.register('tls.echo', (args) => ['via tls', ...(args ?? [])]);
  const wssCaller = await openWss(t, server.urls.wss!);
  t.deepEqual(await wssCaller.call('tls.echo', [1]), ['via tls', 1]);
  const plain = new autobahn.Connection({ url: server.urls.wamp!, realm: 'realm1', max_retries: 0 });
  const plainSession = await new Promise<autobahn.Session>((resolve) => {
    plain.onopen = resolve;
    plain.onclose = () => true;
    plain.open();
  });
  t.teardown(() => void (plain.isOpen && plain.close()));
  t.deepEqual(await plainSession.call('tls.echo', [2]), ['via tls', 2]);

  // https to the health endpoint: the certificate is the configured one
  const health = await httpsGet(`${server.urls.https}/healthz`);
  t.is(health.status, 200);
  t.is(health.peerCn, 'kitsune server one');
  t.is((await httpGet(`${server.urls.http}/healthz`)).status, 200, 'plain HTTP still served on the same port');

  // RawSocket over TLS: handshake, HELLO, a call
  const raw = await RawWamp.rawsocket(t, server.urls.rawsocketTls!.replace('tls:', 'tcp:'), { tls: { ca: certs.ca.cert, servername: 'localhost' } });
  t.true((raw.socket as tls.TLSSocket).encrypted);
  t.is((await raw.hello('realm1'))[0], T.WELCOME);
  const id = raw.id();
  raw.send([T.CALL, id, {}, 'tls.echo', [3]]);
  const result = await raw.next((m) => m[0] === T.RESULT && m[1] === id);
  t.deepEqual(result[3], [['via tls', 3]]); // autobahn returns the callee's list as one argument

  // MQTT over TLS on the shared port, received by a plain MQTT client on the same port
  const plainMqtt = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  t.teardown(() => plainMqtt.end(true));
  await plainMqtt.subscribeAsync('tls/shared');
  const got = new Promise<string>((resolve) => plainMqtt.on('message', (_topic, payload) => resolve(payload.toString())));
  const tlsMqtt = await mqtt.connectAsync(`mqtts://localhost:${port}`, { reconnectPeriod: 0, ca: certs.ca.cert });
  t.teardown(() => tlsMqtt.end(true));
  await tlsMqtt.publishAsync('tls/shared', 'secret hello', { qos: 1 });
  t.is(await got, 'secret hello');
});

test('mqtts port (mqtt.js) and an https bridge port; a client that does not trust the certificate is refused', async (t) => {
  const server = await start(t, { mqttsPort: serverTls(), hustdbPort: serverTls() }, { mqttsPort: 0, hustdbPort: 0 });
  t.regex(server.urls.mqtts!, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
  t.regex(server.urls.hustdbPort!, /^https:\/\//);
  const port = portOf(server.urls.mqtts!);
  const sub = await mqtt.connectAsync(`mqtts://localhost:${port}`, { reconnectPeriod: 0, ca: certs.ca.cert, protocolVersion: 5 });
  t.teardown(() => sub.end(true));
  await sub.subscribeAsync('tls/mqtts', { qos: 1 });
  const got = new Promise<string>((resolve) => sub.on('message', (_topic, payload) => resolve(payload.toString())));
  const pub = await mqtt.connectAsync(`mqtts://localhost:${port}`, { reconnectPeriod: 0, ca: certs.ca.cert });
  t.teardown(() => pub.end(true));
  await pub.publishAsync('tls/mqtts', 'over 8883', { qos: 1 });
  t.is(await got, 'over 8883');

  const untrusting = mqtt.connect(`mqtts://localhost:${port}`, { reconnectPeriod: 0, connectTimeout: 3000 });
  t.teardown(() => untrusting.end(true));
  const err = await new Promise<Error>((resolve) => untrusting.once('error', resolve));
  t.regex(err.message, /self[- ]signed|unable to (get|verify)/i);

  const put = await httpsGet(`${server.urls.hustdbPort}/put?key=k1&val=v1`);
  t.is(put.status, 200);
  t.is((await httpsGet(`${server.urls.hustdbPort}/get?key=k1`)).body, 'v1');
});

test('a TLS handshake that never finishes is closed at the deadline and counted, on the shared and the mqtts port', async (t) => {
  const server = await start(t, { port: serverTls(), mqttsPort: serverTls() }, { mqttsPort: 0, connections: { sniffTimeoutMs: 400 } });
  // the start of a ClientHello, then silence
  for (const url of [server.urls.https!, server.urls.mqtts!]) {
    const socket = await rawConnect(t, portOf(url));
    const closed = untilClosed(socket);
    const openedAt = Date.now();
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00]));
    const { closedAt } = await closed;
    t.true(closedAt - openedAt >= 300, `closed after ${closedAt - openedAt} ms`);
  }
  const metrics = (await httpGet(`${server.urls.http}/metrics`)).body;
  t.is(metric(metrics, 'kitsune_connections_timed_out_total{listener="shared",phase="tls"}'), 1);
  t.is(metric(metrics, 'kitsune_connections_timed_out_total{listener="mqtts",phase="tls"}'), 1);
  // a client that finished its handshake but then says nothing is closed by the sniff deadline
  const quiet = tls.connect({ host: '127.0.0.1', port: portOf(server.urls.https!), ca: certs.ca.cert, servername: 'localhost' });
  quiet.on('error', () => {});
  t.teardown(() => void quiet.destroy());
  await new Promise((resolve) => quiet.once('secureConnect', resolve));
  await new Promise((resolve) => quiet.once('close', resolve));
  t.pass();
});

test('tls.required: plain HTTP gets a 400 naming TLS, plain MQTT is closed, TLS clients are served', async (t) => {
  const server = await start(t, { port: { ...serverTls(), required: true } });
  const port = portOf(server.urls.http!);
  const plain = await rawGet(t, port, '/healthz');
  t.is(plain.status, 400);
  t.regex(plain.body, /requires TLS/);
  const refused = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 3000 });
  t.teardown(() => refused.end(true));
  await new Promise<void>((resolve) => refused.once('close', () => resolve()));
  t.false(refused.connected);
  t.is((await httpsGet(`${server.urls.https}/healthz`)).status, 200);
  const metrics = (await httpsGet(`${server.urls.https}/metrics`)).body;
  t.is(metric(metrics, 'kitsune_connections_refused_total{listener="shared",reason="tls_required"}'), 2);
});

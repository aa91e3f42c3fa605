// Client certificates as credentials: a certificate the configured CA signed names a `tls` principal
// of the realm. WAMP clients log in with authmethod `tls` (autobahn over wss, RawSocket over TLS);
// MQTT clients with useIdentityAsUsername (mqtt.js over mqtts). A certificate nobody signed gives
// nothing: refused at the handshake where rejectUnauthorized holds, no identity where it does not.
import https from 'node:https';
import test from 'ava';
import autobahn from 'autobahn';
import mqtt from 'mqtt';
import { makeTestCerts, type Pem, type TestCerts } from '../helpers/certs.ts';
import { RawWamp, T } from '../helpers/raw-wamp.ts';
import type { RealmConfig } from '../../lib/core/config.ts';
import { silentLogger } from '../../lib/core/log.ts';
import { defaultConfig } from '../../server/config.ts';
import { type RunningServer, startServer } from '../../server/server.ts';

let certs: TestCerts;
let server: RunningServer;

const realm: RealmConfig = {
  name: 'realm1',
  roles: [
    { name: 'anonymous', permissions: [{ uri: 'public.', match: 'prefix', allow: { subscribe: true } }] },
    { name: 'device', permissions: [{ uri: 'devices.', match: 'prefix', allow: { publish: true, subscribe: true, call: true, register: true } }] },
  ],
  auth: { anonymous: { role: 'anonymous' }, tls: { 'device-7': { role: 'device' } } },
};

test.before(async () => {
  certs = await makeTestCerts();
  const tlsFiles = { cert: certs.path('server.pem'), key: certs.path('server.key'), ca: certs.path('ca.pem'), requestClientCert: true };
  // The shared port lets clients without a trusted certificate in (they get no identity); mqtts does not.
  server = await startServer(
    {
      ...defaultConfig(),
      port: 0,
      mqttPort: null,
      memory: true,
      router: { realms: [realm] },
      tls: { port: { ...tlsFiles, rejectUnauthorized: false }, mqttsPort: tlsFiles },
      mqttsPort: 0,
      mqtt: { useIdentityAsUsername: true },
    },
    silentLogger,
  );
});
test.after.always(async () => {
  await server?.close();
  certs?.remove();
});

const tlsOptions = (client?: Pem) => ({ ca: certs.ca.cert, servername: 'localhost', ...(client ? { cert: client.cert, key: client.key } : {}) });

test('WAMP over wss with a client certificate (autobahn): authmethod tls makes it the principal the certificate names', async (t) => {
  const agent = new https.Agent({ ...tlsOptions(certs.client) });
  t.teardown(() => agent.destroy());
  const connection = new autobahn.Connection({ transports: [{ type: 'websocket', url: server.urls.wss, agent }], realm: 'realm1', authmethods: ['tls'], max_retries: 0 } as unknown as autobahn.IConnectionOptions);
  const { session, details } = await new Promise<{ session: autobahn.Session; details: Record<string, unknown> }>((resolve, reject) => {
    connection.onopen = (session, details) => resolve({ session, details: details as Record<string, unknown> });
    connection.onclose = (reason, d) => {
      reject(new Error(`closed: ${reason} ${JSON.stringify(d)}`));
      return true;
    };
    connection.open();
  });
  t.teardown(() => void (connection.isOpen && connection.close()));
  t.like(details, { authid: 'device-7', authrole: 'device', authmethod: 'tls' });
  // the role's permissions apply: devices.* is allowed
  await session.register('devices.7.ping', () => 'pong');
  t.is(await session.call('devices.7.ping'), 'pong');
});

test('RawSocket over TLS: tls login with the certificate; an untrusted certificate gives no identity, and cannot pose as its CN', async (t) => {
  const url = server.urls.rawsocketTls!.replace('tls:', 'tcp:');
  const trusted = await RawWamp.rawsocket(t, url, { tls: tlsOptions(certs.client) });
  const welcome = await trusted.hello('realm1', { authmethods: ['tls'] });
  t.is(welcome[0], T.WELCOME);
  t.like(welcome[2] as object, { authid: 'device-7', authrole: 'device', authmethod: 'tls' });

  const untrusted = await RawWamp.rawsocket(t, url, { tls: tlsOptions(certs.untrusted) });
  const refused = await untrusted.hello('realm1', { authmethods: ['tls'] });
  t.is(refused[0], T.ABORT);
  t.is(refused[2], 'wamp.error.no_auth_method');

  const anonymous = await RawWamp.rawsocket(t, url, { tls: tlsOptions(certs.untrusted) });
  const anon = await anonymous.hello('realm1', { authmethods: ['tls', 'anonymous'], authid: 'device-7' });
  t.is(anon[0], T.WELCOME);
  t.like(anon[2] as object, { authrole: 'anonymous', authmethod: 'anonymous' });
  t.not((anon[2] as { authid: string }).authid, 'device-7');

  // a trusted certificate with another authid in HELLO: tls does not apply
  const other = await RawWamp.rawsocket(t, url, { tls: tlsOptions(certs.client) });
  t.is((await other.hello('realm1', { authmethods: ['tls'], authid: 'someone-else' }))[0], T.ABORT);
});

test('MQTT over mqtts with useIdentityAsUsername: the certificate is the user; without a trusted one the handshake fails', async (t) => {
  const port = new URL(server.urls.mqtts!).port;
  const device = await mqtt.connectAsync(`mqtts://localhost:${port}`, { reconnectPeriod: 0, protocolVersion: 5, clientId: 'cert-device', username: 'ignored', password: 'not checked', ...tlsOptions(certs.client) });
  t.teardown(() => device.end(true));
  const session = [...server.router.realm('realm1').sessions.values()].find((s) => s.identity.transport.clientId === 'cert-device');
  t.like(session?.identity, { authid: 'device-7', authrole: 'device', authmethod: 'tls' });
  // the device role may publish on devices/...; anonymous could not
  const ack = await device.publishAsync('devices/7/temp', '21.5', { qos: 1 });
  t.is((ack as { reasonCode?: number } | undefined)?.reasonCode ?? 0, 0);

  const untrusted = mqtt.connect(`mqtts://localhost:${port}`, { reconnectPeriod: 0, connectTimeout: 3000, ...tlsOptions(certs.untrusted) });
  t.teardown(() => untrusted.end(true));
  const outcome = await new Promise<string>((resolve) => {
    untrusted.once('connect', () => resolve('connected'));
    untrusted.once('error', (err) => resolve(`error: ${err.message}`));
    untrusted.once('close', () => resolve('closed'));
  });
  t.not(outcome, 'connected');
});

test('MQTT over TLS on the shared port without a client certificate authenticates as usual (anonymous here)', async (t) => {
  const port = new URL(server.urls.https!).port;
  const client = await mqtt.connectAsync(`mqtts://localhost:${port}`, { reconnectPeriod: 0, clientId: 'no-cert', ...tlsOptions() });
  t.teardown(() => client.end(true));
  const session = [...server.router.realm('realm1').sessions.values()].find((s) => s.identity.transport.clientId === 'no-cert');
  t.is(session?.identity.authrole, 'anonymous');
});

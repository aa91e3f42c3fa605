// Certificates on the real program: a bad certificate file stops the start (exit 2, naming the file);
// SIGHUP under traffic re-reads the files — connections opened before keep working, new ones see the
// new certificate — and a bad file on reload keeps the certificate in use.
import { copyFileSync, writeFileSync } from 'node:fs';
import tls from 'node:tls';
import test from 'ava';
import mqtt from 'mqtt';
import { makeTestCerts, type TestCerts } from '../helpers/certs.ts';
import { type ChildServer, startChildServer } from '../helpers/child-server.ts';
import { until } from '../helpers/wait.ts';
import { parseCommandLine } from '../../server/cli.ts';

let certs: TestCerts;
test.before(async () => {
  certs = await makeTestCerts();
});
test.after.always(() => certs?.remove());

/** A config file in the certificates' directory naming them by relative paths; returns its path. */
function writeConfig(name: string, tlsFiles: { cert: string; key: string }): string {
  const path = certs.path(name);
  writeFileSync(path, JSON.stringify({ mqttsPort: 0, tls: { port: tlsFiles, mqttsPort: tlsFiles } }));
  return path;
}

/** The CN of the certificate a new TLS connection to `port` is shown. */
function servedCn(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.ca.cert, servername: 'localhost' }, () => {
      resolve(String(socket.getPeerCertificate().subject.CN));
      socket.end();
    });
    socket.on('error', reject);
  });
}

function logLine(server: ChildServer, fields: Record<string, unknown>): Record<string, unknown> | undefined {
  for (const text of server.stderr().split('\n')) {
    if (!text.startsWith('{')) continue;
    const line = JSON.parse(text) as Record<string, unknown>;
    if (Object.entries(fields).every(([k, v]) => JSON.stringify(line[k]) === JSON.stringify(v))) return line;
  }
  return undefined;
}

test('a missing or bad certificate file stops the start with exit 2 and a line naming it', (t) => {
  const missing = writeConfig('missing.json', { cert: 'nope.pem', key: 'server.key' });
  writeFileSync(certs.path('garbage.pem'), '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
  const garbage = writeConfig('garbage.json', { cert: 'garbage.pem', key: 'server.key' });
  const mismatched = writeConfig('mismatch.json', { cert: 'server.pem', key: 'server2.key' });
  for (const [file, expected] of [
    [missing, /tls\.port: cannot read the certificate file .*nope\.pem: ENOENT/],
    [garbage, /tls\.port: certificate file .*garbage\.pem is not a valid PEM certificate/],
    [mismatched, /tls\.port: key file .*server2\.key does not fit certificate .*server\.pem/],
  ] as const) {
    let err = '';
    const outcome = parseCommandLine(['--config', file, '--memory'], {}, { out: () => {}, err: (text) => (err += text) });
    t.deepEqual(outcome, { kind: 'exit', code: 2 });
    t.regex(err, expected);
  }
  let err = '';
  parseCommandLine(['--memory', '--mqtts-port', '8883'], {}, { out: () => {}, err: (text) => (err += text) });
  t.regex(err, /mqttsPort: 8883 needs tls\.mqttsPort/);
});

test('SIGHUP under traffic: open connections keep going, new ones get the new certificate; a bad file keeps the old one', async (t) => {
  t.timeout(90_000);
  copyFileSync(certs.path('server.pem'), certs.path('live.pem'));
  copyFileSync(certs.path('server.key'), certs.path('live.key'));
  const config = writeConfig('live.json', { cert: 'live.pem', key: 'live.key' });
  const server = await startChildServer(t, ['--config', config, '--port', '0', '--mqtt-port', 'none', '--memory']);
  const shared = Number(new URL(server.urls.https!).port);
  const mqtts = Number(new URL(server.urls.mqtts!).port);
  t.is(await servedCn(shared), 'kitsune server one');
  t.is(await servedCn(mqtts), 'kitsune server one');

  // traffic over both TLS listeners: an mqtts subscriber, a publisher inside TLS on the shared port
  const sub = await mqtt.connectAsync(`mqtts://localhost:${mqtts}`, { reconnectPeriod: 0, ca: certs.ca.cert });
  const pub = await mqtt.connectAsync(`mqtts://localhost:${shared}`, { reconnectPeriod: 0, ca: certs.ca.cert });
  t.teardown(() => {
    sub.end(true);
    pub.end(true);
  });
  let closes = 0;
  sub.on('close', () => closes++);
  pub.on('close', () => closes++);
  let received = 0;
  sub.on('message', () => received++);
  await sub.subscribeAsync('load/#', { qos: 1 });
  let sent = 0;
  const ticker = setInterval(() => void pub.publishAsync(`load/${sent++}`, 'x', { qos: 1 }).catch(() => {}), 10);
  t.teardown(() => clearInterval(ticker));
  await until(() => received > 20, 10_000, 'traffic before the reload');

  copyFileSync(certs.path('server2.pem'), certs.path('live.pem'));
  copyFileSync(certs.path('server2.key'), certs.path('live.key'));
  server.child.kill('SIGHUP');
  await until(() => logLine(server, { event: 'config.reload', ok: true }) !== undefined, 20_000, 'the reload');
  t.like(logLine(server, { event: 'config.reload', ok: true }), { tlsReloaded: ['port', 'mqttsPort'], needsRestart: [] });
  t.is(await servedCn(shared), 'kitsune server two');
  t.is(await servedCn(mqtts), 'kitsune server two');
  const afterReload = received;
  await until(() => received > afterReload + 20, 10_000, 'traffic after the reload on the connections opened before');

  // a bad certificate: the reload is refused, naming the file, and the certificate in use stays
  writeFileSync(certs.path('live.pem'), 'not a certificate');
  server.child.kill('SIGHUP');
  await until(() => logLine(server, { event: 'config.reload', ok: false }) !== undefined, 20_000, 'the refused reload');
  t.regex(JSON.stringify(logLine(server, { event: 'config.reload', ok: false })?.problems), /tls\.port: certificate file .*live\.pem holds no PEM certificate/);
  t.is(await servedCn(shared), 'kitsune server two');
  const afterBad = received;
  await until(() => received > afterBad + 20, 10_000, 'traffic after the refused reload');
  t.is(closes, 0, 'no connection was dropped');
  clearInterval(ticker);
  server.child.kill('SIGTERM');
  t.is(await server.exited, 0);
});

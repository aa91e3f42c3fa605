// /healthz counts client sessions only (WAMP and MQTT, not the bridges' own) and says which
// listeners and which store are up; CORS for the HTTP bridges is off by default and, once
// configured, answers preflights and lets allowed origins read the bridges' headers.
import test from 'ava';
import { openAutobahn } from '../helpers/autobahn.ts';
import { connect } from '../helpers/mqtt-harness.ts';
import { startTestServer } from '../helpers/server.ts';

interface Health {
  status: string;
  sessions: number;
  sessionsByProtocol: { wamp: number; mqtt: number };
  listeners: Record<string, { url: string; up: boolean }>;
  store: { engine: string; up: boolean };
}

test('/healthz: client sessions by protocol, listeners and store', async (t) => {
  const server = await startTestServer(t, undefined, { mqttPort: 0 });
  const health = async (): Promise<Health> => {
    const res = await fetch(`${server.urls.http}/healthz`);
    t.is(res.status, 200);
    t.is(res.headers.get('cache-control'), 'no-store');
    return (await res.json()) as Health;
  };
  const idle = await health();
  t.true(server.router.sessionCount > 0, 'the bridges hold sessions of their own');
  t.deepEqual(idle, {
    status: 'ok',
    sessions: 0,
    sessionsByProtocol: { wamp: 0, mqtt: 0 },
    listeners: { shared: { url: server.urls.http!, up: true }, mqtt: { url: server.urls.mqtt!, up: true } },
    store: { engine: 'memory', up: true },
  });

  const wamp = await openAutobahn(t, server.urls);
  const mqtt = await connect(server.urls.mqtt!);
  t.teardown(() => mqtt.endAsync());
  t.like(await health(), { sessions: 2, sessionsByProtocol: { wamp: 1, mqtt: 1 } });
  wamp.session.leave('wamp.close.normal', 'done');
  await wamp.closed;
  t.like(await health(), { sessions: 1, sessionsByProtocol: { wamp: 0, mqtt: 1 } });
});

test('CORS is off by default: no Access-Control headers, preflights reach the bridge', async (t) => {
  const server = await startTestServer(t);
  const res = await fetch(`${server.urls.http}/hustdb/put?key=k&val=v`, { headers: { origin: 'https://app.example' } });
  t.is(res.status, 200);
  t.is(res.headers.get('access-control-allow-origin'), null);
  const preflight = await fetch(`${server.urls.http}/hustdb/put`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
  t.is(preflight.headers.get('access-control-allow-origin'), null);
});

test('CORS on the bridges: allowed origins get the headers (and may read Version), others do not', async (t) => {
  const server = await startTestServer(t, undefined, { hustdbPort: 0, cors: { allowedOrigins: ['https://app.example'], maxAgeSec: 60 } });
  const origin = 'https://app.example';

  const preflight = await fetch(`${server.urls.http}/hustdb/put?key=k`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
  t.is(preflight.status, 204);
  t.is(preflight.headers.get('access-control-allow-origin'), origin);
  t.is(preflight.headers.get('access-control-allow-methods'), 'GET, POST, PUT, DELETE, HEAD');
  t.is(preflight.headers.get('access-control-allow-headers'), 'authorization, content-type');
  t.is(preflight.headers.get('access-control-max-age'), '60');
  t.is(preflight.headers.get('access-control-allow-credentials'), null);

  for (const base of [`${server.urls.http}/hustdb`, server.urls.hustdbPort!]) {
    const put = await fetch(`${base}/put?key=k&val=v`, { headers: { origin } });
    t.is(put.status, 200);
    t.is(put.headers.get('access-control-allow-origin'), origin, base);
    t.is(put.headers.get('vary'), 'Origin');
    t.true((put.headers.get('access-control-expose-headers') ?? '').split(', ').includes('version'), `Version is readable: ${put.headers.get('access-control-expose-headers')}`);
  }
  // errors keep the headers too, so a browser can read why it was refused
  const bad = await fetch(`${server.urls.http}/hustdb/get`, { headers: { origin } });
  t.is(bad.status, 400);
  t.is(bad.headers.get('access-control-allow-origin'), origin);
  const other = await fetch(`${server.urls.http}/hustmq/put?queue=q&item=x`, { headers: { origin: 'https://evil.example' } });
  t.is(other.status, 200);
  t.is(other.headers.get('access-control-allow-origin'), null);
  const otherPreflight = await fetch(`${server.urls.http}/esub/rep/k`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
  t.is(otherPreflight.status, 403);
  t.is(await otherPreflight.text(), 'origin https://evil.example is not allowed\n');
  const health = await fetch(`${server.urls.http}/healthz`, { headers: { origin } });
  t.is(health.headers.get('access-control-allow-origin'), null, '/healthz is not a bridge');
});

test('CORS with "*": any origin, and with credentials the origin is echoed', async (t) => {
  const open = await startTestServer(t, undefined, { cors: { allowedOrigins: ['*'] } });
  const res = await fetch(`${open.urls.http}/esub/ping`, { headers: { origin: 'https://any.example' } });
  t.is(res.headers.get('access-control-allow-origin'), '*');
  const creds = await startTestServer(t, undefined, { cors: { allowedOrigins: ['*'], allowCredentials: true } });
  const withCreds = await fetch(`${creds.urls.http}/esub/ping`, { headers: { origin: 'https://any.example' } });
  t.is(withCreds.headers.get('access-control-allow-origin'), 'https://any.example');
  t.is(withCreds.headers.get('access-control-allow-credentials'), 'true');
});

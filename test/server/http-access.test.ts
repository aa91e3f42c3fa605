// http.access: /metrics and /healthz (and whatever the server mounts behind its guard, e.g. the
// dashboard) answer the listed addresses (loopback by default) and, from anywhere, the listed
// principals by Basic auth; others get 401 (credentials needed or wrong) or 403, with a body.
import test from 'ava';
import type { RealmConfig } from '../../lib/core/config.ts';
import { checkConfigFile } from '../../server/config.ts';
import { guarded } from '../../server/http-access.ts';
import { startTestServer } from '../helpers/server.ts';

const basic = (user: string, password: string): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

const realm: RealmConfig = {
  name: 'realm1',
  roles: [{ name: 'ops', permissions: [] }],
  auth: { anonymous: { role: 'ops' }, ticket: { prom: { ticket: 'scrape', role: 'ops' }, other: { ticket: 'o', role: 'ops' } }, wampcra: { cra: { secret: 'k', role: 'ops' } } },
};

test('default: /metrics and /healthz answer localhost', async (t) => {
  const server = await startTestServer(t);
  t.is((await fetch(`${server.urls.http}/metrics`)).status, 200);
  t.is((await fetch(`${server.urls.http}/healthz`)).status, 200);
});

test('addresses that leave out 127.0.0.1: 401 without or with wrong credentials, 403 for an unlisted principal, 200 for a listed one', async (t) => {
  const server = await startTestServer(t, { realms: [realm] }, { http: { access: { addresses: ['10.0.0.0/8', '::1'], principals: ['prom', 'cra'] } } });
  for (const path of ['/metrics', '/healthz']) {
    const none = await fetch(`${server.urls.http}${path}`);
    t.is(none.status, 401, path);
    t.regex(none.headers.get('www-authenticate') ?? '', /^Basic/);
    t.regex(await none.text(), new RegExp(`${path} needs the credentials`));
    t.is((await fetch(`${server.urls.http}${path}`, { headers: basic('prom', 'wrong') })).status, 401);
    const other = await fetch(`${server.urls.http}${path}`, { headers: basic('other', 'o') });
    t.is(other.status, 403, 'a valid principal that is not listed');
    t.regex(await other.text(), /not open to this address or principal/);
    const ok = await fetch(`${server.urls.http}${path}`, { headers: basic('prom', 'scrape') });
    t.is(ok.status, 200);
    t.is((await fetch(`${server.urls.http}${path}`, { headers: basic('cra', 'k') })).status, 401, 'a wampcra secret is no password');
  }
  const metrics = await (await fetch(`${server.urls.http}/metrics`, { headers: basic('prom', 'scrape') })).text();
  t.regex(metrics, /kitsune_mqtt_forbidden_publishes_total 0/);
  t.regex(metrics, /kitsune_http_access_refused_total\{status="401"\} 6/, 'each refusal counted');
  t.regex(metrics, /kitsune_http_access_refused_total\{status="403"\} 2/);
});

test('no address and no principal listed: 403 for everyone; a CIDR that covers loopback lets it in', async (t) => {
  const closed = await startTestServer(t, { realms: [realm] }, { http: { access: { addresses: [] } } });
  t.is((await fetch(`${closed.urls.http}/metrics`)).status, 403);
  t.is((await fetch(`${closed.urls.http}/metrics`, { headers: basic('prom', 'scrape') })).status, 403);
  const wide = await startTestServer(t, { realms: [realm] }, { http: { access: { addresses: ['127.0.0.0/8'] } } });
  t.is((await fetch(`${wide.urls.http}/healthz`)).status, 200);
});

test('the guard is exported for other endpoints (the dashboard mounts behind it)', async (t) => {
  const server = await startTestServer(t, { realms: [realm] }, { http: { access: { addresses: ['10.1.2.3'], principals: ['prom'] } } });
  server.http.mount('/extra', guarded(server.httpAccess, '/extra', (_req, res) => res.end('inside')));
  t.is((await fetch(`${server.urls.http}/extra`)).status, 401);
  const ok = await fetch(`${server.urls.http}/extra`, { headers: basic('prom', 'scrape') });
  t.is(await ok.text(), 'inside');
});

test('the config check names a hustmq user acting as a principal that does not exist', (t) => {
  const err = t.throws(() => checkConfigFile({ realms: [realm], hustmq: { auth: { users: { feeder: { password: 'x', principal: 'ghost' } } } } }, 'k.json'));
  t.regex(err.message, /hustmq\.auth\.users\.feeder\.principal: "ghost" is not a ticket or wampcra principal of realm "realm1"/);
});

test('the config check names a bad address', (t) => {
  const err = t.throws(() => checkConfigFile({ http: { access: { addresses: ['127.0.0.1', 'localhost', '10.0.0.0/33'] } } }, 'k.json'));
  t.regex(err.message, /http\.access\.addresses\[1\]: "localhost" is not an IP address/);
  t.regex(err.message, /http\.access\.addresses\[2\]: "10\.0\.0\.0\/33": the prefix length must be 0\.\.32/);
});

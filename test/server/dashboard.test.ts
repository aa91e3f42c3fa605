// The live dashboard at /dashboard, opened in headless Chromium: it counts sessions, subscriptions,
// registrations, queues and locks as real clients come and go, draws the message rates from
// kitsune.stats.get as real clients publish, and shows "not permitted" where the realm's permissions refuse its role. Plus
// the static files' safety: only the known files, by GET/HEAD, nothing else under /dashboard.
import http from 'node:http';
import test from 'ava';
import type { Browser, Page } from 'puppeteer-core';
import { callError, openAutobahn } from '../helpers/autobahn.ts';
import { launchBrowser, type HeadlessBrowser } from '../helpers/browser.ts';
import { connect } from '../helpers/mqtt-harness.ts';
import { startTestServer } from '../helpers/server.ts';
import type { RealmConfig } from '../../lib/core/config.ts';
import { checkConfigFile, type ConfigError } from '../../server/config.ts';

let chromium: HeadlessBrowser | undefined;
test.before(async () => {
  chromium = await launchBrowser();
});
test.after.always(async () => {
  await chromium?.close();
});

function browser(): Browser {
  if (!chromium) throw new Error('no browser');
  return chromium.browser;
}

/** Opens the dashboard in a new tab; `errors` collects the page's uncaught script errors. */
async function openDashboard(t: import('ava').ExecutionContext, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser().newPage();
  t.teardown(() => page.close().catch(() => {}));
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors };
}

const text = (page: Page, id: string): Promise<string> => page.$eval(`#${id}`, (el) => el.textContent ?? '');

/** Waits until the element's text satisfies `ok`; the message names what was expected and what was seen. */
async function waitText(page: Page, id: string, ok: (s: string) => boolean, what: string, ms = 8_000): Promise<string> {
  const deadline = Date.now() + ms;
  let seen = '';
  while (Date.now() < deadline) {
    seen = await text(page, id);
    if (ok(seen)) return seen;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`#${id}: expected ${what}, saw ${JSON.stringify(seen)}`);
}

const num = (s: string): number => (/^[\d,]+$/.test(s) ? Number(s.replaceAll(',', '')) : NaN);
const isNumber = (s: string): boolean => !Number.isNaN(num(s));

test('sessions, subscriptions, registrations, queues and locks change live as clients act', async (t) => {
  const server = await startTestServer(t);
  const { page, errors } = await openDashboard(t, server.urls.dashboard!);
  await waitText(page, 'status', (s) => s.startsWith('connected to realm realm1'), 'connected');
  const sessions0 = num(await waitText(page, 'sessions-count', isNumber, 'a session count'));
  const subs0 = num(await waitText(page, 'subscriptions-count', isNumber, 'a subscription count'));
  const regs0 = num(await waitText(page, 'registrations-count', isNumber, 'a registration count'));

  // three clients: two WAMP (autobahn), one MQTT over WebSocket (mqtt.js)
  const a = await openAutobahn(t, server.urls);
  const b = await openAutobahn(t, server.urls);
  const m = await connect(server.urls.mqttWs!);
  t.teardown(() => m.endAsync());
  await waitText(page, 'sessions-count', (s) => num(s) === sessions0 + 3, `${sessions0 + 3} sessions`);
  await waitText(page, 'sessions-protocols', (s) => /wamp 3\b/.test(s) && /mqtt 1\b/.test(s), 'wamp 3 (the page and two clients), mqtt 1');
  await waitText(page, 'sessions-table', (s) => s.includes(String(a.session.id)), "a client's session id in the table");

  await a.session.subscribe('demo.temperature', () => {});
  await m.subscribeAsync('demo/humidity');
  await b.session.register('demo.add', (args?: unknown[]) => (args as number[]).reduce((x, y) => x + y, 0));
  await waitText(page, 'subscriptions-count', (s) => num(s) === subs0 + 2, `${subs0 + 2} subscriptions`);
  await waitText(page, 'registrations-count', (s) => num(s) === regs0 + 1, `${regs0 + 1} registrations`);
  await waitText(page, 'subscriptions-table', (s) => s.includes('demo.temperature') && s.includes('demo/humidity'), 'both topics listed, as their clients wrote them');
  await waitText(page, 'registrations-table', (s) => s.includes('demo.add'), 'the procedure listed');

  // a resource lock, and a queue through the hustmq bridge
  await a.session.publish('res.printer', ['a'], {}, { acknowledge: true, retain: true, when: null, will: null, watch: true } as object);
  await waitText(page, 'locks-held', (s) => num(s) === 1, '1 lock held');
  for (let i = 0; i < 3; i++) t.is((await fetch(`${server.urls.hustmq}/put?queue=jobs`, { method: 'POST', body: `job ${i}` })).status, 200);
  await waitText(page, 'queues-count', (s) => num(s) === 1, '1 queue');
  await waitText(page, 'queues-table', (s) => s.includes('jobs') && s.includes('3'), 'jobs with 3 ready');

  // the bridge acts as an in-process session of the anonymous role, made on its first request
  const sessions1 = sessions0 + 4;
  await waitText(page, 'sessions-count', (s) => num(s) === sessions1, `${sessions1} sessions with the bridge's`);

  // clients leave: the counts follow
  await b.connection.close();
  await m.endAsync();
  await waitText(page, 'sessions-count', (s) => num(s) === sessions1 - 2, `${sessions1 - 2} sessions after two left`);
  await waitText(page, 'registrations-count', (s) => num(s) === regs0, 'the callee left, its registration went');
  await waitText(page, 'subscriptions-count', (s) => num(s) === subs0 + 1, "the MQTT client's subscription went");
  t.deepEqual(errors, [], 'no script errors in the page');
});

test('message rates: real MQTT traffic shows as a rate and moves the chart', async (t) => {
  const server = await startTestServer(t);
  const { page, errors } = await openDashboard(t, server.urls.dashboard!);
  await waitText(page, 'status', (s) => s.startsWith('connected'), 'connected');
  // a real publisher and two subscribers (so the out line is twice the in line, not drawn over it):
  // the gates count every PUBLISH in and out
  for (let i = 0; i < 2; i++) {
    const sub = await connect(server.urls.mqttWs!);
    t.teardown(() => sub.endAsync());
    await sub.subscribeAsync('rates/#');
  }
  const pub = await connect(server.urls.mqttWs!);
  t.teardown(() => pub.endAsync());
  const timer = setInterval(() => {
    for (let i = 0; i < 25; i++) pub.publish(`rates/${i}`, 'x');
  }, 50);
  t.teardown(() => clearInterval(timer));
  // about 500 in and 1,000 out per second; any clearly non-zero rate proves the counting reaches the page
  const total = num(await waitText(page, 'rate-total', (s) => num(s) >= 200, 'a rate of hundreds per second', 15_000));
  t.true(total < 100_000, `rate ${total}/s`);
  // a few more one-second samples, so the lines run level for a stretch of the chart
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const legend = await text(page, 'chart-legend');
  t.regex(legend, /MQTT in[\d,]+\/s/);
  const painted = await page.$eval('#rate-chart', (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let coloured = 0;
    // the MQTT-in line's orange (#e8590c), give or take antialiasing
    for (let i = 0; i < data.length; i += 4) if (data[i]! > 200 && data[i + 1]! > 60 && data[i + 1]! < 120 && data[i + 2]! < 60) coloured++;
    return coloured;
  });
  t.true(painted > 20, `the MQTT-in line is drawn (${painted} pixels)`);
  t.deepEqual(errors, [], 'no script errors in the page');
});

const lockedDown: RealmConfig = {
  name: 'realm1',
  roles: [
    { name: 'anonymous', permissions: [{ uri: 'public.', match: 'prefix', allow: { subscribe: true, call: true } }] },
    { name: 'ops', permissions: [{ uri: '', match: 'prefix', allow: { publish: true, subscribe: true, call: true, register: true } }] },
    // the read-only role docs/configuration.md suggests for the dashboard
    {
      name: 'monitor',
      permissions: [
        { uri: 'wamp.session.list', allow: { call: true } },
        { uri: 'wamp.session.get', allow: { call: true } },
        { uri: 'wamp.session.on_', match: 'prefix', allow: { subscribe: true } },
        { uri: 'wamp.subscription.', match: 'prefix', allow: { call: true, subscribe: true } },
        { uri: 'wamp.registration.', match: 'prefix', allow: { call: true, subscribe: true } },
        { uri: 'kitsune.stats.get', allow: { call: true } },
      ],
    },
  ],
  auth: { anonymous: { role: 'anonymous' }, ticket: { operator: { ticket: 'op-secret', role: 'ops' }, watcher: { ticket: 'w-secret', role: 'monitor' } } },
};

test('a role the realm does not let call the meta API sees "not permitted"; a ticket login sees the data', async (t) => {
  const server = await startTestServer(t, { realms: [lockedDown] });
  const { page, errors } = await openDashboard(t, server.urls.dashboard!);
  await waitText(page, 'status', (s) => s.includes('(anonymous)'), 'connected as anonymous');
  for (const panel of ['stats', 'sessions', 'subscriptions', 'registrations', 'queues']) {
    await waitText(page, `${panel}-notice`, (s) => s.includes('not permitted'), `"not permitted" in the ${panel} panel`);
  }
  t.is(await text(page, 'sessions-count'), '–', 'no count shown without permission');
  t.is(await text(page, 'sessions-table'), '–');

  await page.type('#login-authid', 'watcher');
  await page.type('#login-ticket', 'w-secret');
  await page.click('#login button');
  await waitText(page, 'status', (s) => s.includes('as watcher (monitor)'), 'connected as watcher');
  await waitText(page, 'sessions-count', isNumber, 'a session count');
  await waitText(page, 'sessions-table', (s) => s.includes('watcher'), 'its own session listed');
  for (const panel of ['stats', 'sessions', 'subscriptions', 'registrations', 'queues']) {
    t.true(await page.$eval(`#${panel}-notice`, (el) => (el as HTMLElement).hidden), `no notice in the ${panel} panel`);
  }

  await page.type('#login-ticket', 'x');
  await page.click('#login button');
  await waitText(page, 'status', (s) => s.startsWith('refused by the router') && s.includes('wamp.error.authentication_failed'), 'a wrong ticket refused');
  t.deepEqual(errors, [], 'no script errors in the page');
});

test('kitsune.stats.get answers the realm sizes, and is refused like any procedure', async (t) => {
  const server = await startTestServer(t, { realms: [lockedDown] });
  const anonymous = await openAutobahn(t, server.urls);
  t.is((await callError(anonymous.session.call('kitsune.stats.get'))).error, 'wamp.error.not_authorized');
  const ops = await openAutobahn(t, server.urls, { authid: 'operator', authmethods: ['ticket'], onchallenge: () => 'op-secret' });
  const before = (await ops.session.call('kitsune.stats.get')) as { subscriptions: number; registrations: number; retained: number };
  await ops.session.subscribe('x.y', () => {});
  await ops.session.publish('res.one', ['held'], {}, { acknowledge: true, retain: true, when: null, will: null, watch: true } as object);
  const stats = (await ops.session.call('kitsune.stats.get')) as Record<string, unknown>;
  t.like(stats, { realm: 'realm1', subscriptions: before.subscriptions + 1, registrations: before.registrations, retained: before.retained + 1, locks: { held: 1, waiting: 0 }, queues: { count: 0, ready: 0, unacked: 0, deepest: [] }, nodes: null });
  t.like(stats.sessionsByProtocol, { wamp: 2 });
  const { traffic } = stats.router as { traffic: Record<string, Record<string, unknown>> };
  for (const protocol of ['wamp', 'mqtt']) {
    t.deepEqual(Object.keys(traffic[protocol]!).sort(), ['bytesIn', 'bytesOut', 'deliveries', 'messagesIn', 'messagesOut'], `traffic.${protocol}`);
    t.true(Object.values(traffic[protocol]!).every((v) => typeof v === 'number'));
  }
});

/** A raw GET (no URL normalisation on the client side, unlike fetch). */
function rawRequest(base: string, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('static files: only the known ones, with their types; traversal and other methods refused', async (t) => {
  const server = await startTestServer(t);
  const base = server.urls.http!;
  const redirect = await rawRequest(base, '/dashboard?realm=other');
  t.is(redirect.status, 301);
  t.is(redirect.headers.location, 'dashboard/?realm=other');
  const index = await rawRequest(base, '/dashboard/');
  t.is(index.status, 200);
  t.is(index.headers['content-type'], 'text/html; charset=utf-8');
  t.is(index.headers['cache-control'], 'no-cache');
  t.is(index.headers['x-content-type-options'], 'nosniff');
  t.regex(String(index.headers['content-security-policy']), /connect-src 'self'/);
  t.regex(index.body, /<title>kitsune dashboard<\/title>/);
  t.is((await rawRequest(base, '/dashboard/index.html')).body, index.body);
  const js = await rawRequest(base, '/dashboard/dashboard.js');
  t.is(js.headers['content-type'], 'text/javascript; charset=utf-8');
  t.is((await rawRequest(base, '/dashboard/dashboard.css')).headers['content-type'], 'text/css; charset=utf-8');
  t.deepEqual(JSON.parse((await rawRequest(base, '/dashboard/config.json')).body), { realm: 'realm1' });
  t.is((await rawRequest(base, '/dashboard/dashboard.js', 'GET', { 'if-none-match': String(js.headers.etag) })).status, 304);
  const head = await rawRequest(base, '/dashboard/dashboard.js', 'HEAD');
  t.is(head.status, 200);
  t.is(head.headers['content-length'], String(Buffer.byteLength(js.body)));

  for (const path of ['/dashboard/../package.json', '/dashboard/..%2f..%2fpackage.json', '/dashboard/%2e%2e/server/dashboard.ts', '/dashboard//etc/passwd', '/dashboard/dashboard.js/', '/dashboard/Dashboard.js', '/dashboard/nope.js', '/dashboard/index.html%00.js', '/dashboard/.']) {
    const res = await rawRequest(base, path);
    t.is(res.status, 404, path);
    t.is(res.body, 'no such dashboard file\n', path);
  }
  const post = await rawRequest(base, '/dashboard/index.html', 'POST');
  t.is(post.status, 405);
  t.is(post.headers.allow, 'GET, HEAD');
  t.is((await rawRequest(base, '/dashboardx')).status, 404, 'a sibling path is not the dashboard');
  // the query goes along only while it is short (Node's parser already refuses bytes a header could not hold)
  t.is((await rawRequest(base, `/dashboard?realm=${'r'.repeat(3000)}`)).headers.location, 'dashboard/');

  const off = await startTestServer(t, undefined, { dashboard: { enabled: false } });
  t.false('dashboard' in off.urls);
  t.is((await rawRequest(off.urls.http!, '/dashboard/')).status, 404);
});

test('the page\'s WebSocket is WAMP at /dashboard/ws, whatever websocket.paths says; other sockets under /dashboard get 404', async (t) => {
  const server = await startTestServer(t, undefined, { websocket: { paths: { '/ws': 'mqtt' } } });
  const { default: WebSocket } = await import('ws');
  const open = (path: string, protocol: string): Promise<string> =>
    new Promise((resolve) => {
      const ws = new WebSocket(`${server.urls.http!.replace('http', 'ws')}${path}`, [protocol]);
      ws.on('open', () => {
        resolve(`open ${ws.protocol}`);
        ws.close();
      });
      ws.on('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
      ws.on('error', () => {});
    });
  t.is(await open('/dashboard/ws', 'wamp.2.json'), 'open wamp.2.json');
  t.is(await open('/dashboard/other', 'wamp.2.json'), 'refused 404');
  t.is(await open('/dashboard/ws', 'mqtt'), 'refused 400', "the WAMP gate refuses a subprotocol it does not speak");
});

test('config: dashboard.realm must be a configured realm; dashboard keys are checked like any other', (t) => {
  const problems = (file: unknown): string[] => {
    try {
      checkConfigFile(file, 'k.json');
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };
  t.deepEqual(problems({ realms: [lockedDown], dashboard: { realm: 'realm1', enabled: true } }), []);
  t.deepEqual(problems({ realms: [lockedDown], dashboard: { realm: 'ops' } }), ['k.json: dashboard.realm: "ops" is not a configured realm (realms: realm1)']);
  t.deepEqual(problems({ dashboard: { enabled: 'yes' } }), ['k.json: dashboard.enabled: "yes" is not true or false']);
  t.deepEqual(problems({ dashboard: { path: '/x' } }), ['k.json: dashboard.path: unknown key (allowed: enabled, realm)']);
});

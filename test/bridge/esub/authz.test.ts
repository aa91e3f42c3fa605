// esub bridge authorization: subs and psubs register `esub.<key>` and reps call it as the request's
// identity (the realm's anonymous role, or the principal of its Basic or bearer credentials), so
// the realm's permissions decide: 401 for missing or wrong credentials, 403 with a body naming the
// procedure where the role forbids it (never a 500). /metrics is guarded like the server's.
import test from 'ava';
import WebSocket from 'ws';
import type { RealmConfig } from '../../../lib/core/config.ts';
import { connectWs, http, keys, startEsub, waitFor } from '../../helpers/esub.ts';

const basic = (user: string, password: string): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

/** Anonymous may only subscribe to `public.`; alice may serve and send on `esub.`; carol may only send. */
const realm: RealmConfig = {
  name: 'realm1',
  roles: [
    { name: 'anonymous', permissions: [{ uri: 'public.', match: 'prefix', allow: { subscribe: true } }] },
    { name: 'server', permissions: [{ uri: 'esub.', match: 'prefix', allow: { call: true, register: true } }] },
    { name: 'sender', permissions: [{ uri: 'esub.', match: 'prefix', allow: { call: true } }] },
  ],
  auth: { anonymous: { role: 'anonymous' }, ticket: { alice: { ticket: 'a-secret', role: 'server' }, carol: { ticket: 'c-secret', role: 'sender' } } },
};

/** The status of a WebSocket upgrade the server refuses. */
function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', () => undefined);
  });
}

test('anonymous (may only subscribe to public.) may not sub, psub, rep or rsub: 403 naming the procedure, nothing registered', async (t) => {
  const s = await startEsub(t, { storeMode: 'unclaimed' }, {}, { realms: [realm] });
  const sub = await http(`${s.base}/sub/k1`);
  t.is(sub.status, 403);
  t.regex(sub.body, /not authorized to register 'esub\.k1'/);
  const rep = await http(`${s.base}/rep/k1`, { method: 'POST', body: 'hello' });
  t.is(rep.status, 403);
  t.regex(rep.body, /not authorized to call 'esub\.k1'/);
  t.is(rep.headers.get('X-Esub-Stored'), null, 'a forbidden rep is not stored');
  const rsub = await http(`${s.base}/rsub/k1`);
  t.is(rsub.status, 403);
  t.regex(rsub.body, /not authorized to register 'esub\.k1'/);
  t.is(await refusedUpgrade(`${s.ws}/psub/k1`), 403);
  t.deepEqual(await keys(s.base), []);
  t.is(s.server.router.realm('realm1').dealer.byId.size, 0);
});

test('a principal whose role allows it: a sub by alice gets a rep by carol; carol may not sub; wrong credentials 401', async (t) => {
  const s = await startEsub(t, {}, {}, { realms: [realm] });
  const pending = http(`${s.base}/sub/k2`, { headers: basic('alice', 'a-secret') });
  await waitFor(async () => (await keys(s.base)).includes('k2'), 5000, 'the sub');
  const rep = await http(`${s.base}/rep/k2`, { method: 'POST', body: 'hello', headers: { Authorization: 'Bearer c-secret', 'Kitsune-Authid': 'carol' } });
  t.is(rep.status, 200);
  t.is((await pending).body, 'hello');
  const refused = await http(`${s.base}/sub/k3`, { headers: basic('carol', 'c-secret') });
  t.is(refused.status, 403);
  for (const headers of [basic('alice', 'wrong'), basic('mallory', 'a-secret'), { Authorization: 'Bearer a-secret' }]) {
    const r = await http(`${s.base}/sub/k4`, { headers });
    t.is(r.status, 401, JSON.stringify(headers));
    t.truthy(r.headers.get('WWW-Authenticate'));
    t.true(r.body.length > 0);
  }
  t.is(await refusedUpgrade(`${s.ws}/psub/k5`, basic('alice', 'wrong')), 401);
});

test('psub and prep act as their upgrade request\'s identity', async (t) => {
  const s = await startEsub(t, {}, {}, { realms: [realm] });
  const member = await connectWs(t, `${s.ws}/psub/k6`, { headers: basic('alice', 'a-secret') });
  await waitFor(async () => (await keys(s.base)).includes('k6'), 5000, 'the psub');
  t.is(await refusedUpgrade(`${s.ws}/psub/k7`, basic('carol', 'c-secret')), 403, 'carol may not register');
  const prep = await connectWs(t, `${s.ws}/prep`, { headers: basic('carol', 'c-secret') });
  prep.ws.send(JSON.stringify({ key: 'k6', token: '', psub: true, data: 'via prep' }));
  await member.count(1);
  t.deepEqual(member.texts(), ['via prep']);
  // an anonymous prep socket opens (it may serve nothing yet), but its reps are refused
  const anonPrep = await connectWs(t, `${s.ws}/prep`);
  anonPrep.ws.send(JSON.stringify({ key: 'k6', token: '', psub: true, data: 'forbidden' }));
  const rep = await http(`${s.base}/rep/k6?psub=1`, { method: 'POST', body: 'second', headers: basic('carol', 'c-secret') });
  t.is(rep.status, 200);
  await member.count(2);
  t.deepEqual(member.texts(), ['via prep', 'second'], 'the anonymous prep message never arrived');
});

test('/metrics and /keys of the bridge: the same access as the server\'s /metrics', async (t) => {
  const open = await startEsub(t, {}, {}, { realms: [realm] });
  t.is((await http(`${open.base}/metrics`)).status, 200, 'from localhost by default');
  t.is((await http(`${open.base}/keys`)).status, 204, 'no keys yet, from localhost by default');
  const s = await startEsub(t, {}, { http: { access: { addresses: ['10.0.0.0/8'], principals: ['alice'] } } }, { realms: [realm] });
  const r = await http(`${s.base}/metrics`);
  t.is(r.status, 401);
  t.regex(r.body, /metrics/);
  t.is((await http(`${s.base}/metrics`, { headers: basic('carol', 'c-secret') })).status, 403);
  t.is((await http(`${s.base}/metrics`, { headers: basic('alice', 'a-secret') })).status, 200);
  t.is((await http(`${s.base}/keys`)).status, 401, 'the subscribed keys are state too');
  t.is((await http(`${s.base}/keys`, { headers: basic('carol', 'c-secret') })).status, 403);
  t.is((await http(`${s.base}/keys`, { headers: basic('alice', 'a-secret') })).status, 204);
});

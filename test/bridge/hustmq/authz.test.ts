// hustmq bridge authorization: requests act as the realm's anonymous role or as the principal
// their credentials prove (Basic, or a bearer ticket with Kitsune-Authid), and every queue, push
// and RPC operation is checked like a WAMP client's: 401 for missing or wrong credentials, 403
// with a body naming the URI where the role forbids it. stat_all is guarded like /metrics.
import test from 'ava';
import type { RealmConfig } from '../../../lib/core/config.ts';
import { startHustmq } from '../../helpers/hustmq.ts';
import { until } from '../../helpers/wait.ts';

const basic = (user: string, password: string): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const bearer = (authid: string, ticket: string): Record<string, string> => ({ Authorization: `Bearer ${ticket}`, 'Kitsune-Authid': authid });

/** Anonymous may only subscribe to `public.`; alice (ticket) may do everything under `hustmq.`; bob may only read queues. */
const realm: RealmConfig = {
  name: 'realm1',
  roles: [
    { name: 'anonymous', permissions: [{ uri: 'public.', match: 'prefix', allow: { subscribe: true } }] },
    { name: 'worker', permissions: [{ uri: 'hustmq.', match: 'prefix', allow: { publish: true, subscribe: true, call: true, register: true } }] },
    { name: 'reader', permissions: [{ uri: 'hustmq.', match: 'prefix', allow: { subscribe: true } }] },
  ],
  auth: { anonymous: { role: 'anonymous' }, ticket: { alice: { ticket: 'a-secret', role: 'worker' }, bob: { ticket: 'b-secret', role: 'reader' } } },
};

test('anonymous (may only subscribe to public.) is refused every queue, push and RPC operation with 403 naming the URI', async (t) => {
  const mq = await startHustmq(t, {}, {}, { realms: [realm] });
  const refusals: [string, RequestInit?][] = [
    ['/put?queue=q1&item=x'],
    ['/get?queue=q1&worker=w1234'],
    ['/evget?queue=q1&worker=w1234'],
    ['/ack?peer=0&queue=q1&token=0:1'],
    ['/lock?queue=q1&on=1'],
    ['/max?queue=q1&num=5'],
    ['/purge?queue=q1&priori=0'],
    ['/timeout?queue=q1&minute=1'],
    ['/worker?queue=q1'],
    ['/stat?queue=q1'],
    ['/pub?queue=p1&item=x'],
    ['/sub?queue=p1&idx=0'],
    ['/evsub?queue=p1&idx=0'],
    ['/do_get?queue=job', { method: 'POST', body: 'task' }],
    ['/do_post?queue=job', { method: 'POST' }],
    ['/do_post', { method: 'POST' }],
  ];
  for (const [path, init] of refusals) {
    const r = await mq.req(path, init);
    t.is(r.status, 403, path);
    t.regex(r.text, /not authorized to (publish|subscribe|call|register) 'hustmq\.(push\.|do)?/, path);
  }
  // nothing happened: the queue was never created, nobody registered the task procedure
  t.is(await mq.local.queues.stat('q1'), null);
  t.is(mq.server.router.realm('realm1').dealer.byId.size, 0);
  t.is((await mq.req('/version')).status, 200, 'the version stays open');
});

test('a principal whose role allows it: Basic or bearer credentials put and get; a reader may get but not put; wrong credentials 401', async (t) => {
  const mq = await startHustmq(t, {}, {}, { realms: [realm] });
  t.is((await mq.req('/put?queue=q1&item=one', { headers: basic('alice', 'a-secret') })).status, 200);
  t.is((await mq.req('/put?queue=q1&item=two', { headers: bearer('alice', 'a-secret') })).status, 200);
  const got = await mq.req('/get?queue=q1&worker=w1234', { headers: basic('bob', 'b-secret') });
  t.is(got.status, 200);
  t.is(got.text, 'one');
  const put = await mq.req('/put?queue=q1&item=three', { headers: basic('bob', 'b-secret') });
  t.is(put.status, 403);
  t.regex(put.text, /not authorized to publish 'hustmq\.q1'/);
  t.is((await mq.req('/pub?queue=p1&item=x', { headers: basic('alice', 'a-secret') })).status, 200);
  t.is((await mq.req('/sub?queue=p1&idx=1', { headers: basic('bob', 'b-secret') })).text, 'x');

  for (const headers of [basic('alice', 'wrong'), basic('nobody', 'a-secret'), bearer('alice', 'wrong'), { Authorization: 'Bearer a-secret' }, { Authorization: 'Digest x' }]) {
    const r = await mq.req('/get?queue=q1&worker=w1234', { headers });
    t.is(r.status, 401, JSON.stringify(headers));
    t.truthy(r.headers.get('WWW-Authenticate'));
    t.true(r.text.length > 0);
  }
  t.is((await mq.local.queues.stat('q1'))?.ready[0], 1, 'only the refused put is missing');
});

test('RPC: do_post needs register and do_get needs call on hustmq.do.<Q>', async (t) => {
  const mq = await startHustmq(t, { doPostTimeoutMs: 5_000, doGetTimeoutMs: 5_000 }, {}, { realms: [realm] });
  const worker = mq.req('/do_post?queue=job', { method: 'POST', headers: basic('alice', 'a-secret') });
  await until(() => mq.server.router.realm('realm1').dealer.byId.size === 1, 3_000, 'the worker registered');
  const refused = await mq.req('/do_get?queue=job', { method: 'POST', body: 'task', headers: basic('bob', 'b-secret') });
  t.is(refused.status, 403);
  t.regex(refused.text, /not authorized to call 'hustmq\.do\.job'/);
  const caller = mq.req('/do_get?queue=job', { method: 'POST', body: 'task', headers: basic('alice', 'a-secret') });
  const task = await worker;
  t.is(task.status, 200);
  t.is(task.text, 'task');
  const token = task.headers.get('Token');
  t.truthy(token);
  t.is((await mq.req(`/do_post?token=${token}`, { method: 'POST', body: 'done', headers: basic('alice', 'a-secret') })).status, 200);
  t.is((await caller).text, 'done');
});

test('no anonymous role and no credentials: 401; the bridge authrole option sets the role of requests without credentials', async (t) => {
  const closed: RealmConfig = { ...realm, auth: { ticket: realm.auth.ticket } };
  const mq = await startHustmq(t, {}, {}, { realms: [closed] });
  const r = await mq.req('/put?queue=q1&item=x');
  t.is(r.status, 401);
  t.truthy(r.headers.get('WWW-Authenticate'));
  t.is((await mq.req('/put?queue=q1&item=x', { headers: basic('alice', 'a-secret') })).status, 200);

  const open = await startHustmq(t, { authrole: 'reader' }, {}, { realms: [realm] });
  t.is((await open.req('/put?queue=q2&item=x')).status, 403);
  t.is((await open.req('/get?queue=q2&worker=w1234')).status, 404, 'reader may get: the queue is just empty');
});

test('the bridge\'s own Basic users still gate every route but the exempt ones, and may act as a principal', async (t) => {
  const mq = await startHustmq(t, { auth: { users: { ops: 'pw', feeder: { password: 'fw', principal: 'alice' } } } }, {}, { realms: [realm] });
  t.is((await mq.req('/stat_all')).status, 401, 'not exempt: credentials needed before anything else');
  t.is((await mq.req('/put?queue=q1&item=x', { headers: basic('ops', 'pw') })).status, 403, 'a user without a principal acts with the anonymous role');
  t.is((await mq.req('/put?queue=q1&item=x', { headers: basic('feeder', 'fw') })).status, 200);
  t.is((await mq.req('/put?queue=q1&item=y', { headers: basic('alice', 'a-secret') })).status, 200, 'realm principals log in too');
  t.is((await mq.req('/put?queue=q1&item=x', { headers: basic('feeder', 'nope') })).status, 401);
  t.is((await mq.req('/get?queue=q1&worker=w1234')).status, 403, 'exempt from the user check, still checked against the anonymous role');
});

test('stat_all reveals every queue: the same access as /metrics (http.access)', async (t) => {
  const mq = await startHustmq(t, {}, {}, { realms: [realm] });
  t.is((await mq.req('/stat_all')).status, 200, 'from localhost by default');
  const guarded = await startHustmq(t, {}, { http: { access: { addresses: [], principals: ['alice'] } } }, { realms: [realm] });
  const r = await guarded.req('/stat_all');
  t.is(r.status, 401);
  t.regex(r.text, /stat_all/);
  t.is((await guarded.req('/stat_all', { headers: basic('bob', 'b-secret') })).status, 403);
  t.is((await guarded.req('/stat_all', { headers: basic('alice', 'a-secret') })).status, 200);
});

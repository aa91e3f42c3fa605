// esub phases 3 and 4 on a single node: cluster routes behind the shared cluster token, /keys by
// node, HEAD with the Location of the key where this node holds it (404 Unknown key elsewhere).
import test from 'ava';
import { http, psub, rep, startEsub, sub } from '../../helpers/esub.ts';

test('cluster routes need the shared cluster token', async (t) => {
  const off = await startEsub(t);
  const r = await http(`${off.base}/members`);
  t.is(r.status, 403);
  t.is(r.body, 'Cluster token not configured');

  const s = await startEsub(t, { clusterToken: 'ct', nodeIp: '10.0.0.5', nodeName: 'n1' });
  for (const [method, p] of [
    ['GET', '/members'],
    ['POST', '/join'],
    ['POST', '/announce'],
  ] as const) {
    const bad = await http(`${s.base}${p}?token=wrong`, { method, body: method === 'POST' ? '{}' : undefined });
    t.is(bad.status, 403, p);
    t.is(bad.body, 'Invalid token');
  }
  const m = await http(`${s.base}/members?token=ct`);
  t.is(m.status, 200);
  t.is(m.headers.get('content-type'), 'application/json');
  t.deepEqual(JSON.parse(m.body), [{ name: 'n1', ip: '10.0.0.5', url: s.base, self: true }]);
});

test('/join and /announce are accepted with the token and check their bodies', async (t) => {
  const s = await startEsub(t, { clusterToken: 'ct' });
  t.is((await http(`${s.base}/join?token=ct`, { method: 'POST', body: '{"url":"http://10.0.0.9:8090"}' })).body, 'OK');
  const badJoin = await http(`${s.base}/join?token=ct`, { method: 'POST', body: '{"nothing":1}' });
  t.is(badJoin.status, 400);
  t.is(badJoin.body, "Invalid join: give the peer as 'url' or 'ip'");
  t.is((await http(`${s.base}/join?token=ct`, { method: 'POST', body: 'nope' })).status, 400);
  t.is((await http(`${s.base}/announce?token=ct`, { method: 'POST', body: '{"new":["a"],"fulfilled":["b"]}' })).body, 'OK');
  const badAnn = await http(`${s.base}/announce?token=ct`, { method: 'POST', body: '{"new":"a"}' });
  t.is(badAnn.status, 400);
  t.is(badAnn.body, "Invalid announce: 'new' must be a list of keys");
});

test('/keys answers {node: [keys]} when asked, or when configured', async (t) => {
  const s = await startEsub(t, { nodeIp: '10.0.0.7' });
  const w = await sub(s.base, 'k1');
  await psub(t, s, 'k2');
  const r = await http(`${s.base}/keys?nodes=1`);
  t.deepEqual(JSON.parse(r.body), { '10.0.0.7': ['k1', 'k2'] });
  const c = await startEsub(t, { nodeIp: '10.0.0.8', keysByNode: true });
  const w2 = await sub(c.base, 'x');
  t.deepEqual(JSON.parse((await http(`${c.base}/keys`)).body), { '10.0.0.8': ['x'] });
  w.abort();
  w2.abort();
});

test('HEAD /sub, /psub, /rsub and /rep: 200 with the Location only where this node holds the key, else 404 Unknown key', async (t) => {
  const s = await startEsub(t);
  const head = (p: string, base = s.base): Promise<Response> => fetch(`${base}${p}`, { method: 'HEAD', redirect: 'manual' });
  for (const route of ['sub', 'psub', 'rsub', 'rep']) {
    const r = await head(`/${route}/some%20key`);
    t.is(r.status, 404, `${route} of a key nobody holds`);
    t.is(r.headers.get('content-length'), String('Unknown key'.length));
    t.is(r.headers.get('location'), null);
  }
  // HEAD does not create a sub
  t.is((await http(`${s.base}/keys`)).status, 204);

  const w = await sub(s.base, 'some key');
  const hs = await head('/sub/some%20key');
  t.is(hs.status, 200);
  t.is(hs.headers.get('location'), `${s.base}/sub/some%20key`);
  const hr = await head('/rep/some%20key');
  t.is(hr.status, 200);
  t.is(hr.headers.get('location'), `${s.base}/rep/some%20key`);
  t.is((await head('/psub/some%20key')).status, 404, 'a sub is not a psub');
  // under /esub on the shared port
  const viaShared = await head('/rep/some%20key', s.shared);
  t.is(viaShared.headers.get('location'), `${s.shared}/rep/some%20key`);
  w.abort();

  await psub(t, s, 'pk');
  const hp = await head('/psub/pk');
  t.is(hp.status, 200);
  t.is(hp.headers.get('location'), `${s.base}/psub/pk`);
  t.is((await head('/sub/pk')).status, 404, 'a psub is not a sub');

  // a rep nobody took is stored: /rsub holds the key until it is taken, and HEAD takes nothing
  t.is((await rep(s.base, 'later', 'kept')).headers.get('x-esub-stored'), '1');
  const hrs = await head('/rsub/later');
  t.is(hrs.status, 200);
  t.is(hrs.headers.get('location'), `${s.base}/rsub/later`);
  t.is((await http(`${s.base}/rsub/later`)).body, 'kept');
  t.is((await head('/rsub/later')).status, 404, 'taken');

  // with a configured node URL
  const n = await startEsub(t, { nodeUrl: 'http://esub-1.internal:8090/' });
  const wn = await sub(n.base, 'k');
  const hn = await head('/sub/k', n.base);
  t.is(hn.headers.get('location'), 'http://esub-1.internal:8090/sub/k');
  wn.abort();
});

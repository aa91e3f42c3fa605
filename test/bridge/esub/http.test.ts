// esub phase 1 over plain HTTP: every route and status code of the spec (ping, info, keys, sub,
// rep, the router's 404/405/redirects), token rules, takeover, racing reps, and bad input.
import test from 'ava';
import { delay, http, keys, rep, startEsub, sub, waitFor } from '../../helpers/esub.ts';

test('GET /ping answers 200 OK; other methods 405 with Allow', async (t) => {
  const s = await startEsub(t);
  const r = await http(`${s.base}/ping`);
  t.is(r.status, 200);
  t.is(r.body, 'OK');
  t.is(r.headers.get('content-type'), 'text/plain; charset=utf-8');
  const p = await http(`${s.base}/ping`, { method: 'POST' });
  t.is(p.status, 405);
  t.is(p.body, 'Method Not Allowed\n');
  t.is(p.headers.get('allow'), 'GET, HEAD');
  t.is(p.headers.get('x-content-type-options'), 'nosniff');
});

test('GET /info is compact JSON {name, ip} in that order; ip from the nodeIp option', async (t) => {
  const s = await startEsub(t, { nodeIp: '10.1.2.3', nodeName: 'node-a' });
  const r = await http(`${s.base}/info`);
  t.is(r.status, 200);
  t.is(r.headers.get('content-type'), 'application/json');
  t.is(r.body, '{"name":"node-a","ip":"10.1.2.3"}');
  const d = await startEsub(t);
  const info = JSON.parse((await http(`${d.base}/info`)).body) as { name: string; ip: string };
  t.deepEqual(Object.keys(info), ['name', 'ip']);
  t.true(info.name.length > 0);
  t.regex(info.ip, /^(\d+\.){3}\d+$/);
});

test('GET /keys: 204 when empty, else a JSON list of sub keys then psub keys', async (t) => {
  const s = await startEsub(t);
  const empty = await http(`${s.base}/keys`);
  t.is(empty.status, 204);
  t.is(empty.body, '');
  const a = await sub(s.base, 'alpha');
  const b = await sub(s.base, 'beta');
  const r = await http(`${s.base}/keys`);
  t.is(r.status, 200);
  t.is(r.headers.get('content-type'), 'application/json');
  t.deepEqual((JSON.parse(r.body) as string[]).sort(), ['alpha', 'beta']);
  a.abort();
  b.abort();
});

test('unknown paths get the router 404, empty keys too; wrong methods 405 with the route methods', async (t) => {
  const s = await startEsub(t);
  for (const p of ['/nope', '/sub/', '/rep/', '/psub/', '/sub', '/sub/a/b']) {
    const r = await http(`${s.base}${p}`);
    t.is(r.status, 404, p);
    t.is(r.body, '404 page not found\n', p);
    t.is(r.headers.get('content-type'), 'text/plain; charset=utf-8');
    t.is(r.headers.get('x-content-type-options'), 'nosniff');
  }
  const postSub = await http(`${s.base}/sub/x`, { method: 'POST' });
  t.is(postSub.status, 405);
  t.is(postSub.headers.get('allow'), 'GET, HEAD');
  const getRep = await http(`${s.base}/rep/x`);
  t.is(getRep.status, 405);
  t.is(getRep.headers.get('allow'), 'HEAD, POST');
  t.is(getRep.body, 'Method Not Allowed\n');
});

test('trailing slash and case are redirected: 301 for GET, 307 otherwise', async (t) => {
  const s = await startEsub(t);
  const a = await http(`${s.base}/sub/abc/?token=x`);
  t.is(a.status, 301);
  t.is(a.headers.get('location'), '/sub/abc?token=x');
  const b = await http(`${s.base}/PING`);
  t.is(b.status, 301);
  t.is(b.headers.get('location'), '/ping');
  const c = await http(`${s.base}/Rep/Key`, { method: 'POST', body: 'x' });
  t.is(c.status, 307);
  t.is(c.headers.get('location'), '/rep/Key');
  // Under /esub on the shared port the Location keeps the prefix.
  const d = await http(`${s.shared}/PING`);
  t.is(d.status, 301);
  t.is(d.headers.get('location'), '/esub/ping');
});

test('sub and rep: the body passes through unchanged, with a sniffed Content-Type', async (t) => {
  const s = await startEsub(t);
  const text = await sub(s.base, 'k-text');
  const r1 = await rep(s.base, 'k-text', 'hello world');
  t.is(r1.status, 200);
  t.is(r1.body, 'OK');
  const a1 = await text.answer;
  t.is(a1.status, 200);
  t.is(a1.body, 'hello world');
  t.is(a1.headers.get('content-type'), 'text/plain; charset=utf-8');

  const bin = Buffer.from([0, 1, 2, 255, 254, 0x1f, 0x8b]);
  const s2 = await sub(s.base, 'k-bin');
  t.is((await rep(s.base, 'k-bin', bin)).status, 200);
  const a2 = await s2.answer;
  t.deepEqual(a2.bytes, bin);
  t.is(a2.headers.get('content-type'), 'application/octet-stream');

  // One rep per sub: the key is gone afterwards.
  const again = await rep(s.base, 'k-text', 'late');
  t.is(again.status, 404);
  t.is(again.body, 'Unknown key');
  t.deepEqual(await keys(s.base), []);
});

test('a gzip body with Content-Encoding reaches the sub as the same compressed bytes', async (t) => {
  const { gzipSync } = await import('node:zlib');
  const s = await startEsub(t);
  const gz = gzipSync(Buffer.from('compressed payload'));
  const w = await sub(s.base, 'gz');
  const r = await http(`${s.base}/rep/gz`, { method: 'POST', body: gz, headers: { 'content-encoding': 'gzip' } });
  t.is(r.status, 200);
  const a = await w.answer.catch(() => undefined);
  // fetch would try to inflate a response that said gzip; esub sends no encoding header at all.
  t.truthy(a);
  t.deepEqual(a?.bytes, gz);
  t.is(a?.headers.get('content-encoding'), null);
});

test('rep to a key nobody holds is 404 Unknown key at once', async (t) => {
  const s = await startEsub(t, { storeMode: 'none', repTimeoutMs: 30_000 });
  const started = Date.now();
  const r = await rep(s.base, 'nobody', 'x');
  t.is(r.status, 404);
  t.is(r.body, 'Unknown key');
  // "at once" = not after waiting out repTimeoutMs; the margin allows for a loaded machine
  t.true(Date.now() - started < 10_000);
});

test('token rules: the rep token must equal the sub token exactly; empty only matches empty', async (t) => {
  const s = await startEsub(t, { storeMode: 'none' });
  const w = await sub(s.base, 'secure', '?token=s3cret');
  t.deepEqual(await rep(s.base, 'secure', 'x').then((r) => [r.status, r.body]), [403, 'Invalid token']);
  t.deepEqual(await rep(s.base, 'secure', 'x', '?token=wrong').then((r) => [r.status, r.body]), [403, 'Invalid token']);
  t.deepEqual(await rep(s.base, 'secure', 'x', '?token=s3cret&token=other').then((r) => [r.status, r.body]), [200, 'OK']);
  t.is((await w.answer).body, 'x');

  const open = await sub(s.base, 'open');
  t.deepEqual(await rep(s.base, 'open', 'x', '?token=anything').then((r) => [r.status, r.body]), [403, 'Invalid token']);
  t.deepEqual(await rep(s.base, 'open', 'y').then((r) => [r.status, r.body]), [200, 'OK']);
  t.is((await open.answer).body, 'y');
});

test('a second sub with another token is refused 403 while the first keeps the key', async (t) => {
  const s = await startEsub(t);
  const first = await sub(s.base, 'owned', '?token=a');
  const second = await http(`${s.base}/sub/owned?token=b`);
  t.is(second.status, 403);
  t.is(second.body, 'Sub already exists, token mismatch');
  t.is((await rep(s.base, 'owned', 'still mine', '?token=a')).status, 200);
  t.is((await first.answer).body, 'still mine');
});

test('takeover: the new sub owns the key, the displaced one gets 500 context canceled', async (t) => {
  const s = await startEsub(t);
  const first = await sub(s.base, 'shared-key');
  const second = http(`${s.base}/sub/shared-key?token=new`);
  const displaced = await first.answer;
  t.is(displaced.status, 500);
  t.is(displaced.body, 'Failed to fullfil sub: context canceled');
  t.deepEqual(await keys(s.base), ['shared-key']);
  // The key now carries the new sub's token.
  t.is((await rep(s.base, 'shared-key', 'x')).status, 403);
  t.is((await rep(s.base, 'shared-key', 'for the new one', '?token=new')).status, 200);
  t.is((await second).body, 'for the new one');
});

test('a sub with the same token takes over too', async (t) => {
  const s = await startEsub(t);
  const first = await sub(s.base, 'k', '?token=t');
  const second = http(`${s.base}/sub/k?token=t`);
  t.is((await first.answer).status, 500);
  await delay(20);
  t.is((await rep(s.base, 'k', 'x', '?token=t')).status, 200);
  t.is((await second).body, 'x');
});

test('racing reps: exactly one reaches the sub, the others get 404, none hangs', async (t) => {
  const s = await startEsub(t, { storeMode: 'none' });
  const w = await sub(s.base, 'race');
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => rep(s.base, 'race', `rep-${i}`)));
  const ok = results.filter((r) => r.status === 200);
  t.is(ok.length, 1);
  t.true(results.filter((r) => r.status === 404).every((r) => r.body === 'Unknown key'));
  t.is(results.filter((r) => r.status === 404).length, 19);
  const got = (await w.answer).body;
  t.regex(got, /^rep-\d+$/);
});

test('a sub that disconnects frees its key; a rep then gets 404 and never hangs', async (t) => {
  const s = await startEsub(t, { storeMode: 'none' });
  const w = await sub(s.base, 'gone');
  w.abort();
  t.is(await w.answer.then(() => 'answered', () => 'aborted'), 'aborted');
  await waitFor(async () => (await keys(s.base)).length === 0);
  const r = await rep(s.base, 'gone', 'x');
  t.is(r.status, 404);
  t.is(r.body, 'Unknown key');
});

test('subTimeoutMs: a sub that waits too long gets 500 context deadline exceeded', async (t) => {
  const s = await startEsub(t, { subTimeoutMs: 100 });
  const r = await http(`${s.base}/sub/slow`);
  t.is(r.status, 500);
  t.is(r.body, 'Failed to fullfil sub: context deadline exceeded');
  t.deepEqual(await keys(s.base), []);
});

test('bad input: over-long keys 400, bodies over the limit 413, others unaffected', async (t) => {
  const s = await startEsub(t, { maxKeyBytes: 16, maxBodyBytes: 1024 });
  const long = 'k'.repeat(17);
  const a = await http(`${s.base}/sub/${long}`);
  t.is(a.status, 400);
  t.is(a.body, 'Invalid key: longer than 16 bytes');
  t.is((await rep(s.base, long, 'x')).status, 400);
  const w = await sub(s.base, 'small');
  const big = await rep(s.base, 'small', Buffer.alloc(4096, 1));
  t.is(big.status, 413);
  t.is(big.body, 'Body too large');
  t.deepEqual(await keys(s.base), ['small']);
  t.is((await rep(s.base, 'small', 'fits')).status, 200);
  t.is((await w.answer).body, 'fits');
});

test('keys with dots, spaces and unicode work and round-trip', async (t) => {
  const s = await startEsub(t);
  for (const key of ['a.b.c', 'with space', 'ünï#cödé', "x!~*'()"]) {
    const w = await sub(s.base, key);
    t.is((await rep(s.base, key, `for ${key}`)).status, 200, key);
    t.is((await w.answer).body, `for ${key}`);
  }
});

test('closeConnections: every HTTP response says Connection: close', async (t) => {
  const s = await startEsub(t, { closeConnections: true });
  const r = await http(`${s.base}/ping`);
  t.is(r.headers.get('connection'), 'close');
  const off = await startEsub(t);
  t.not((await http(`${off.base}/ping`)).headers.get('connection'), 'close');
});

test('the bridge is served at /esub on the shared port too, with the same state', async (t) => {
  const s = await startEsub(t);
  t.is((await http(`${s.shared}/ping`)).body, 'OK');
  const w = await sub(s.shared, 'both');
  t.deepEqual(await keys(s.base), ['both']);
  t.is((await rep(s.base, 'both', 'across ports')).status, 200);
  t.is((await w.answer).body, 'across ports');
  const nf = await http(`${s.shared}/nope`);
  t.is(nf.status, 404);
  t.is(nf.body, '404 page not found\n');
});

test('GET /metrics serves Prometheus text with the esub metrics', async (t) => {
  const s = await startEsub(t);
  await http(`${s.base}/info`);
  const r = await http(`${s.base}/metrics`);
  t.is(r.status, 200);
  t.regex(r.headers.get('content-type') ?? '', /^text\/plain/);
  t.regex(r.body, /esub_http_request_count\{route="info",method="GET",success="true",auth="false",confirmed="false"\} 1/);
  t.regex(r.body, /esub_sub_connected 0/);
  t.regex(r.body, /esub_psub_connected 0/);
  t.regex(r.body, /esub_prep_connected 0/);
});

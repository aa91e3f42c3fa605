// hustmq bridge: normal queues — put/get/ack/timeout/lock/max/purge/worker/stat/stat_all/version/
// autost, with every status code of the spec, bad input, basic auth and both mount points.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { sleep, startHustmq } from '../../helpers/hustmq.ts';

test('version, autost and an empty stat_all', async (t) => {
  const h = await startHustmq(t);
  const v = await h.req('/version');
  t.is(v.status, 200);
  t.is(v.text, 'hustmqha 1.7\n');
  t.is(v.headers.get('content-type'), 'text/plain');
  t.is(v.headers.get('content-length'), '13');
  t.is((await h.req('/autost')).status, 200);
  const all = await h.req('/stat_all');
  t.is(all.status, 200);
  t.is(all.text, '[]');
});

test('put by item, GET/PUT/POST body; body wins over item; stat fields in hustmq order', async (t) => {
  const h = await startHustmq(t);
  t.is((await h.req('/put?queue=q1&item=one')).status, 200);
  t.is((await h.req('/put?queue=q1', { method: 'PUT', body: 'two' })).status, 200);
  const p = await h.req('/put?queue=q1&item=ignored', { method: 'POST', body: 'three' });
  t.is(p.status, 200);
  t.is(p.text, '');
  t.is(p.headers.get('content-length'), '0');
  const s = await h.req('/stat?queue=q1');
  t.is(s.status, 200);
  t.regex(s.text, /^\{"queue":"q1","type":0,"ready":\[3,0,0\],"max":0,"lock":0,"si":0,"ci":3,"tm":\d+,"unacked":0,"timeout":5\}$/);
  t.is((await h.req('/get?queue=q1&worker=worker1')).text, 'one');
  t.is((await h.req('/get?queue=q1&worker=worker1')).text, 'two');
  t.is((await h.req('/get?queue=q1&worker=worker1')).text, 'three');
  const empty = await h.req('/get?queue=q1&worker=worker1');
  t.is(empty.status, 404);
  t.regex(empty.text, /no message ready/);
});

for (const engine of ['memory', 'SQLite'] as const) {
  test(`get answers the exact bytes put (${engine} store): invalid UTF-8, NUL bytes, multi-byte characters, sizes around 4 KiB`, async (t) => {
    let overrides = {};
    if (engine === 'SQLite') {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'kitsune-hustmq-bytes-'));
      t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
      overrides = { memory: false, dataDir };
    }
    const h = await startHustmq(t, {}, overrides);
    const items = [
      Buffer.from([0xff, 0x00, 0xfe, 0x80, 0x41]),
      Buffer.from('héllo ✓ 🦊\0end', 'utf8'),
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate: not UTF-8
      Buffer.alloc(4096, 'a'),
      Buffer.alloc(4097, 'a'),
      Buffer.alloc(9000, 0xe9),
      Buffer.alloc(9000, 'ü'),
    ];
    for (const item of items) t.is((await h.req('/put?queue=bytes', { method: 'PUT', body: item })).status, 200);
    for (const item of items) {
      const r = await fetch(`${h.base}/get?queue=bytes&worker=worker1`);
      t.is(r.status, 200);
      t.is(r.headers.get('content-length'), String(item.length));
      t.deepEqual(Buffer.from(await r.arrayBuffer()), item);
    }
  });
}

test('FIFO: 100 puts come back in order', async (t) => {
  const h = await startHustmq(t);
  for (let i = 0; i < 100; i++) t.is((await h.req('/put?queue=hustmqhaqueue', { method: 'PUT', body: `test_body_${i}` })).status, 200);
  const got: string[] = [];
  for (let i = 0; i < 100; i++) got.push((await h.req('/get?queue=hustmqhaqueue&worker=testworker')).text);
  t.deepEqual(got, Array.from({ length: 100 }, (_, i) => `test_body_${i}`));
});

test('priorities: 2 before 1 before 0, FIFO within each', async (t) => {
  const h = await startHustmq(t);
  const puts = [
    ['a0', 0],
    ['a1', 1],
    ['a2', 2],
    ['b0', 0],
    ['b2', 2],
    ['b1', 1],
  ] as const;
  for (const [v, p] of puts) t.is((await h.req(`/put?queue=prio&priori=${p}&item=${v}`)).status, 200);
  t.regex((await h.req('/stat?queue=prio')).text, /"ready":\[2,2,2\]/);
  const got: string[] = [];
  for (let i = 0; i < 6; i++) got.push((await h.req('/get?queue=prio&worker=worker1')).text);
  t.deepEqual(got, ['a2', 'b2', 'a1', 'b1', 'a0', 'b0']);
});

test('ack=false: Ack-Token/Ack-Peer, ack 200, ack again 412, bad token 400, bad peer 404', async (t) => {
  const h = await startHustmq(t);
  await h.req('/put?queue=acks&item=x');
  const g = await h.req('/get?queue=acks&worker=worker1&ack=false');
  t.is(g.status, 200);
  t.is(g.text, 'x');
  const token = g.headers.get('ack-token') as string;
  t.regex(token, /^0:\d+$/);
  t.is(g.headers.get('ack-peer'), '0');
  t.regex((await h.req('/stat?queue=acks')).text, /"ready":\[0,0,0\].*"unacked":1/);
  t.is((await h.req(`/ack?queue=acks&peer=0&token=${token}`)).status, 200);
  t.is((await h.req(`/ack?queue=acks&peer=0&token=${token}`)).status, 412);
  t.is((await h.req(`/ack?queue=nosuch&peer=0&token=${token}`)).status, 412);
  const bad = await h.req('/ack?queue=acks&peer=0&token=zz');
  t.is(bad.status, 400);
  t.regex(bad.text, /token/);
  t.is((await h.req('/ack?queue=ac$ks&peer=0&token=0:1')).status, 400);
  t.is((await h.req(`/ack?queue=acks&token=${token}`)).status, 404);
  t.is((await h.req(`/ack?queue=acks&peer=1&token=${token}`)).status, 404);
  // a non-numeric peer parses as 0 (atoi)
  t.is((await h.req(`/ack?queue=acks&peer=x&token=${token}`)).status, 412);
  // ack=0 and ack=false both mean false; a plain get deletes
  await h.req('/put?queue=acks&item=y');
  t.truthy((await h.req('/get?queue=acks&worker=worker1&ack=0')).headers.get('ack-token'));
  await h.req('/put?queue=acks&item=z');
  t.is((await h.req('/get?queue=acks&worker=worker1&ack=true')).headers.get('ack-token'), null);
});

test('redelivery after the queue timeout; an acked item is not redelivered', async (t) => {
  // a 1 s "minute": the not-yet-due get must come before it even on a loaded machine
  const h = await startHustmq(t, { minuteMs: 1000 });
  await h.req('/put?queue=ha_timeout_queue', { method: 'PUT', body: 'test_body' });
  t.is((await h.req('/timeout?queue=ha_timeout_queue&minute=1')).status, 200);
  t.regex((await h.req('/stat?queue=ha_timeout_queue')).text, /"timeout":1\}/);
  const first = await h.req('/get?queue=ha_timeout_queue&worker=testworker&ack=false');
  t.is(first.text, 'test_body');
  t.is((await h.req('/get?queue=ha_timeout_queue&worker=testworker')).status, 404, 'not yet due');
  await sleep(1100);
  const again = await h.req('/get?queue=ha_timeout_queue&worker=testworker&ack=false');
  t.is(again.status, 200);
  t.is(again.text, 'test_body', 'redelivered');
  t.is((await h.req(`/ack?queue=ha_timeout_queue&peer=0&token=${again.headers.get('ack-token')}`)).status, 200);
  await sleep(1100);
  t.is((await h.req('/get?queue=ha_timeout_queue&worker=testworker')).status, 404, 'acked: gone');
});

test('timeout: minute 1-255 on a known queue', async (t) => {
  const h = await startHustmq(t);
  await h.req('/put?queue=tq&item=x');
  t.is((await h.req('/timeout?queue=tq&minute=255')).status, 200);
  t.is((await h.req('/timeout?queue=tq&minute=0')).status, 404);
  t.is((await h.req('/timeout?queue=tq&minute=256')).status, 404);
  t.is((await h.req('/timeout?queue=tq&minute=abc')).status, 404);
  t.is((await h.req('/timeout?queue=tq')).status, 404);
  t.is((await h.req('/timeout?queue=unknown&minute=3')).status, 404);
});

test('lock refuses put but not get; max caps the ready total; a locked queue keeps its max', async (t) => {
  const h = await startHustmq(t);
  await h.req('/put?queue=lq&item=1');
  t.is((await h.req('/lock?queue=lq&on=1')).status, 200);
  t.regex((await h.req('/stat?queue=lq')).text, /"lock":1/);
  const refused = await h.req('/put?queue=lq&item=2');
  t.is(refused.status, 404);
  t.regex(refused.text, /locked/);
  t.is((await h.req('/max?queue=lq&num=5')).status, 404, 'ha refuses max on a locked queue');
  t.is((await h.req('/get?queue=lq&worker=worker1')).text, '1');
  t.is((await h.req('/lock?queue=lq&on=0')).status, 200);
  t.is((await h.req('/lock?queue=lq&on=2')).status, 404);
  t.is((await h.req('/lock?queue=nosuch&on=1')).status, 404);

  t.is((await h.req('/max?queue=lq&num=2')).status, 200);
  t.regex((await h.req('/stat?queue=lq')).text, /"max":2/);
  t.is((await h.req('/put?queue=lq&item=a')).status, 200);
  t.is((await h.req('/put?queue=lq&item=b')).status, 200);
  const full = await h.req('/put?queue=lq&item=c');
  t.is(full.status, 404);
  t.regex(full.text, /full/);
  t.is((await h.req('/max?queue=lq&num=0')).status, 200);
  t.is((await h.req('/put?queue=lq&item=c')).status, 200);
  t.is((await h.req('/max?queue=lq&num=-1')).status, 404);
  t.is((await h.req('/max?queue=lq&num=5000001')).status, 404);
  t.is((await h.req('/max?queue=nosuch&num=1')).status, 404);
});

test('purge: one priority; purging the last ready items drops the queue', async (t) => {
  const h = await startHustmq(t);
  await h.req('/put?queue=pq&item=a&priori=0');
  await h.req('/put?queue=pq&item=b&priori=1');
  t.is((await h.req('/purge?queue=pq')).status, 404, 'priori is required');
  t.is((await h.req('/purge?queue=pq&priori=3')).status, 404);
  t.is((await h.req('/purge?queue=pq&priori=1')).status, 200);
  t.regex((await h.req('/stat?queue=pq')).text, /"ready":\[1,0,0\]/);
  t.is((await h.req('/purge?queue=pq&priori=0')).status, 200);
  t.is((await h.req('/stat?queue=pq')).status, 404, 'queue dropped');
  t.is((await h.req('/purge?queue=pq&priori=0')).status, 404);
});

test('worker: names seen by get within 512 s; 404 for an unknown queue; worker name 5-32 bytes', async (t) => {
  const h = await startHustmq(t);
  for (let i = 0; i < 4; i++) await h.req(`/put?queue=wq&item=hustmqteststr${i}`);
  for (let i = 0; i < 3; i++) await h.req(`/get?queue=wq&worker=testworker${i}`);
  const w = await h.req('/worker?queue=wq');
  t.is(w.status, 200);
  const list = JSON.parse(w.text) as { w: string; t: number }[];
  t.deepEqual(
    list.map((x) => x.w),
    ['testworker0', 'testworker1', 'testworker2'],
  );
  t.true(list.every((x) => Math.abs(x.t - Date.now() / 1000) < 5));
  t.is((await h.req('/worker?queue=nosuch')).status, 404);
  const short = await h.req('/get?queue=wq&worker=abcd');
  t.is(short.status, 404);
  t.regex(short.text, /worker/);
  t.is((await h.req(`/get?queue=wq&worker=${'x'.repeat(33)}`)).status, 404);
  t.is((await h.req('/get?queue=wq')).status, 404);
});

test('bad input: missing or invalid queue names the argument; bad priori; empty item; unknown route', async (t) => {
  const h = await startHustmq(t);
  const missing = await h.req('/put?item=x');
  t.is(missing.status, 404);
  t.regex(missing.text, /queue/);
  t.is((await h.req(`/put?queue=${'q'.repeat(65)}&item=x`)).status, 404);
  t.is((await h.req('/put?queue=a%20b&item=x')).status, 404);
  t.is((await h.req('/put?queue=a/b&item=x')).status, 404);
  t.is((await h.req(`/put?queue=${'q'.repeat(64)}&item=x`)).status, 200);
  t.is((await h.req('/put?queue=ok:name.1_x&item=x')).status, 200);
  const pri = await h.req('/put?queue=q&item=x&priori=3');
  t.is(pri.status, 404);
  t.regex(pri.text, /priori/);
  const empty = await h.req('/put?queue=q');
  t.is(empty.status, 404);
  t.regex(empty.text, /item/);
  t.is((await h.req('/stat?queue=nosuch')).status, 404);
  t.is((await h.req('/stat?queue=bad$name')).status, 404);
  t.is((await h.req('/stat')).status, 404);
  t.is((await h.req('/get?queue=q&worker=worker1&ack=maybe')).status, 404);
  t.is((await h.req('/nosuchroute')).status, 404);
});

test('a body over the 64m limit is refused with 413', async (t) => {
  const h = await startHustmq(t, { maxBodyBytes: 1024 });
  const r = await h.req('/put?queue=big', { method: 'POST', body: 'x'.repeat(2000) });
  t.is(r.status, 413);
  t.is((await h.req('/put?queue=big', { method: 'POST', body: 'x'.repeat(1000) })).status, 200);
});

test('a name is one kind: put on a push queue and pub on a normal queue fail', async (t) => {
  const h = await startHustmq(t);
  await h.req('/put?queue=normal&item=x');
  await h.req('/pub?queue=pushq&item=x');
  t.is((await h.req('/pub?queue=normal&item=y')).status, 404);
  t.is((await h.req('/put?queue=pushq&item=y')).status, 404);
  t.is((await h.req('/get?queue=pushq&worker=worker1')).status, 404);
  t.is((await h.req('/lock?queue=pushq&on=1')).status, 404);
  t.is((await h.req('/worker?queue=pushq')).status, 404);
  t.is((await h.req('/sub?queue=normal&idx=1')).status, 404);
  const all = JSON.parse((await h.req('/stat_all')).text) as { queue: string; type: number }[];
  t.deepEqual(
    all.map((q) => [q.queue, q.type]),
    [
      ['normal', 0],
      ['pushq', 1],
    ],
  );
});

test('basic auth: 401 with WWW-Authenticate; get, sub and version exempt', async (t) => {
  const h = await startHustmq(t, { auth: { users: { huststore: 'huststore' } } });
  const auth = { Authorization: 'Basic ' + Buffer.from('huststore:huststore').toString('base64') };
  const wrong = { Authorization: 'Basic ' + Buffer.from('huststore:nope').toString('base64') };
  const no = await h.req('/put?queue=aq&item=x');
  t.is(no.status, 401);
  t.is(no.headers.get('www-authenticate'), 'Basic realm="Authentication"');
  t.is((await h.req('/put?queue=aq&item=x', { headers: wrong })).status, 401);
  t.is((await h.req('/put?queue=aq&item=x', { headers: auth })).status, 200);
  t.is((await h.req('/stat_all')).status, 401);
  t.is((await h.req('/version')).status, 200);
  t.is((await h.req('/get?queue=aq&worker=worker1')).text, 'x');
  t.is((await h.req('/sub?queue=none&idx=1')).status, 404, 'sub is exempt (404, not 401)');
  t.is((await h.reqAt(h.shared, '/stat_all')).status, 401, 'shared port too');
  t.is((await h.reqAt(h.shared, '/stat_all', { headers: auth })).status, 200);
});

test('the shared port serves the same bridge under /hustmq', async (t) => {
  const h = await startHustmq(t);
  t.is((await h.reqAt(h.shared, '/put?queue=sq&item=from-shared')).status, 200);
  t.is((await h.req('/get?queue=sq&worker=worker1')).text, 'from-shared');
  t.is((await h.reqAt(h.shared, '/version')).text, 'hustmqha 1.7\n');
  t.is((await h.reqAt(h.shared, '?x')).status, 404);
});

test('HEAD and other methods are served like GET (ha checks methods only for do_*)', async (t) => {
  const h = await startHustmq(t);
  t.is((await h.req('/version', { method: 'HEAD' })).status, 200);
  t.is((await h.req('/put?queue=m&item=x', { method: 'DELETE' })).status, 200);
  t.is((await h.req('/get?queue=m&worker=worker1', { method: 'POST' })).text, 'x');
});

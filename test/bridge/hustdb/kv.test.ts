// hustdb bridge: plain keys and meta routes over fetch, on the dedicated port and under /hustdb.
import test from 'ava';
import { startHustdb } from '../../helpers/hustdb.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('put/get/exist/del with versions, on both mounts', async (t) => {
  const db = await startHustdb(t);
  for (const base of [db.base, db.shared]) {
    const k = `k-${base.length}`;
    let r = await db.reqAt(base, `/put?key=${k}&val=one`);
    t.is(r.status, 200);
    t.is(r.headers.get('Version'), '1');
    t.is(r.text, '');
    t.is(r.headers.get('Content-Type'), 'text/plain');
    t.is(r.headers.get('Content-Length'), '0');
    r = await db.reqAt(base, `/put?key=${k}`, { method: 'POST', body: 'two' });
    t.is(r.headers.get('Version'), '2');
    r = await db.reqAt(base, `/get?key=${k}`);
    t.is(r.status, 200);
    t.is(r.text, 'two');
    t.is(r.headers.get('Version'), '2');
    t.is(r.headers.get('Content-Length'), '3');
    r = await db.reqAt(base, `/get2?key=${k}`);
    t.is(r.status, 200);
    t.is(r.text, 'two');
    r = await db.reqAt(base, `/exist?key=${k}`);
    t.is(r.status, 200);
    t.is(r.text, '');
    t.is(r.headers.get('Version'), '2');
    r = await db.reqAt(base, `/del?key=${k}`);
    t.is(r.status, 200);
    r = await db.reqAt(base, `/get?key=${k}`);
    t.is(r.status, 404);
    t.is(r.headers.get('Version'), '0');
    r = await db.reqAt(base, `/del?key=${k}`);
    t.is(r.status, 404);
    r = await db.reqAt(base, `/put?key=${k}&val=again`, { method: 'PUT' });
    t.is(r.headers.get('Version'), '1', 'a delete forgets the version');
  }
});

test('ver conditions: a mismatch is 404 Version 0 and writes nothing', async (t) => {
  const db = await startHustdb(t);
  await db.req('/put?key=v&val=a');
  await db.req('/put?key=v&val=b');
  let r = await db.req('/put?key=v&val=c&ver=1');
  t.is(r.status, 404);
  t.is(r.headers.get('Version'), '0');
  t.is((await db.req('/get?key=v')).text, 'b');
  r = await db.req('/put?key=v&val=c&ver=2');
  t.is(r.status, 200);
  t.is(r.headers.get('Version'), '3');
  t.is((await db.req('/del?key=v&ver=2')).status, 404);
  t.is((await db.req('/del?key=v&ver=3')).status, 200);
  t.is((await db.req('/put?key=new&val=x&ver=4')).status, 404, 'ver on a missing key fails');
  t.is((await db.req('/put?key=new&val=x&ver=0')).status, 200, 'ver=0 is unconditional');
});

test('ttl: a value expires; a rewrite without ttl makes it permanent', async (t) => {
  const db = await startHustdb(t);
  const t0 = Date.now();
  await db.req('/put?key=t&val=short&ttl=2');
  // the expiry instant is set when the bridge handles the put: after t0, before its answer
  const putAnswered = Date.now();
  const live = await db.req('/get?key=t');
  if (Date.now() - t0 < 1500) t.is(live.status, 200, 'still there before its ttl');
  await db.req('/put?key=p&val=x&ttl=1');
  await db.req('/put?key=p&val=y');
  await sleep(Math.max(0, putAnswered + 2100 - Date.now()));
  const r = await db.req('/get?key=t');
  t.is(r.status, 404);
  t.is((await db.req('/exist?key=t')).status, 404);
  t.is((await db.req('/get?key=p')).text, 'y');
  t.is((await db.req('/put?key=t&val=z')).headers.get('Version'), '1', 'expiry forgets the version');
});

test('binary values (every byte) via body and query, and a multi-MiB value', async (t) => {
  const db = await startHustdb(t);
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  await db.req('/put?key=bin', { method: 'POST', body: all });
  let r = await db.req('/get?key=bin');
  t.deepEqual(r.bytes, all);
  const q = [...all].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  await db.req(`/put?key=binq&val=${q}`);
  r = await db.req('/get?key=binq');
  t.deepEqual(r.bytes, all);
  const big = Buffer.alloc(3 * 1024 * 1024, 0x61);
  big[big.length - 1] = 0x62;
  t.is((await db.req('/put?key=big', { method: 'POST', body: big })).status, 200);
  r = await db.req('/get?key=big');
  t.is(r.bytes.length, big.length);
  t.true(r.bytes.equals(big));
});

test('bad input: 400 naming the argument, 404 empty value, 413 too large, 404 unknown route', async (t) => {
  const db = await startHustdb(t, { maxValueBytes: 1000 });
  let r = await db.req('/get');
  t.is(r.status, 400);
  t.regex(r.text, /'key'/);
  r = await db.req('/put?val=x');
  t.is(r.status, 400);
  t.regex(r.text, /'key'/);
  r = await db.req('/put?key=a');
  t.is(r.status, 404);
  t.regex(r.text, /empty value/);
  r = await db.req('/put?key=a&val=x&ttl=-1');
  t.is(r.status, 400);
  t.regex(r.text, /'ttl'/);
  r = await db.req('/put?key=a&val=x&ver=abc');
  t.is(r.status, 400);
  t.regex(r.text, /'ver'/);
  r = await db.req('/put?key=a', { method: 'POST', body: Buffer.alloc(1001) });
  t.is(r.status, 413);
  t.regex(r.text, /1000 bytes/);
  r = await db.req(`/put?key=a&val=${'x'.repeat(1001)}`);
  t.is(r.status, 413);
  r = await db.req(`/get?key=${'k'.repeat(1025)}`);
  t.is(r.status, 400);
  r = await db.req('/get?key=%E0%A4%A');
  t.is(r.status, 400);
  r = await db.req('/nope');
  t.is(r.status, 404);
  t.regex(r.text, /no route/);
  t.is((await db.req('/get?key=a')).status, 404, 'the bad requests changed nothing');
});

test('keys: paging with offset/size, bucket ranges, noval, peer and file checks', async (t) => {
  const db = await startHustdb(t);
  const names = Array.from({ length: 12 }, (_, i) => `key${i}`);
  for (const k of names) await db.req(`/put?key=${k}&val=v-${k}`);
  const seen: string[] = [];
  for (let offset = 0; ; ) {
    const r = await db.req(`/keys?peer=0&file=0&offset=${offset}&size=5&noval=false`);
    t.is(r.status, 200);
    const items = JSON.parse(r.text) as { key: string; val: string; ver: number }[];
    t.is(r.headers.get('Keys'), String(items.length));
    for (const it of items) {
      const k = Buffer.from(it.key, 'base64').toString();
      t.is(Buffer.from(it.val, 'base64').toString(), `v-${k}`);
      t.is(it.ver, 1);
      seen.push(k);
    }
    offset += items.length;
    if (items.length < 5) break;
  }
  t.deepEqual(seen.sort(), [...names].sort());
  const r = await db.req('/keys?peer=0&file=0&offset=0&size=100');
  t.false('val' in (JSON.parse(r.text) as object[])[0]!, 'noval defaults to true');
  // bucket ranges split the keys without loss
  const a = JSON.parse((await db.req('/keys?peer=0&file=0&offset=0&size=100&start=0&end=512')).text) as unknown[];
  const b = JSON.parse((await db.req('/keys?peer=0&file=0&offset=0&size=100&start=512&end=1024')).text) as unknown[];
  t.is(a.length + b.length, names.length);
  t.is((await db.req('/keys?peer=1&file=0&offset=0&size=5')).status, 404);
  t.is((await db.req('/keys?file=0&offset=0&size=5')).status, 400);
  t.is((await db.req('/keys?peer=0&file=1&offset=0&size=5')).status, 400);
  t.is((await db.req('/keys?peer=0&file=0&offset=0&size=1001')).status, 400);
  t.is((await db.req('/keys?peer=0&file=0&offset=0&size=5&start=9&end=9')).status, 400);
});

test('meta routes', async (t) => {
  const db = await startHustdb(t);
  t.is((await db.req('/version')).text, 'hustdbha 1.7\n');
  t.is((await db.req('/status.html')).text, 'ok\n');
  t.is((await db.req('/peer_count')).text, '1');
  t.is((await db.req('/file_count?peer=0')).text, '1');
  t.is((await db.req('/file_count?peer=2')).status, 404);
  t.is((await db.req('/file_count')).status, 400);
  const table = JSON.parse((await db.req('/get_table')).text) as { table: { item: { key: number[]; val: string[] } }[] };
  t.deepEqual(table.table[0]!.item.key, [0, 1024]);
  t.is(table.table[0]!.item.val.length, 2);
  const st = await db.req('/set_table');
  t.is(st.status, 404);
  t.regex(st.text, /managed by the deployment/);
  t.is((await db.req('/sync_alive')).text, 'ok\n');
  t.deepEqual(JSON.parse((await db.req('/sync_status')).text), { status: {}, total_status: { processed_items: 0, synced_items: 0 } });
});

test('odd queries and bodies: clear 4xx answers, the connection and other clients carry on', async (t) => {
  const db = await startHustdb(t, { maxValueBytes: 1000 });
  t.is((await db.req('/get?key=%')).status, 400);
  t.is((await db.req('/get?key')).status, 400);
  t.is((await db.req('/get?&&=&key=')).status, 400);
  await db.req('/put?key=a+b&val=1+2');
  t.is((await db.req('/get?key=a+b')).text, '1+2', "'+' is kept as sent");
  await db.req('/put?key=dup&key=other&val=first&val=second');
  t.is((await db.req('/get?key=dup')).text, 'first', 'the first value of a repeated argument counts');
  // a chunked body over the limit (no Content-Length) is refused while streaming
  const chunks = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(200));
      c.close();
    },
  });
  const r = await db.req('/put?key=chunked', { method: 'POST', body: chunks, duplex: 'half' } as RequestInit);
  t.is(r.status, 413);
  t.is((await db.req('/get?key=chunked')).status, 404);
  t.is((await db.req('/version')).status, 200);
});

test('keys in one bucket: every key is listed in its own bucket only, also after writes and deletes', async (t) => {
  const db = await startHustdb(t);
  const bucket = (name: string): number => {
    let h = 0;
    for (const b of Buffer.from(name)) h = (h * 31 + b) % 1024;
    return h;
  };
  const inBucket = async (b: number): Promise<string[]> =>
    (JSON.parse((await db.req(`/keys?peer=0&file=0&offset=0&size=100&start=${b}&end=${b + 1}`)).text) as { key: string }[]).map((x) =>
      Buffer.from(x.key, 'base64').toString(),
    );
  const names = ['a', 'b', 'a.b', 'é', 'key 1', 'k/2'];
  for (const k of names) await db.req(`/put?key=${encodeURIComponent(k)}&val=v`);
  for (const k of names) t.deepEqual(await inBucket(bucket(k)), [k], k);
  await db.req('/del?key=b');
  t.deepEqual(await inBucket(bucket('b')), [], 'a deleted key leaves its bucket');
  await db.req('/put?key=b&val=again');
  await db.req(`/put?key=${encodeURIComponent('new one')}&val=v`);
  t.deepEqual(await inBucket(bucket('b')), ['b']);
  t.deepEqual(await inBucket(bucket('new one')), ['new one'], 'a key created after the first listing is indexed');
});

// hustdb bridge on the SQLite store: every acknowledged write (200) survives a restart and kill -9.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { startChildServer } from '../../helpers/child-server.ts';
import { dbRequest } from '../../helpers/hustdb.ts';

test('acknowledged puts, hsets, sadds and zadds survive kill -9; versions continue', async (t) => {
  t.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-hustdb-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const args = ['--port', '0', '--mqtt-port', '0', '--hustdb-port', '0', '--data-dir', dir];
  const first = await startChildServer(t, args);
  const base = first.urls.hustdbPort as string;
  t.truthy(base, 'the listening line names the hustdb port');
  await dbRequest(`${base}/put?key=v&val=1`);
  await dbRequest(`${base}/put?key=v&val=2`);
  const acked: number[] = [];
  let stop = false;
  const writers = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const n = w * 1_000_000 + i;
      try {
        const r = await Promise.all([
          dbRequest(`${base}/put?key=k${n}&val=${n}`),
          dbRequest(`${base}/hset?tb=h&key=k${n}&val=${n}`),
          dbRequest(`${base}/sadd?tb=s`, { method: 'POST', body: String(n) }),
          dbRequest(`${base}/zadd?tb=z&score=${n}&key=k${n}`),
        ]);
        if (r.every((x) => x.status === 200)) acked.push(n);
      } catch {
        return;
      }
    }
  });
  // kill once a good number of writes are through, while more are in flight
  const deadline = Date.now() + 20_000;
  while (acked.length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  first.child.kill('SIGKILL');
  stop = true;
  t.is(await first.exited, 'SIGKILL');
  await Promise.race([Promise.all(writers), new Promise((r) => setTimeout(r, 2000))]);
  t.true(acked.length > 10, `writes were acknowledged before the kill (${acked.length})`);

  const second = await startChildServer(t, args);
  const b2 = second.urls.hustdbPort as string;
  const missing: string[] = [];
  for (const n of acked) {
    if ((await dbRequest(`${b2}/get?key=k${n}`)).text !== String(n)) missing.push(`put ${n}`);
    if ((await dbRequest(`${b2}/hget?tb=h&key=k${n}`)).text !== String(n)) missing.push(`hset ${n}`);
    if ((await dbRequest(`${b2}/sismember?tb=s`, { method: 'POST', body: String(n) })).status !== 200) missing.push(`sadd ${n}`);
    if ((await dbRequest(`${b2}/zscore?tb=z&key=k${n}`)).text !== String(n)) missing.push(`zadd ${n}`);
  }
  t.deepEqual(missing, []);
  const v = await dbRequest(`${b2}/put?key=v&val=3`);
  t.is(v.headers.get('Version'), '3', 'the version counter continues after the restart');
  second.child.kill('SIGTERM');
  await second.exited;
});

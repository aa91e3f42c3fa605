// kill -9 of a running router loses nothing it acknowledged: retained writes acknowledged to a WAMP
// client are all there after a restart on the same data directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { startChildServer } from './helpers/child-server.ts';
import { connectAutobahn } from './helpers/wamp.ts';

test('acknowledged retained publishes survive kill -9 of the router', async (t) => {
  t.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-kill-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const args = ['--port', '0', '--mqtt-port', '0', '--data-dir', dir];
  const first = await startChildServer(t, args);
  const pub = await connectAutobahn(t, first.urls);
  const acked = new Set<number>();
  let sent = 0;
  let stop = false;
  // Keep many acknowledged writes in flight so the kill lands in the middle of group commits.
  const writers = Array.from({ length: 8 }, async () => {
    while (!stop) {
      const n = sent++;
      try {
        await pub.publish(`dur.k${n}`, [{ n, payload: 'x'.repeat(64) }], {}, { acknowledge: true, retain: true });
        if (!stop) acked.add(n);
      } catch {
        return; // connection gone
      }
    }
  });
  // Kill at a random moment once plenty of writes were acknowledged (how long that takes depends
  // on the machine's load, so wait for the count, not a fixed time).
  const enough = Date.now() + 30_000;
  while (acked.size <= 100 && Date.now() < enough) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, Math.random() * 500));
  first.child.kill('SIGKILL');
  stop = true;
  t.is(await first.exited, 'SIGKILL');
  await Promise.race([Promise.all(writers), new Promise((r) => setTimeout(r, 2000))]);
  t.true(acked.size > 100, `enough writes were acknowledged before the kill (${acked.size})`);

  const second = await startChildServer(t, args);
  const sub = await connectAutobahn(t, second.urls);
  const found = new Set<number>();
  await sub.subscribe('dur', (args) => void found.add((args![0] as { n: number }).n), { match: 'prefix', get_retained: true } as object);
  const deadline = Date.now() + 10_000;
  while ([...acked].some((n) => !found.has(n)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const missing = [...acked].filter((n) => !found.has(n));
  t.deepEqual(missing, [], `every acknowledged write is there after the restart (${acked.size} acked, ${found.size} found)`);
  second.child.kill('SIGTERM');
  t.is(await second.exited, 0, 'SIGTERM exits cleanly');
});

test('a lock held when the router is killed is released by its will when the router restarts', async (t) => {
  t.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-killlock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const args = ['--port', '0', '--mqtt-port', '0', '--data-dir', dir];
  const first = await startChildServer(t, args);
  const holder = await connectAutobahn(t, first.urls);
  await holder.publish('crash.lock', [{ holder: 'a' }], {}, { acknowledge: true, retain: true, when: null, will: null, watch: true } as object);
  await holder.publish('crash.plain', ['kept'], {}, { acknowledge: true, retain: true });
  first.child.kill('SIGKILL');
  await first.exited;

  const second = await startChildServer(t, args);
  const c = await connectAutobahn(t, second.urls);
  const seen = new Map<string, unknown>();
  await c.subscribe('crash', (a, _k, d) => void seen.set(d!.topic!, a?.[0]), { match: 'prefix', get_retained: true } as object);
  // the retained values arrive after SUBSCRIBED: wait for the plain one (under load that can take
  // a while), then a little longer so a stale lock sent with it would be seen too
  const deadline = Date.now() + 10_000;
  while (!seen.has('crash.plain') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  t.false(seen.has('crash.lock'), 'the stale lock is gone');
  t.is(seen.get('crash.plain'), 'kept', 'plain retained values stay');
  // And the lock can be taken again without force.
  await c.publish('crash.lock', [{ holder: 'b' }], {}, { acknowledge: true, retain: true, when: null, will: null } as object);
  t.pass();
});

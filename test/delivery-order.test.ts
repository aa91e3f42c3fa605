// Publications reach subscribers in the order they were made, even when some wait for a store
// commit (retained writes, history) and others do not.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createRouter, openRealm } from '../lib/index.ts';
import { openStore } from '../lib/store/open.ts';

test('a retained publish followed by plain ones is delivered first, on SQLite', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-order-'));
  const store = await openStore({ dataDir: dir });
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const router = createRouter({ realms: [{ ...openRealm('realm1'), history: [{ uri: 'ord.h' }] }] }, { store });
  await router.open();
  const pub = router.connect('realm1');
  const sub = router.connect('realm1');
  const seen: number[] = [];
  await sub.subscribe('ord', (e) => seen.push(e.args[0] as number), { match: 'prefix' });
  const done: Promise<unknown>[] = [];
  for (let i = 0; i < 30; i++) {
    const kind = i % 3;
    if (kind === 0) done.push(pub.publish('ord.r', [i], undefined, { retain: true }));
    else if (kind === 1) done.push(pub.publish('ord.h', [i]));
    else done.push(pub.publish('ord.p', [i]));
  }
  await Promise.all(done);
  t.deepEqual(seen, Array.from({ length: 30 }, (_, i) => i));
});

// Resource locks: the client API's lock(), FIFO waiters, owner-only release, wills on disconnect,
// and the resource-lock demo run as real worker processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import test from 'ava';
import { createRouter, openRealm } from '../lib/index.ts';
import { startTestServer } from './helpers/server.ts';
import { connectAutobahn } from './helpers/wamp.ts';

test('client.lock serves waiters FIFO and exactly one holds the lock at a time', async (t) => {
  const router = createRouter({ realms: [openRealm('realm1')] });
  const clients = [0, 1, 2, 3].map(() => router.connect('realm1'));
  const order: number[] = [];
  let holders = 0;
  let maxHolders = 0;
  const releaseFirst = await clients[0]!.lock('res.a');
  const waits = clients.slice(1).map(async (c, i) => {
    const release = await c.lock('res.a');
    holders++;
    maxHolders = Math.max(maxHolders, holders);
    order.push(i + 1);
    await new Promise((r) => setTimeout(r, 5));
    holders--;
    await release();
  });
  await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(order, [], 'nobody gets the lock while it is held');
  await releaseFirst();
  await Promise.all(waits);
  t.deepEqual(order, [1, 2, 3], 'waiters are served in the order they asked');
  t.is(maxHolders, 1);
});

test('a lock held by another session cannot be released without force', async (t) => {
  const router = createRouter({ realms: [openRealm('realm1')] });
  const owner = router.connect('realm1');
  const other = router.connect('realm1');
  await owner.lock('res.b');
  const err = await t.throwsAsync(other.publish('res.b', [null], undefined, { acknowledge: true, retain: true }));
  t.is((err as { uri?: string }).uri, 'wamp.error.not_authorized');
  await t.throwsAsync(other.lock('res.b', { wait: false }), { message: /condition/ });
  await other.publish('res.b', [null], undefined, { acknowledge: true, retain: true, force: true });
  const release = await other.lock('res.b', { wait: false });
  await release();
});

test('waiters of a session that leaves are dropped, and its will releases what it holds', async (t) => {
  const router = createRouter({ realms: [openRealm('realm1')] });
  const holder = router.connect('realm1');
  const leaver = router.connect('realm1');
  const next = router.connect('realm1');
  await holder.lock('res.c');
  const dropped = leaver.lock('res.c').then(() => 'acquired', () => 'dropped');
  const acquired = next.lock('res.c');
  leaver.close();
  t.is(await dropped, 'dropped');
  holder.close(); // its will (null) deletes the key
  const release = await acquired;
  t.truthy(release);
});

test('conditional publish: a rejected condition is an error, a parked one is acknowledged only when applied (WAMP)', async (t) => {
  const server = await startTestServer(t);
  const a = await connectAutobahn(t, server.urls);
  const b = await connectAutobahn(t, server.urls, { serializer: 'msgpack' });
  const c = await connectAutobahn(t, server.urls, { serializer: 'cbor' });
  const seen: unknown[] = [];
  await b.subscribe('cond.k', (args) => seen.push(args?.[0]));
  await a.publish('cond.k', ['v1'], {}, { acknowledge: true, retain: true, when: null, will: null } as object);
  const refused = await rejection(a.publish('cond.k', ['v2'], {}, { acknowledge: true, retain: true, when: 'nope' } as object));
  t.is(refused.error, 'kitsune.error.condition_failed');
  let parkedDone = false;
  const parked = c.publish('cond.k', ['v3'], {}, { acknowledge: true, retain: true, when: null, watch: true } as object)!.then(() => (parkedDone = true));
  await new Promise((r) => setTimeout(r, 50));
  t.false(parkedDone, 'parked until the key is empty');
  await a.publish('cond.k', [null], {}, { acknowledge: true, retain: true } as object);
  await parked;
  t.true(parkedDone);
  await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(seen, ['v1', null, 'v3'], 'subscribers see only the writes that happened, never the refused v2');
});

test('bad condition options are clear errors to that client only', async (t) => {
  const server = await startTestServer(t);
  const a = await connectAutobahn(t, server.urls);
  t.is((await rejection(a.publish('x.y', [1], {}, { acknowledge: true, retain: true, watch: 'yes' } as object))).error, 'wamp.error.invalid_argument');
  t.is((await rejection(a.publish('x.y', [1], {}, { acknowledge: true, whenn: null } as object))).error, 'wamp.error.invalid_argument');
  t.is((await rejection(a.subscribe('x.y', () => {}, { after: 'yesterday' } as object))).error, 'wamp.error.invalid_argument');
  const me = (await a.call('wamp.session.get', [a.id])) as { session: number };
  t.is(me.session, a.id, 'the session is still usable');
});

/** autobahn rejects with plain objects ({error, args, kwargs}), not Error instances. */
async function rejection(p: PromiseLike<unknown> | undefined): Promise<{ error?: string }> {
  return Promise.resolve(p).then(
    () => ({ error: 'resolved' }),
    (e: unknown) => e as { error?: string },
  );
}

interface LockEvent {
  event: string;
  worker: string;
  at: number;
}

function startWorker(t: import('ava').ExecutionContext, url: string, name: string, events: LockEvent[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo/resource-lock.ts', '--url', url, '--name', name, '--hold-ms', '150', '--pause-ms', '20'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line) as LockEvent);
    } catch {
      // not an event line
    }
  });
  return child;
}

function waitFor(events: LockEvent[], pred: (e: LockEvent) => boolean, ms: number): Promise<LockEvent> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const tick = (): void => {
      const hit = events.find(pred);
      if (hit) resolve(hit);
      else if (Date.now() > deadline) reject(new Error('timed out waiting for a lock event'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

test('the resource-lock demo passes the lock between three workers, never two at once, and survives a holder being killed', async (t) => {
  t.timeout(60_000);
  const server = await startTestServer(t);
  const events: LockEvent[] = [];
  const workers = ['w1', 'w2', 'w3'].map((name) => ({ name, child: startWorker(t, server.urls.wamp!, name, events) }));
  // Let the lock make a few rounds.
  await waitFor(events, () => events.filter((e) => e.event === 'acquired').length >= 6, 30_000);
  // Kill whoever holds the lock now, mid-hold.
  const holderEvent = await waitFor(events, (e) => e.event === 'acquired' && !events.some((r) => r.event === 'released' && r.worker === e.worker && r.at >= e.at), 10_000);
  const victim = workers.find((w) => w.name === holderEvent.worker)!;
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  const takeover = await waitFor(events, (e) => e.event === 'acquired' && e.at > killedAt, 10_000);
  t.not(takeover.worker, victim.name);
  // Mutual exclusion: acquire/release intervals of different workers never overlap.
  const intervals: { worker: string; from: number; to: number }[] = [];
  for (const e of events.filter((x) => x.event === 'acquired')) {
    const rel = events.find((r) => r.event === 'released' && r.worker === e.worker && r.at >= e.at);
    intervals.push({ worker: e.worker, from: e.at, to: rel ? rel.at : e.worker === victim.name ? killedAt : Date.now() });
  }
  intervals.sort((x, y) => x.from - y.from);
  for (let i = 1; i < intervals.length; i++) {
    t.true(intervals[i]!.from >= intervals[i - 1]!.to, `lock held by ${intervals[i - 1]!.worker} and ${intervals[i]!.worker} at once`);
  }
  t.true(new Set(intervals.map((x) => x.worker)).size >= 2, 'the lock moved between workers');
});

// No fault in a WAMP handler takes the process down: an internal error forced into each handler
// (through the victim session's own methods, or the router's while only the victim is joining), and
// a store that fails on demand under the handlers that write or read it. At most the victim's
// session ends or gets an ERROR; bystander autobahn clients keep working.
import test, { type ExecutionContext } from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openRealm, type RealmConfig } from '../../lib/core/config.ts';
import { silentLogger } from '../../lib/core/log.ts';
import type { Session } from '../../lib/core/session.ts';
import type { Store } from '../../lib/core/store.ts';
import { createRouter, type KitsuneRouter } from '../../lib/index.ts';
import { openStore } from '../../lib/store/open.ts';
import { createWampGate } from '../../lib/wamp/gate.ts';
import { createWampWebSocketServer } from '../../lib/wamp/websocket.ts';
import { RawWamp, T, type Msg } from '../helpers/raw-wamp.ts';
import { wampBystanders, type Bystanders } from '../helpers/wamp-bystanders.ts';

type StoreFault = 'none' | 'reject' | 'throw';

interface Harness {
  router: KitsuneRouter;
  urls: Record<string, string>;
  /** How every store method behaves from now on. */
  storeFault: StoreFault;
  others: Bystanders;
  victim(opts?: { realm?: string }): Promise<{ c: RawWamp; session: Session }>;
}

/** A store whose every method throws or rejects while `fault()` says so. */
function faultyStore(inner: Store, fault: () => StoreFault): Store {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const f = fault();
        if (f === 'throw') throw new Error(`injected store fault in ${String(prop)}`);
        if (f === 'reject') return Promise.reject(new Error(`injected store failure in ${String(prop)}`));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const realms: RealmConfig[] = [
  { ...openRealm('realm1'), history: [{ uri: 'hist', match: 'prefix' }] },
  { ...openRealm('tickets'), auth: { ticket: { alice: { ticket: 'pw', role: 'anonymous' } } } },
];

async function harness(t: ExecutionContext): Promise<Harness> {
  const h = { storeFault: 'none' } as Harness;
  const inner = await openStore({ memory: true });
  const router = createRouter({ realms }, { store: faultyStore(inner, () => h.storeFault), logger: silentLogger });
  await router.open();
  const wss = createWampWebSocketServer(createWampGate(router, silentLogger), { maxMessageBytes: 1 << 20 });
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    h.storeFault = 'none';
    router.close();
    wss.close();
    server.close();
    await inner.close();
  });
  h.router = router;
  h.urls = { wamp: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws` };
  h.others = await wampBystanders(t, h.urls, false);
  h.victim = async (opts = {}) => {
    const c = await RawWamp.session(t, h.urls, { realm: opts.realm });
    const session = router.realm(opts.realm ?? 'realm1').sessions.get(c.sessionId) as Session;
    return { c, session };
  };
  return h;
}

const injected = (): never => {
  throw new TypeError('injected handler fault');
};

/** Replaces one method of one object with `fn` until the test ends. */
function patch<O extends object>(t: ExecutionContext, o: O, name: keyof O & string, fn: (...args: never[]) => unknown): void {
  const had = Object.prototype.hasOwnProperty.call(o, name);
  const before = (o as Record<string, unknown>)[name];
  (o as Record<string, unknown>)[name] = fn;
  t.teardown(() => {
    if (had) (o as Record<string, unknown>)[name] = before;
    else delete (o as Record<string, unknown>)[name];
  });
}

/** ERROR for the request, or ABORT; the session may go on in the first case only. */
async function expectErrorOrAbort(t: ExecutionContext, c: RawWamp, requestType: number, requestId: number): Promise<Msg> {
  const m = await c.next((x) => x[0] === T.ABORT || (x[0] === T.ERROR && x[1] === requestType && x[2] === requestId));
  if (m[0] === T.ABORT) await c.closed;
  else t.is(typeof m[4], 'string');
  return m;
}

// --- internal errors, handler by handler ---

test('HELLO: realm lookup and attach that throw give ABORT to the newcomer only', async (t) => {
  const h = await harness(t);
  const realmOf = h.router.realm.bind(h.router);
  patch(t, h.router, 'realm', (name: string) => (name === 'broken' ? injected() : realmOf(name)));
  const a = await RawWamp.ws(t, h.urls.wamp!);
  const abortA = await a.hello('broken');
  t.is(abortA[0], T.ABORT);
  t.is(typeof abortA[2], 'string');
  await a.closed;

  const attach = h.router.attach.bind(h.router);
  patch(t, h.router, 'attach', ((...args: Parameters<typeof attach>) => (args[0] === 'realm1' ? injected() : attach(...args))) as never);
  const b = await RawWamp.ws(t, h.urls.wamp!);
  t.is((await b.hello())[0], T.ABORT);
  await b.closed;
  await h.others.check();
});

test('AUTHENTICATE: a failure after the CHALLENGE gives ABORT to that client only', async (t) => {
  const h = await harness(t);
  const attach = h.router.attach.bind(h.router);
  patch(t, h.router, 'attach', ((...args: Parameters<typeof attach>) => (args[0] === 'tickets' ? injected() : attach(...args))) as never);
  const c = await RawWamp.ws(t, h.urls.wamp!);
  const challenge = await c.hello('tickets', { authmethods: ['ticket'], authid: 'alice' });
  t.is(challenge[0], T.CHALLENGE);
  c.send([T.AUTHENTICATE, 'pw', {}]);
  t.is((await c.nextOf(T.ABORT))[0], T.ABORT);
  await c.closed;
  await h.others.check();
});

const requestFaults: [string, keyof Session & string, (c: RawWamp, id: number) => Msg, number][] = [
  ['PUBLISH', 'publishNow', (_c, id) => [T.PUBLISH, id, {}, 'topic.a', [1]], T.PUBLISH],
  ['PUBLISH acknowledged', 'publish', (_c, id) => [T.PUBLISH, id, { acknowledge: true }, 'topic.a', [1]], T.PUBLISH],
  ['PUBLISH retained and acknowledged', 'publish', (_c, id) => [T.PUBLISH, id, { acknowledge: true, retain: true }, 'topic.a', [1]], T.PUBLISH],
  ['SUBSCRIBE', 'subscribe', (_c, id) => [T.SUBSCRIBE, id, {}, 'topic.a'], T.SUBSCRIBE],
  ['UNSUBSCRIBE', 'unsubscribe', (_c, id) => [T.UNSUBSCRIBE, id, 1], T.UNSUBSCRIBE],
  ['CALL', 'call', (_c, id) => [T.CALL, id, {}, 'bystander.ping', [1]], T.CALL],
  ['CANCEL', 'cancel', (_c, id) => [T.CANCEL, id, {}], T.CANCEL],
  ['REGISTER', 'register', (_c, id) => [T.REGISTER, id, {}, 'victim.proc'], T.REGISTER],
  ['UNREGISTER', 'unregister', (_c, id) => [T.UNREGISTER, id, 1], T.UNREGISTER],
  ['YIELD', 'yield', (_c, id) => [T.YIELD, id, {}, [1]], T.YIELD],
  ['ERROR for an INVOCATION', 'invocationError', (_c, id) => [T.ERROR, T.INVOCATION, id, {}, 'victim.error'], T.ERROR],
];

for (const [name, method, message, requestType] of requestFaults) {
  for (const how of ['throws', 'rejects'] as const) {
    if (how === 'rejects' && method !== 'publish') continue; // the only handler that awaits its session
    test(`${name}: the session's ${method} ${how}; only that session is answered or ends`, async (t) => {
      const h = await harness(t);
      const { c, session } = await h.victim();
      patch(t, session, method, how === 'throws' ? injected : () => Promise.reject(new TypeError('injected rejection')));
      const id = c.id();
      const msg = message(c, id);
      c.send(msg);
      if (method === 'publishNow') {
        // unacknowledged: no answer is due, and the session goes on
        t.true(await c.quiet(200, (m) => m[0] === T.ABORT));
      } else {
        await expectErrorOrAbort(t, c, requestType, id);
      }
      await h.others.check();
    });
  }
}

test('GOODBYE: leaving that throws ends that session only', async (t) => {
  const h = await harness(t);
  const { c, session } = await h.victim();
  patch(t, session, 'leave', injected);
  c.send([T.GOODBYE, {}, 'wamp.close.normal']);
  await c.closed;
  await h.others.check();
});

test('SUBSCRIBE with get_retained: delivering the retained events throws; the subscriber gets an ERROR or ABORT', async (t) => {
  const h = await harness(t);
  const { c, session } = await h.victim();
  const realm = h.router.realm('realm1');
  const deliver = realm.deliverRetained.bind(realm);
  patch(t, realm, 'deliverRetained', ((s: Session, sub: never) => (s === session ? injected() : deliver(s, sub))) as never);
  const id = c.id();
  c.send([T.SUBSCRIBE, id, { get_retained: true }, 'topic.r']);
  await expectErrorOrAbort(t, c, T.SUBSCRIBE, id);
  await h.others.check();
});

// --- store failures ---

for (const fault of ['reject', 'throw'] as const) {
  test(`a store that ${fault === 'reject' ? 'rejects' : 'throws'}: retained, acknowledged and history publications, get_retained and history subscriptions`, async (t) => {
    const h = await harness(t);
    const { c } = await h.victim();
    h.storeFault = fault;
    const answers: Msg[] = [];
    for (const options of [
      { acknowledge: true, retain: true },
      { acknowledge: true },
      { acknowledge: true, retain: true, when: null, will: null, watch: true },
    ]) {
      answers.push(await c.publishAck('topic.s', [1], undefined, options));
      answers.push(await c.publishAck('hist.s', [1], undefined, options));
    }
    c.publish('topic.s', [2], undefined, { retain: true });
    c.publish('hist.s', [2]);
    for (const a of answers) t.true(a[0] === T.PUBLISHED || (a[0] === T.ERROR && typeof a[4] === 'string'), JSON.stringify(a));
    for (const options of [{ get_retained: true }, { after: 0 }]) {
      const id = c.id();
      c.send([T.SUBSCRIBE, id, options, 'hist.s']);
      const r = await c.reply(T.SUBSCRIBE, id);
      t.true(r[0] === T.SUBSCRIBED || r[0] === T.ERROR, JSON.stringify(r));
    }
    await h.others.check();
    t.false(c.isClosed);
    // the store comes back: so does everything
    h.storeFault = 'none';
    t.is((await c.publishAck('hist.s', [3], undefined, { retain: true }))[0], T.PUBLISHED);
    await h.others.check();
  });
}

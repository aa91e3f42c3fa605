// RawSocket keep-alive across a stall of the router's event loop: a busy-wait longer than the
// keep-alive interval must not drop a session whose client kept sending (its frames wait in the
// kernel until the loop turns again), and a peer that really is silent is still dropped afterwards.
import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import { openRealm } from '../../lib/core/config.ts';
import { silentLogger } from '../../lib/core/log.ts';
import { createRouter } from '../../lib/index.ts';
import { createWampGate } from '../../lib/wamp/gate.ts';
import { acceptRawSocket } from '../../lib/wamp/rawsocket.ts';
import { RawWamp, T } from '../helpers/raw-wamp.ts';
import { sleep, stall, until } from '../helpers/wait.ts';

const KEEPALIVE_MS = 300;
const STALL_MS = 1500;

async function rawSocketServer(t: ExecutionContext): Promise<{ url: string; sessions: () => number }> {
  const router = createRouter({ realms: [openRealm('realm1')] });
  const accept = createWampGate(router, silentLogger);
  const server = net.createServer((socket) => acceptRawSocket(socket, Buffer.alloc(0), accept, { maxMessageBytes: 1 << 16, keepaliveMs: KEEPALIVE_MS }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.close();
    router.close();
  });
  return { url: `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`, sessions: () => router.sessionCount };
}

/** A RawSocket frame of type 1 (PING): any frame proves the client alive. */
const PING = Buffer.from([1, 0, 0, 4, 0x70, 0x69, 0x6e, 0x67]);

test('a stall longer than the keep-alive interval keeps a session that kept sending; a silent peer is still dropped', async (t) => {
  const { url, sessions } = await rawSocketServer(t);
  const live = await RawWamp.rawsocket(t, url);
  const welcome = await live.hello();
  t.is(welcome[0], T.WELCOME);
  const sender = setInterval(() => live.socket.write(PING), 50);
  t.teardown(() => clearInterval(sender));

  const silent = await RawWamp.rawsocket(t, url); // handshake only, then never a byte
  await until(() => sessions() === 1, 3000, 'the session');

  // The stall starts as a keep-alive PING (frame type 1) arrives: the router's tick has just begun a
  // new round, and nothing the client sends next is read before the stall ends.
  await new Promise<void>((resolve) => {
    const onData = (d: Buffer): void => {
      if (d[0] !== 1) return;
      live.socket.off('data', onData);
      stall(STALL_MS);
      resolve();
    };
    live.socket.on('data', onData);
  });

  await silent.closed; // dropped within a few keep-alive ticks of the stall's end (else the test times out)
  await sleep(3 * KEEPALIVE_MS);
  t.false(live.isClosed, 'the client that kept sending was not dropped');
  t.is(sessions(), 1);
  // and its session still works
  const id = live.id();
  live.send([T.CALL, id, {}, 'wamp.session.count']);
  const result = await live.next((m) => m[0] === T.RESULT && m[1] === id);
  t.deepEqual(result[3], [1]);
});

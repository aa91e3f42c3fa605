// WebSocket keep-alive across a stall of the router's event loop, on both stacks (ours and ws): a
// busy-wait longer than the keep-alive interval must not drop a client that kept sending (its
// frames wait in the kernel until the loop turns again), and a peer that really is silent is still
// dropped afterwards.
import test, { type ExecutionContext } from 'ava';
import { createServer } from 'node:http';
import net from 'node:net';
import { WebSocket } from 'ws';
import { createWebSocketServer, type WebSocketServer, type WebSocketServerOptions } from '../../lib/transport/websocket-server.ts';
import { createWsWebSocketServer } from '../../lib/transport/ws-server.ts';
import { sleep, stall, until } from '../helpers/wait.ts';

const KEEPALIVE_MS = 300;
const STALL_MS = 1500;

async function endpoint(t: ExecutionContext, create: (o: WebSocketServerOptions) => WebSocketServer): Promise<{ port: number; wss: WebSocketServer; messages: () => number }> {
  let messages = 0;
  const wss = create({
    limits: { maxMessageBytes: 1024, keepaliveMs: KEEPALIVE_MS },
    subprotocol: () => undefined,
    accept: () => ({
      onMessage: () => void messages++,
      onProtocolError: () => {},
      onClose: () => {},
    }),
  });
  const http = createServer((_req, res) => res.writeHead(404).end());
  http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    wss.close();
    http.closeAllConnections();
    http.close();
  });
  return { port: (http.address() as net.AddressInfo).port, wss, messages: () => messages };
}

/** Completes the upgrade by hand and then never sends a byte (pings unanswered). */
async function silentPeer(t: ExecutionContext, port: number): Promise<{ closed: () => boolean }> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  t.teardown(() => socket.destroy());
  let closed = false;
  let head = '';
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        if (head.startsWith('HTTP/1.1 101')) resolve();
        else reject(new Error(head));
      }
    });
    socket.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
  return { closed: () => closed };
}

const stacks: [string, (o: WebSocketServerOptions) => WebSocketServer][] = [
  ['kitsune', createWebSocketServer],
  ['ws', createWsWebSocketServer],
];

for (const [name, create] of stacks) {
  test.serial(`${name}: a stall longer than the keep-alive interval keeps a client that kept sending; a silent peer is still dropped`, async (t) => {
    const { port, wss, messages } = await endpoint(t, create);
    const live = new WebSocket(`ws://127.0.0.1:${port}/`);
    t.teardown(() => live.terminate());
    let liveClosed = false;
    live.on('close', () => (liveClosed = true));
    live.on('error', () => {});
    await new Promise<void>((r, j) => (live.once('open', () => r()), live.once('error', j)));
    const sender = setInterval(() => live.readyState === WebSocket.OPEN && live.send('tick'), 50);
    t.teardown(() => clearInterval(sender));
    const silent = await silentPeer(t, port);
    await until(() => wss.connections.size === 2 && messages() > 0, 3000, 'both connections');

    // The stall starts as a keep-alive ping arrives: the router's tick has just begun a new round,
    // and nothing the client sends next is read before the stall ends.
    await new Promise<void>((r) => live.once('ping', () => r(stall(STALL_MS))));

    // The silent peer goes within a few keep-alive ticks of the stall's end.
    await until(silent.closed, 5 * KEEPALIVE_MS + 2000, 'the silent peer to be dropped');
    // The sender survives the stall and the ticks after it.
    const before = messages();
    await sleep(3 * KEEPALIVE_MS);
    t.false(liveClosed, 'the client that kept sending was not dropped');
    t.is(live.readyState, WebSocket.OPEN);
    t.true(messages() > before, 'its messages still arrive');
    t.is(wss.connections.size, 1);
  });
}

test.serial('kitsune: a client that answers pings only (sends nothing else) keeps its connection through many intervals', async (t) => {
  const { port, wss } = await endpoint(t, createWebSocketServer);
  const live = new WebSocket(`ws://127.0.0.1:${port}/`); // ws answers every ping with a pong
  t.teardown(() => live.terminate());
  let closed = false;
  live.on('close', () => (closed = true));
  await new Promise<void>((r, j) => (live.once('open', () => r()), live.once('error', j)));
  await sleep(6 * KEEPALIVE_MS);
  t.false(closed);
  t.is(wss.connections.size, 1);
});

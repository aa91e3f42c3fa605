// The WebSocket protections, run against every stack the router can serve /ws with: our own
// (lib/transport/websocket-*.ts) and ws (lib/transport/ws-server.ts), both behind the WAMP gate of a
// real router. ws's protections are the floor: each test here must pass on both. Raw net clients
// write hand-built frames where a real client would not misbehave; the ws client where it does.
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { WebSocket } from 'ws';
import { openRealm } from '../../lib/core/config.ts';
import { silentLogger } from '../../lib/core/log.ts';
import { createRouter, type KitsuneRouter } from '../../lib/index.ts';
import { handshakeServerOptions, type WebSocketSettings } from '../../lib/transport/websocket-limits.ts';
import { createWampGate } from '../../lib/wamp/gate.ts';
import { createWampWebSocketServer } from '../../lib/wamp/websocket.ts';
import { maskedFrame } from '../helpers/websocket-frames.ts';
import { sleep, until } from '../helpers/wait.ts';

const TEXT = 0x1;
const BINARY = 0x2;
const CONTINUATION = 0x0;
const CLOSE = 0x8;

type Engine = 'kitsune' | 'ws';
const ENGINES: Engine[] = ['kitsune', 'ws'];

interface Endpoint {
  port: number;
  router: KitsuneRouter;
}

/** A router with the WAMP gate on /ws of a listening http server, served by `engine`. */
async function endpoint(t: ExecutionContext, engine: Engine, settings: WebSocketSettings = {}, maxMessageBytes = 64 * 1024): Promise<Endpoint> {
  const router = createRouter({ realms: [openRealm('realm1')] });
  const wss = createWampWebSocketServer(createWampGate(router, silentLogger), { maxMessageBytes, engine, ...settings });
  const http: Server = createServer(handshakeServerOptions(settings), (_req, res) => res.writeHead(404).end());
  http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    wss.close();
    http.closeAllConnections();
    http.close();
    router.close();
  });
  return { port: (http.address() as net.AddressInfo).port, router };
}

interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/** A raw client: completes the upgrade by hand, then writes whatever frames a test builds. */
class RawClient {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  closed = false;
  /** The server ended its side (FIN); this client never ends its own. */
  ended = false;

  constructor(port: number, t: ExecutionContext) {
    // allowHalfOpen: the server's FIN is not answered, as a client that keeps TCP open would not
    this.socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    this.socket.on('data', (d: Buffer) => (this.buf = Buffer.concat([this.buf, d])));
    this.socket.on('error', () => {});
    this.socket.on('end', () => (this.ended = true));
    this.socket.on('close', () => (this.closed = true));
    t.teardown(() => this.socket.destroy());
  }

  static async open(t: ExecutionContext, port: number, extra = ''): Promise<RawClient> {
    const c = new RawClient(port, t);
    c.write(upgradeRequest(extra));
    const head = await c.head();
    if (!head.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${head}`);
    return c;
  }

  write(data: Buffer | string): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(data);
  }

  async head(): Promise<string> {
    await until(() => this.buf.includes('\r\n\r\n') || this.closed, 3000, 'the HTTP response');
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return '';
    const head = this.buf.subarray(0, end).toString();
    this.buf = this.buf.subarray(end + 4);
    return head;
  }

  /** Every whole (unmasked) frame the server sent so far, taken off the buffer. */
  frames(): ServerFrame[] {
    const out: ServerFrame[] = [];
    for (;;) {
      if (this.buf.length < 2) return out;
      let len = (this.buf[1] as number) & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return out;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return out;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return out;
      out.push({ opcode: (this.buf[0] as number) & 0x0f, payload: this.buf.subarray(off, off + len) });
      this.buf = this.buf.subarray(off + len);
    }
  }

  /** The status code of the server's close frame, waiting for it. */
  async closeCode(ms = 3000): Promise<number> {
    const seen: ServerFrame[] = [];
    let close: ServerFrame | undefined;
    await until(
      () => {
        seen.push(...this.frames());
        close = seen.find((f) => f.opcode === CLOSE);
        return close !== undefined || this.closed;
      },
      ms,
      'a close frame',
    );
    if (!close) throw new Error('the connection ended without a close frame');
    return close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005;
  }

  /** The next WAMP message (JSON text frame) from the server. */
  async message(ms = 3000): Promise<unknown[]> {
    let got: ServerFrame | undefined;
    const pending: ServerFrame[] = [];
    await until(
      () => {
        pending.push(...this.frames());
        got = pending.find((f) => f.opcode === TEXT);
        return got !== undefined || this.closed;
      },
      ms,
      'a WAMP message',
    );
    if (!got) throw new Error('the connection ended');
    return JSON.parse(got.payload.toString()) as unknown[];
  }
}

function upgradeRequest(extra = ''): string {
  return (
    'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
    `Sec-WebSocket-Protocol: wamp.2.json\r\n${extra}\r\n`
  );
}

const HELLO = JSON.stringify([1, 'realm1', { roles: { callee: {}, caller: {} } }]);

for (const engine of ENGINES) {
  test(`${engine}: empty continuation frames without end are cut off at the fragment limit (1008)`, async (t) => {
    const { port, router } = await endpoint(t, engine, { maxFragments: 64, closeTimeoutMs: 300 });
    const c = await RawClient.open(t, port);
    // No HELLO: the reader alone must bound this. Far more fragments than the limit, all empty.
    const empty = maskedFrame(CONTINUATION, '', { fin: false });
    c.write(Buffer.concat([maskedFrame(TEXT, '[', { fin: false }), ...Array.from({ length: 1000 }, () => empty)]));
    t.is(await c.closeCode(), 1008);
    await until(() => c.ended, 3000, 'the server to end the connection');
    t.is(router.sessionCount, 0);
  });

  test(`${engine}: fragments adding up past the message limit are cut off (1009)`, async (t) => {
    const { port } = await endpoint(t, engine, {}, 1024);
    const c = await RawClient.open(t, port);
    const part = 'x'.repeat(400);
    c.write(Buffer.concat([maskedFrame(BINARY, part, { fin: false }), maskedFrame(CONTINUATION, part, { fin: false }), maskedFrame(CONTINUATION, part, { fin: false })]));
    t.is(await c.closeCode(), 1009);
  });

  test(`${engine}: one frame announcing more than the message limit is cut off at its header (1009)`, async (t) => {
    const { port } = await endpoint(t, engine, {}, 1024);
    const c = await RawClient.open(t, port);
    const frame = maskedFrame(BINARY, Buffer.alloc(4096, 0x61));
    c.write(frame.subarray(0, 20)); // the header and a little: the rest never comes
    t.is(await c.closeCode(), 1009);
  });

  test(`${engine}: a peer that sends CLOSE and keeps TCP open is released within the close timeout; its registrations go`, async (t) => {
    const { port, router } = await endpoint(t, engine, { closeTimeoutMs: 300 });
    const c = await RawClient.open(t, port);
    c.write(maskedFrame(TEXT, HELLO));
    t.is((await c.message())[0], 2); // WELCOME
    c.write(maskedFrame(TEXT, JSON.stringify([64, 1, {}, 'held.proc'])));
    t.is((await c.message())[0], 65); // REGISTERED
    const caller = router.connect('realm1');
    const pending = caller.call('held.proc', []).then(
      () => 'answered',
      (err: { uri?: string }) => err.uri ?? String(err),
    );
    await sleep(50);
    c.write(maskedFrame(CLOSE, Buffer.from([0x03, 0xe8]))); // 1000, and TCP stays open
    t.is(await pending, 'wamp.error.canceled', 'the call pending on it fails');
    t.is(router.realm('realm1').sessions.size, 1, 'only the caller is left');
    await until(() => c.ended, 3000, 'the server to end the TCP connection');
    const err = await caller.call('held.proc', []).then(
      () => undefined,
      (e: { uri?: string }) => e.uri,
    );
    t.is(err, 'wamp.error.no_such_procedure');
  });

  test(`${engine}: a client that never finishes its upgrade request is dropped within the handshake timeout`, async (t) => {
    const { port } = await endpoint(t, engine, { handshakeTimeoutMs: 300 });
    const c = new RawClient(port, t);
    c.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n'); // and nothing more
    const started = Date.now();
    await until(() => c.ended || c.closed, 5000, 'the server to drop the slow handshake');
    t.true(Date.now() - started >= 250, 'not before the timeout');
  });

  test(`${engine}: an Origin not allowed is refused with 403; an allowed one and none pass`, async (t) => {
    const { port } = await endpoint(t, engine, { allowedOrigins: ['https://app.example'] });
    const bad = new RawClient(port, t);
    bad.write(upgradeRequest('Origin: https://evil.example\r\n'));
    t.regex(await bad.head(), /^HTTP\/1\.1 403/);
    await RawClient.open(t, port, 'Origin: https://app.example\r\n');
    await RawClient.open(t, port);
    t.pass();
  });

  test(`${engine}: compression offered by the client but not configured is not negotiated`, async (t) => {
    const { port } = await endpoint(t, engine);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ['wamp.2.json'], { perMessageDeflate: true });
    t.teardown(() => ws.terminate());
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    t.is(ws.extensions, '');
    const c = await RawClient.open(t, port, 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n');
    c.write(Buffer.concat([Buffer.from([0xc1]), maskedFrame(TEXT, 'x').subarray(1)])); // RSV1 set anyway
    t.is(await c.closeCode(), 1002);
  });

  test(`${engine}: compression configured is negotiated, works, and a deflate bomb is cut at the message limit (1009)`, async (t) => {
    const { port } = await endpoint(t, engine, { compression: { threshold: 64 } }, 64 * 1024);
    const open = async (): Promise<WebSocket> => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ['wamp.2.json'], { perMessageDeflate: { threshold: 0 } });
      t.teardown(() => ws.terminate());
      await new Promise((r, j) => ws.once('open', r).once('error', j));
      return ws;
    };
    const ws = await open();
    t.regex(ws.extensions, /permessage-deflate/);
    const welcome = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
    ws.send(HELLO);
    t.is((JSON.parse(await welcome) as unknown[])[0], 2);
    // A large echo through the router, compressed both ways.
    ws.send(JSON.stringify([64, 1, {}, 'echo']));
    await new Promise((r) => ws.once('message', r));
    const bomb = await open();
    const closed = new Promise<number>((r) => bomb.once('close', (code) => r(code)));
    bomb.on('error', () => {});
    bomb.send(Buffer.alloc(8 * 1024 * 1024, 0x20)); // ~8 KiB on the wire, 8 MiB inflated
    t.is(await closed, 1009);
  });
}

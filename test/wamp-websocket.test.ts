// RFC 6455 at the socket level for the router's own WebSocket server (lib/transport/websocket-*.ts
// behind lib/wamp/websocket.ts), with
// real clients on 127.0.0.1: the `ws` client where it can say what we need, and a raw `net` client
// writing hand-built (masked) frames and upgrade requests where it cannot. Covers the opening
// handshake and its refusals, fragmentation with control frames between fragments, UTF-8 checks
// (1007), protocol errors (1002), the message size limit (1009), the closing handshake, frames split
// across or packed into TCP reads, and the 16/64-bit lengths with the word-wise unmask.
import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { serializerByName } from '../lib/wamp/serializers.ts';
import type { AcceptWampTransport } from '../lib/wamp/transport.ts';
import { createWampWebSocketServer } from '../lib/wamp/websocket.ts';
import { frameHeader, maskedFrame, maskingKey } from './helpers/websocket-frames.ts';

const TEXT = 0x1;
const BINARY = 0x2;
const CONTINUATION = 0x0;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;
const WELCOME_ID = 123456789;
const json = serializerByName('json');
const msgpack = serializerByName('msgpack');

// --- the server: an echo router behind a plain http server ---

interface Seen {
  opened: number;
  messages: unknown[][];
  protocolErrors: string[];
  closed: number;
}

/**
 * HELLO → WELCOME, anything else echoed (tests send EVENT-shaped messages, whose arguments the
 * serializers never leave encoded). A protocol error is answered as the session layer does: ABORT,
 * then close 1002.
 */
function echoRouter(seen: Seen): AcceptWampTransport {
  return (t) => {
    seen.opened++;
    return {
      onMessage(msg) {
        seen.messages.push(msg);
        t.send(msg[0] === 1 ? [2, WELCOME_ID, { roles: { broker: {}, dealer: {} } }] : msg);
      },
      onProtocolError(message) {
        seen.protocolErrors.push(message);
        t.send([3, { message }, 'wamp.error.protocol_violation']);
        t.close(1002, message);
      },
      onClose() {
        seen.closed++;
      },
    };
  };
}

interface Harness {
  port: number;
  seen: Seen;
  /** The server's end of every upgraded connection, in order. */
  upgraded: Duplex[];
  raw(): RawPeer;
  ws(protocol?: string): Promise<WebSocket>;
}

async function start(t: ExecutionContext, maxMessageBytes = 1 << 20): Promise<Harness> {
  const seen: Seen = { opened: 0, messages: [], protocolErrors: [], closed: 0 };
  const wss = createWampWebSocketServer(echoRouter(seen), { maxMessageBytes });
  const http = createServer((_req, res) => res.writeHead(404).end());
  const upgraded: Duplex[] = [];
  const serverSockets = new Set<net.Socket>();
  const clients: { destroy(): void }[] = [];
  http.on('connection', (s: net.Socket) => serverSockets.add(s));
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.push(socket);
    wss.handleUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as net.AddressInfo).port;
  t.teardown(async () => {
    for (const c of clients) c.destroy();
    wss.close();
    for (const s of serverSockets) s.destroy();
    await new Promise((resolve) => http.close(resolve));
  });
  return {
    port,
    seen,
    upgraded,
    raw() {
      const peer = new RawPeer(port);
      clients.push({ destroy: () => peer.socket.destroy() });
      return peer;
    },
    async ws(protocol = 'wamp.2.json') {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, [protocol]);
      ws.on('error', () => {});
      clients.push({ destroy: () => ws.terminate() });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
        ws.once('error', reject);
      });
      return ws;
    },
  };
}

/** Resolves when `cond` holds, polling; throws after `ms`. */
async function until(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// --- client frames, built by hand ---

function closePayload(code: number, reason: Buffer | string = ''): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code, 0);
  return Buffer.concat([b, Buffer.from(reason)]);
}

// --- the raw client ---

interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** 2, 4 or 10 bytes (plus 4 if masked, which a server must never do). */
  headerLength: number;
  payload: Buffer;
}

interface HttpHead {
  status: number;
  statusLine: string;
  headers: Record<string, string>;
}

function randomKey(): string {
  return randomBytes(16).toString('base64');
}

function acceptFor(key: string): string {
  return createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
}

/** An upgrade request for /ws; a null key or protocol leaves that header out. */
function upgradeRequest({ method = 'GET', key = randomKey() as string | null, version = '13', protocol = 'wamp.2.json' as string | null, extra = '' } = {}): string {
  return (
    `${method} /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    (key === null ? '' : `Sec-WebSocket-Key: ${key}\r\n`) +
    `Sec-WebSocket-Version: ${version}\r\n` +
    (protocol === null ? '' : `Sec-WebSocket-Protocol: ${protocol}\r\n`) +
    (method === 'GET' ? '' : 'Content-Length: 0\r\n') +
    `${extra}\r\n`
  );
}

class RawPeer {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  /** The server ended its side (FIN), or the socket is gone altogether. */
  gotEnd = false;
  closed = false;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.on('data', (d: Buffer) => (this.buf = Buffer.concat([this.buf, d])));
    this.socket.on('end', () => (this.gotEnd = true));
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.closed = true));
  }

  write(...bufs: Buffer[]): Promise<void> {
    return new Promise((resolve) => this.socket.write(Buffer.concat(bufs), () => resolve()));
  }

  private async take(n: number, ms = 3000): Promise<Buffer> {
    await until(() => this.buf.length >= n || this.closed, ms, `${n} bytes from the server`);
    if (this.buf.length < n) throw new Error(`connection closed with ${this.buf.length} of ${n} bytes`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** The HTTP response head (anything after it stays for frame()). */
  async head(): Promise<HttpHead> {
    await until(() => this.buf.includes('\r\n\r\n') || this.closed, 3000, 'an HTTP response');
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`no HTTP response head: ${JSON.stringify(this.buf.toString())}`);
    const [statusLine = '', ...lines] = (await this.take(end + 4)).toString('latin1').slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0), statusLine, headers };
  }

  /** Completes an opening handshake offering `protocol`. */
  async upgrade(protocol = 'wamp.2.json'): Promise<this> {
    await this.write(Buffer.from(upgradeRequest({ protocol })));
    const head = await this.head();
    if (head.status !== 101) throw new Error(`upgrade refused: ${head.statusLine}`);
    return this;
  }

  async frame(ms?: number): Promise<ServerFrame> {
    const h = await this.take(2, ms);
    const b0 = h[0] as number;
    const b1 = h[1] as number;
    let length = b1 & 0x7f;
    let headerLength = 2;
    if (length === 126) {
      length = (await this.take(2)).readUInt16BE(0);
      headerLength = 4;
    } else if (length === 127) {
      length = Number((await this.take(8)).readBigUInt64BE(0));
      headerLength = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked) await this.take(4);
    return { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, headerLength, payload: Buffer.from(await this.take(length)) };
  }

  /** Whether nothing at all (no byte, no FIN) arrives within `ms`; what does arrive is left unread. */
  async quiet(ms: number): Promise<boolean> {
    await sleep(ms);
    return this.buf.length === 0 && !this.gotEnd;
  }

  /** Reads up to and including the next close frame: its status code (undefined: none) and reason, and the frames before it. */
  async nextClose(): Promise<{ code: number | undefined; reason: string; before: ServerFrame[] }> {
    const before: ServerFrame[] = [];
    for (;;) {
      const f = await this.frame();
      if (f.opcode !== CLOSE) {
        before.push(f);
        continue;
      }
      return { code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : undefined, reason: f.payload.subarray(2).toString(), before };
    }
  }

  /** Waits for the server to end the TCP connection. */
  async ended(ms = 2000): Promise<void> {
    await until(() => this.gotEnd || this.closed, ms, 'the server to end the TCP connection');
  }

  /** The next message frame as JSON. */
  async json(): Promise<unknown> {
    const f = await this.frame();
    if (f.opcode !== TEXT) throw new Error(`expected a text frame, got opcode ${f.opcode}`);
    return JSON.parse(f.payload.toString());
  }
}

/** An EVENT whose JSON is exactly `size` bytes. */
function jsonEventOfSize(id: number, size: number): { msg: unknown[]; bytes: Buffer } {
  const base = json.encode([36, id, 2, {}, ['']]).length;
  const msg = [36, id, 2, {}, ['x'.repeat(size - base)]];
  return { msg, bytes: json.encode(msg) };
}

/** An EVENT carrying random bytes whose msgpack is exactly `size` bytes. */
function binaryEventOfSize(id: number, size: number): { blob: Buffer; bytes: Buffer } {
  let n = size;
  for (let tries = 0; tries < 5; tries++) {
    const blob = randomBytes(n);
    const bytes = msgpack.encode([36, id, 2, {}, [blob]]);
    if (bytes.length === size) return { blob, bytes };
    n += size - bytes.length;
  }
  throw new Error(`no msgpack EVENT of exactly ${size} bytes`);
}

/** The blob of a binary EVENT the echo router sent back. */
function echoedBlob(payload: Buffer): Buffer {
  const msg = msgpack.decode(payload);
  const blob = (msg[4] as Uint8Array[])[0] as Uint8Array;
  return Buffer.from(blob.buffer, blob.byteOffset, blob.length);
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

function closeEvent(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

const HELLO = [1, 'realm1', { roles: { subscriber: {} } }];
const WELCOME = [2, WELCOME_ID, { roles: { broker: {}, dealer: {} } }];

// --- 1. the opening handshake ---

test('handshake: the test computes Sec-WebSocket-Accept as RFC 6455 does', (t) => {
  t.is(acceptFor('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='); // RFC 6455 section 1.3
});

test('handshake: a correct upgrade gets 101, the right Sec-WebSocket-Accept and our pick of the subprotocols, no extension', async (t) => {
  const h = await start(t);
  const peer = h.raw();
  const key = randomKey();
  await peer.write(Buffer.from(upgradeRequest({ key, protocol: 'wamp.2.ubjson, wamp.2.msgpack,wamp.2.json', extra: 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' })));
  const head = await peer.head();
  t.is(head.statusLine, 'HTTP/1.1 101 Switching Protocols');
  t.is(head.headers['upgrade']?.toLowerCase(), 'websocket');
  t.is(head.headers['connection']?.toLowerCase(), 'upgrade');
  t.is(head.headers['sec-websocket-accept'], acceptFor(key));
  t.is(head.headers['sec-websocket-protocol'], 'wamp.2.msgpack', "the first of the client's list that we speak");
  t.false('sec-websocket-extensions' in head.headers, 'no extension is accepted');
  // and it is a working WebSocket
  await peer.write(maskedFrame(BINARY, msgpack.encode(HELLO)));
  const welcome = await peer.frame();
  t.is(welcome.opcode, BINARY);
  t.false(welcome.masked);
  t.deepEqual(msgpack.decode(welcome.payload), WELCOME);
  t.is(h.seen.opened, 1);
});

for (const [what, request, status, header] of [
  ['POST', upgradeRequest({ method: 'POST' }), 405, undefined],
  ['Sec-WebSocket-Version 12', upgradeRequest({ version: '12' }), 426, ['sec-websocket-version', /\b13\b/]],
  ['a malformed Sec-WebSocket-Key', upgradeRequest({ key: 'not-sixteen-bytes' }), 400, undefined],
  ['a Sec-WebSocket-Key of 15 bytes', upgradeRequest({ key: randomBytes(15).toString('base64') }), 400, undefined],
  ['no Sec-WebSocket-Key', upgradeRequest({ key: null }), 400, undefined],
  ['no acceptable subprotocol', upgradeRequest({ protocol: 'wamp.2.ubjson, mqtt' }), 400, undefined],
  ['no subprotocol at all', upgradeRequest({ protocol: null }), 400, undefined],
] as const) {
  test(`handshake: ${what} is refused with ${status} and the connection closed`, async (t) => {
    const h = await start(t);
    const peer = h.raw();
    await peer.write(Buffer.from(request));
    const head = await peer.head();
    t.is(head.status, status, head.statusLine);
    t.false('sec-websocket-accept' in head.headers);
    if (header) t.regex(head.headers[header[0]] ?? '', header[1]);
    await peer.ended();
    t.is(h.seen.opened, 0);
  });
}

// --- 2. fragmentation, with control frames between fragments (ws client) ---

test('ws client: a fragmented HELLO with a ping between its fragments gets a WELCOME; the ping is answered at once', async (t) => {
  const h = await start(t);
  const ws = await h.ws();
  const pongs: string[] = [];
  ws.on('pong', (data) => pongs.push(data.toString()));
  const reply = nextMessage(ws);
  const hello = JSON.stringify(HELLO);
  ws.send(hello.slice(0, 5), { fin: false });
  ws.ping('abc');
  await until(() => pongs.length === 1, 3000, 'the pong');
  t.deepEqual(pongs, ['abc']);
  t.deepEqual(h.seen.messages, [], 'nothing is delivered before the last fragment');
  ws.send(hello.slice(5, 12), { fin: false });
  ws.send(hello.slice(12), { fin: true });
  const welcome = await reply;
  t.false(welcome.isBinary);
  t.deepEqual(JSON.parse(welcome.data.toString()), WELCOME);
  t.deepEqual(h.seen.messages, [HELLO]);
});

test('ws client: a binary message in four fragments, pinged between each, is echoed intact', async (t) => {
  const h = await start(t);
  const ws = await h.ws('wamp.2.msgpack');
  const pongs: string[] = [];
  ws.on('pong', (data) => pongs.push(data.toString()));
  const { blob, bytes } = binaryEventOfSize(7, 3000);
  const reply = nextMessage(ws);
  const cuts = [0, 1, 700, 2999, bytes.length];
  for (let i = 0; i < 4; i++) {
    ws.send(bytes.subarray(cuts[i], cuts[i + 1]), { binary: true, fin: i === 3 });
    if (i < 3) ws.ping(`p${i}`);
  }
  const echo = await reply;
  t.true(echo.isBinary);
  t.true(echoedBlob(echo.data).equals(blob));
  t.deepEqual(pongs, ['p0', 'p1', 'p2']);
  t.is(h.seen.messages.length, 1, 'one message, not four');
});

// --- 3. UTF-8 across fragments ---

test('raw client: a text message whose multi-byte characters are split across fragments is accepted', async (t) => {
  const h = await start(t);
  const peer = await h.raw().upgrade();
  const msg = [36, 1, 2, {}, ['a€b😀c']];
  const bytes = json.encode(msg);
  const euro = bytes.indexOf(Buffer.from('€'));
  const emoji = bytes.indexOf(Buffer.from('😀'));
  // fragments end after the euro's first byte, after its second, and in the middle of the emoji
  const cuts = [0, euro + 1, euro + 2, emoji + 2, bytes.length];
  const frames = cuts.slice(0, -1).map((from, i) => maskedFrame(i === 0 ? TEXT : CONTINUATION, bytes.subarray(from, cuts[i + 1]), { fin: i === cuts.length - 2 }));
  await peer.write(...frames);
  t.deepEqual(await peer.json(), msg);
  t.deepEqual(h.seen.messages, [msg]);
});

// --- 4. invalid UTF-8: 1007 ---

test('ws client: a text message that is not UTF-8 closes with 1007; other connections carry on', async (t) => {
  const h = await start(t);
  const bad = await h.ws();
  const good = await h.ws();
  const closed = closeEvent(bad);
  bad.send(Buffer.concat([Buffer.from('[36,1,2,{},["'), Buffer.from([0xc3, 0x28]), Buffer.from('"]]')]), { binary: false });
  t.is((await closed).code, 1007);
  t.regex(h.seen.protocolErrors[0] ?? '', /UTF-8/);
  await until(() => h.seen.closed === 1, 3000, "the server's onClose");
  const reply = nextMessage(good);
  good.send(JSON.stringify([36, 2, 2, {}, ['still here']]));
  t.deepEqual(JSON.parse((await reply).data.toString()), [36, 2, 2, {}, ['still here']]);
  t.is(h.seen.closed, 1);
});

for (const [what, frames] of [
  ['a fragmented text message that ends inside a character', () => [maskedFrame(TEXT, '[36,1,2,{},["', { fin: false }), maskedFrame(CONTINUATION, Buffer.from([0xe2, 0x82]))]],
  ['a text message with an encoded surrogate', () => [maskedFrame(TEXT, Buffer.concat([Buffer.from('["'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"]')]))]],
  ['a close reason that is not UTF-8', () => [maskedFrame(CLOSE, closePayload(1000, Buffer.from([0xff, 0xfe])))]],
] as const) {
  test(`raw client: ${what} closes with 1007`, async (t) => {
    const h = await start(t);
    const peer = await h.raw().upgrade();
    await peer.write(...frames());
    const close = await peer.nextClose();
    t.is(close.code, 1007);
    t.deepEqual(close.before, []);
    t.deepEqual(h.seen.messages, []);
  });
}

// --- 5. protocol errors: 1002 ---

const protocolErrors: [string, () => Buffer[], RegExp][] = [
  ['an unmasked frame', () => [maskedFrame(TEXT, JSON.stringify(HELLO), { mask: false })], /masked/],
  ['RSV1 set', () => [maskedFrame(TEXT, JSON.stringify(HELLO), { rsv: 4 })], /RSV/],
  ['RSV3 set on a ping', () => [maskedFrame(PING, 'x', { rsv: 1 })], /RSV/],
  ['opcode 3', () => [maskedFrame(3, 'x')], /opcode 3/],
  ['opcode 0xB (a reserved control opcode)', () => [maskedFrame(0xb, 'x')], /opcode 11/],
  ['a continuation frame with nothing to continue', () => [maskedFrame(CONTINUATION, JSON.stringify(HELLO))], /continuation/],
  ['a new text message inside a fragmented one', () => [maskedFrame(TEXT, '[36,', { fin: false }), maskedFrame(TEXT, '1]')], /fragmented one/],
  ['a ping of 126 bytes', () => [maskedFrame(PING, Buffer.alloc(126, 0x61))], /longer than 125/],
  ['a fragmented ping (FIN clear)', () => [maskedFrame(PING, 'abc', { fin: false })], /fragmented control/],
  ['a close frame with status 1005 in it', () => [maskedFrame(CLOSE, closePayload(1005))], /1005/],
  ['a close frame with status 999 in it', () => [maskedFrame(CLOSE, closePayload(999))], /999/],
  ['a close frame with a 1-byte body', () => [maskedFrame(CLOSE, Buffer.from([3]))], /1-byte/],
];

for (const [what, frames, message] of protocolErrors) {
  test(`raw client: ${what} gets a close frame with 1002, nothing else, and the TCP connection ends`, async (t) => {
    const h = await start(t);
    const peer = await h.raw().upgrade();
    await peer.write(...frames(), maskedFrame(TEXT, JSON.stringify([36, 9, 2, {}]))); // never read
    const close = await peer.nextClose();
    t.is(close.code, 1002);
    t.regex(close.reason, message);
    t.deepEqual(close.before, [], 'the close frame comes first; nothing after the bad frame is read');
    t.deepEqual(h.seen.messages, []);
    t.regex(h.seen.protocolErrors[0] ?? '', message);
    // answer as ws does: a close frame, then our FIN
    await peer.write(maskedFrame(CLOSE, closePayload(1002)));
    peer.socket.end();
    await peer.ended();
    await until(() => h.seen.closed === 1, 3000, "the server's onClose");
  });
}

test('raw client: an undecodable message gets ABORT, then close 1002; the answering close frame makes the server end the TCP connection', async (t) => {
  const h = await start(t);
  const peer = await h.raw().upgrade();
  await peer.write(maskedFrame(TEXT, '{"not": "a WAMP message"}'));
  const close = await peer.nextClose();
  t.is(close.code, 1002);
  t.is(close.before.length, 1);
  t.is(JSON.parse(close.before[0]?.payload.toString() ?? '')[2], 'wamp.error.protocol_violation');
  await peer.write(maskedFrame(CLOSE, closePayload(1002))); // no FIN from us
  await peer.ended();
  t.pass();
});

// RFC 6455 7.1.7: to _Fail the WebSocket Connection_ the server sends a close frame and then MUST close
// the TCP connection, processing nothing more from the peer: it must not wait for the peer's FIN (or
// for the close timeout, 30 s), since the peer's answering close frame is never read.
for (const [what, frames, code] of [
  ['an unmasked frame', () => [maskedFrame(TEXT, '[]', { mask: false })], 1002],
  ['a close frame with status 1005', () => [maskedFrame(CLOSE, closePayload(1005))], 1002],
  ['a text message that is not UTF-8', () => [maskedFrame(TEXT, Buffer.from([0x5b, 0xff, 0x5d]))], 1007],
  ['a header announcing more than maxMessageBytes', () => [frameHeader(BINARY, 1 << 21, { key: maskingKey() })], 1009],
] as const) {
  test(`raw client: after ${what} (${code}) the server ends the TCP connection without waiting for the client's FIN`, async (t) => {
    const h = await start(t);
    const peer = await h.raw().upgrade();
    await peer.write(...frames());
    t.is((await peer.nextClose()).code, code);
    await peer.write(maskedFrame(CLOSE, closePayload(code))); // the answer RFC 6455 5.5.1 asks for, no FIN
    await peer.ended();
    t.pass();
  });
}

// --- 6. the message size limit: 1009 ---

test('raw client: a frame header announcing more than maxMessageBytes closes with 1009 before any payload is sent', async (t) => {
  const h = await start(t, 1024);
  for (const length of [1025, 2000, 2 ** 40]) {
    const peer = await h.raw().upgrade();
    await peer.write(frameHeader(TEXT, length, { key: maskingKey() }));
    const close = await peer.nextClose();
    t.is(close.code, 1009, `announcing ${length}`);
    t.regex(close.reason, /exceeds the limit of 1024 bytes/);
    t.deepEqual(close.before, []);
  }
  t.deepEqual(h.seen.messages, []);
});

test('raw client: a frame of exactly maxMessageBytes is accepted, even when its header comes first', async (t) => {
  const h = await start(t, 1024);
  const peer = await h.raw().upgrade();
  const { msg, bytes } = jsonEventOfSize(1, 1024);
  t.is(bytes.length, 1024);
  const frame = maskedFrame(TEXT, bytes);
  await peer.write(frame.subarray(0, 8)); // header and masking key
  t.true(await peer.quiet(100), 'the header alone is no reason to close');
  await peer.write(frame.subarray(8));
  t.deepEqual(await peer.json(), msg);
});

test('ws client: a fragmented message whose fragments together exceed maxMessageBytes closes with 1009', async (t) => {
  const h = await start(t, 1024);
  const ws = await h.ws();
  const closed = closeEvent(ws);
  ws.send(Buffer.alloc(600, 0x20), { binary: true, fin: false });
  ws.send(Buffer.alloc(600, 0x20), { binary: true, fin: true });
  t.is((await closed).code, 1009);
  t.regex(h.seen.protocolErrors[0] ?? '', /exceeds the limit of 1024 bytes/);
  t.deepEqual(h.seen.messages, []);
  await until(() => h.seen.closed === 1, 3000, "the server's onClose");
});

// --- 7. the closing handshake started by the client ---

test('ws client: closing with 4000 "bye" is echoed with 4000, and the server sees the connection close', async (t) => {
  const h = await start(t);
  const ws = await h.ws();
  const closed = closeEvent(ws);
  ws.close(4000, 'bye');
  t.is((await closed).code, 4000, 'the code the server echoed');
  await until(() => h.seen.closed === 1, 3000, "the server's onClose");
  t.deepEqual(h.seen.protocolErrors, []);
});

test('raw client: the server echoes a close frame, then ends the TCP connection, and reads nothing after it', async (t) => {
  const h = await start(t);
  const peer = await h.raw().upgrade();
  await peer.write(maskedFrame(CLOSE, closePayload(3001, 'done')), maskedFrame(TEXT, JSON.stringify([36, 1, 2, {}])));
  const close = await peer.nextClose();
  t.is(close.code, 3001, 'the status code echoed');
  t.deepEqual(close.before, []);
  await peer.ended();
  t.true(peer.gotEnd, 'a FIN, not a reset');
  await until(() => h.seen.closed === 1, 3000, "the server's onClose");
  t.deepEqual(h.seen.messages, [], 'the text frame after the close frame is not read');
});

test('raw client: a close frame without a status code is echoed without one', async (t) => {
  const h = await start(t);
  const peer = await h.raw().upgrade();
  await peer.write(maskedFrame(CLOSE, Buffer.alloc(0)));
  const f = await peer.frame();
  t.is(f.opcode, CLOSE);
  t.is(f.payload.length, 0);
  await peer.ended();
  t.pass();
});

// --- 8. frames split across TCP reads, and many frames in one ---

test('raw client: frames split byte by byte across TCP writes still decode (7-, 16- and 64-bit lengths)', async (t) => {
  const h = await start(t);
  const peer = await h.raw().upgrade();
  const chunks: number[] = [];
  h.upgraded[0]?.on('data', (d: Buffer) => chunks.push(d.length));
  const small = jsonEventOfSize(1, 60);
  const medium = jsonEventOfSize(2, 200);
  const large = jsonEventOfSize(3, 70_000);
  for (const { msg, bytes } of [small, medium]) {
    const frame = maskedFrame(TEXT, bytes);
    for (const byte of frame) {
      await peer.write(Buffer.from([byte]));
      await sleep(1);
    }
    t.deepEqual(await peer.json(), msg);
  }
  // the 64-bit length's header (and key) byte by byte, then the payload in odd-sized pieces
  const frame = maskedFrame(TEXT, large.bytes);
  for (let i = 0; i < 14; i++) {
    await peer.write(frame.subarray(i, i + 1));
    await sleep(1);
  }
  for (let i = 14; i < frame.length; i += 4999) await peer.write(frame.subarray(i, i + 4999));
  t.deepEqual(await peer.json(), large.msg);
  t.true(chunks.length > 100, `the server read ${chunks.length} chunks`);
});

test('raw client: many frames in one write all decode, in order, with a ping among them', async (t) => {
  const h = await start(t);
  const peer = await h.raw().upgrade();
  const msgs = Array.from({ length: 60 }, (_, i) => jsonEventOfSize(i + 1, 20 + i * 7));
  const frames = msgs.map(({ bytes }) => maskedFrame(TEXT, bytes));
  frames.splice(30, 0, maskedFrame(PING, 'mid'));
  await peer.write(...frames);
  const got: unknown[] = [];
  for (let i = 0; i < 61; i++) {
    const f = await peer.frame();
    got.push(f.opcode === PONG ? `pong ${f.payload.toString()}` : JSON.parse(f.payload.toString()));
  }
  const expected: unknown[] = msgs.map((m) => m.msg);
  expected.splice(30, 0, 'pong mid');
  t.deepEqual(got, expected);
});

// --- 9. long payloads: 64-bit lengths, the word-wise unmask ---

test('ws client: a 70,000-byte and a 300-byte binary message round-trip intact', async (t) => {
  const h = await start(t);
  const ws = await h.ws('wamp.2.msgpack');
  for (const size of [70_000, 300]) {
    const { blob, bytes } = binaryEventOfSize(size, size);
    t.is(bytes.length, size);
    const reply = nextMessage(ws);
    ws.send(bytes, { binary: true });
    const echo = await reply;
    t.true(echo.isBinary);
    t.is(echo.data.length, size);
    t.true(echoedBlob(echo.data).equals(blob), `${size} bytes`);
  }
});

test('raw client: long payloads at every alignment in one write, and a 64-bit length, are unmasked right; the echo uses 16- and 64-bit lengths', async (t) => {
  const h = await start(t);
  const peer = await h.raw().upgrade('wamp.2.msgpack');
  // 300..303 bytes one after another: each payload starts at another offset mod 4
  const sized = [127, 128, 300, 301, 302, 303, 1023, 70_000].map((size, i) => binaryEventOfSize(i + 1, size));
  await peer.write(maskedFrame(PING, 'x'), ...sized.map(({ bytes }) => maskedFrame(BINARY, bytes)));
  t.is((await peer.frame()).opcode, PONG);
  for (const { blob, bytes } of sized) {
    const f = await peer.frame();
    t.is(f.opcode, BINARY);
    t.false(f.masked);
    t.true(f.fin);
    t.is(f.rsv, 0);
    t.is(f.headerLength, bytes.length < 126 ? 2 : bytes.length < 0x10000 ? 4 : 10);
    t.is(f.payload.length, bytes.length);
    t.true(echoedBlob(f.payload).equals(blob), `${bytes.length} bytes`);
  }
});

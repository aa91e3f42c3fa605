// A lean WAMP client for the benchmark: just enough protocol (HELLO/WELCOME, SUBSCRIBE, PUBLISH,
// REGISTER/YIELD, CALL/RESULT) over a hand-written WebSocket or RawSocket framing on a plain TCP
// socket, so that the client does as little work per message as possible and is not the bottleneck.
//
// WebSocket: client frames are masked with the all-zero key (allowed by RFC 6455, and it makes
// masking a no-op); server frames are parsed in place. RawSocket: handshake 0x7F, (0xF << 4) | id,
// 0, 0 (max message length 2^24) and 4-byte frame headers.
//
// The same client talks to the relay (test/bench/relay.ts): it then skips the WAMP session and
// announces a role instead (WebSocket: in the URL query; RawSocket: as the first frame).
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Packr } from 'msgpackr';

export type TransportKind = 'websocket' | 'rawsocket';
export type SerializerName = 'json' | 'msgpack';

export interface Codec {
  readonly name: SerializerName;
  readonly subprotocol: string;
  readonly rawSocketId: number;
  /** JSON goes out as WebSocket text frames. */
  readonly binary: boolean;
  encode(msg: unknown[]): Buffer;
  decode(data: Buffer): unknown[];
}

// Same options as the router: no msgpackr record extension (other WAMP peers do not speak it).
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, bundleStrings: false, int64AsType: 'number', moreTypes: false });

export const codecs: Record<SerializerName, Codec> = {
  json: {
    name: 'json',
    subprotocol: 'wamp.2.json',
    rawSocketId: 1,
    binary: false,
    encode: (msg) => Buffer.from(JSON.stringify(msg)),
    decode: (data) => JSON.parse(data.toString('utf8')) as unknown[],
  },
  msgpack: {
    name: 'msgpack',
    subprotocol: 'wamp.2.msgpack',
    rawSocketId: 2,
    binary: true,
    encode: (msg) => packr.pack(msg),
    decode: (data) => packr.unpack(data) as unknown[],
  },
};

export const MSG = {
  HELLO: 1,
  WELCOME: 2,
  ABORT: 3,
  GOODBYE: 6,
  ERROR: 8,
  PUBLISH: 16,
  SUBSCRIBE: 32,
  SUBSCRIBED: 33,
  EVENT: 36,
  CALL: 48,
  RESULT: 50,
  REGISTER: 64,
  REGISTERED: 65,
  INVOCATION: 68,
  YIELD: 70,
} as const;

/** Writes coalesced into one syscall at most (see BaseConn.write). */
const FLUSH_EVERY = Number(process.env.BENCH_FLUSH_EVERY) || 32;

/** A message-framed connection: WebSocket or RawSocket over one TCP socket. */
export interface FrameConn {
  readonly kind: TransportKind;
  readonly codec: Codec;
  /** Called once per received message with its payload (a view, valid during the call). */
  onframe: (payload: Buffer) => void;
  onclose: (() => void) | undefined;
  /** Sends one encoded message. Writes of one tick are coalesced into one syscall. */
  send(payload: Buffer): void;
  close(): void;
}

function parseUrl(url: string): { host: string; port: number; path: string } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port), path: (u.pathname || '/') + u.search };
}

function connectTcp(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, noDelay: true });
    s.once('connect', () => {
      s.removeListener('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Reads until `need` bytes (or a delimiter) arrived; returns them and what followed. */
function readUntil(socket: net.Socket, done: (buf: Buffer) => number): Promise<{ head: Buffer; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const end = done(buf);
      if (end < 0) return;
      cleanup();
      socket.pause();
      resolve({ head: buf.subarray(0, end), rest: buf.subarray(end) });
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error('connection closed during the handshake'));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      socket.removeListener('data', onData);
      socket.removeListener('close', onEnd);
      socket.removeListener('error', onError);
    };
    socket.on('data', onData);
    socket.on('close', onEnd);
    socket.on('error', onError);
  });
}

abstract class BaseConn implements FrameConn {
  abstract readonly kind: TransportKind;
  onframe: (payload: Buffer) => void = () => {};
  onclose: (() => void) | undefined;
  protected pending: Buffer | undefined;
  private corked = false;

  constructor(
    protected readonly socket: net.Socket,
    readonly codec: Codec,
  ) {
    socket.on('error', () => {});
    socket.on('close', () => this.onclose?.());
  }

  start(rest: Buffer): void {
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    if (rest.length > 0) this.onData(rest);
    this.socket.resume();
  }

  protected write(buf: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(buf);
    // Flush every few messages rather than once per tick: the server can start on them while this
    // process goes on (one big write per tick makes client and server take turns instead).
    if (++this.batched >= FLUSH_EVERY) {
      this.batched = 0;
      this.socket.uncork();
      this.socket.cork();
    }
  }

  private batched = 0;

  private readonly uncork = (): void => {
    this.corked = false;
    this.batched = 0;
    this.socket.uncork();
  };

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    const used = this.parse(buf);
    if (used < buf.length) this.pending = Buffer.from(buf.subarray(used)); // copy: the rest is small
  }

  /** Handles every complete frame in buf; returns how many bytes were consumed. */
  protected abstract parse(buf: Buffer): number;
  abstract send(payload: Buffer): void;

  close(): void {
    this.socket.destroy();
  }
}

class WsConn extends BaseConn {
  readonly kind = 'websocket';
  private readonly opcode: number;
  private fragments: Buffer[] = [];

  constructor(socket: net.Socket, codec: Codec) {
    super(socket, codec);
    this.opcode = codec.binary ? 0x2 : 0x1;
  }

  send(payload: Buffer): void {
    this.frame(this.opcode, payload);
  }

  private frame(opcode: number, payload: Buffer): void {
    const len = payload.length;
    const hlen = len < 126 ? 2 : len < 65536 ? 4 : 10;
    // header + 4-byte all-zero mask + payload, in one buffer
    const buf = Buffer.allocUnsafe(hlen + 4 + len);
    buf[0] = 0x80 | opcode;
    if (len < 126) {
      buf[1] = 0x80 | len;
    } else if (len < 65536) {
      buf[1] = 0x80 | 126;
      buf.writeUInt16BE(len, 2);
    } else {
      buf[1] = 0x80 | 127;
      buf.writeUInt32BE(0, 2);
      buf.writeUInt32BE(len, 6);
    }
    buf.writeUInt32BE(0, hlen);
    payload.copy(buf, hlen + 4);
    this.write(buf);
  }

  protected parse(buf: Buffer): number {
    let off = 0;
    const n = buf.length;
    while (n - off >= 2) {
      const b0 = buf[off] as number;
      const b1 = buf[off + 1] as number;
      let len = b1 & 0x7f;
      let h = 2;
      if (len === 126) {
        if (n - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        h = 4;
      } else if (len === 127) {
        if (n - off < 10) break;
        len = buf.readUInt32BE(off + 2) * 2 ** 32 + buf.readUInt32BE(off + 6);
        h = 10;
      }
      if (b1 & 0x80) h += 4; // servers do not mask, but be tolerant
      if (n - off < h + len) break;
      let payload = buf.subarray(off + h, off + h + len);
      if (b1 & 0x80) {
        const mask = buf.subarray(off + h - 4, off + h);
        payload = Buffer.from(payload);
        for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
      }
      off += h + len;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === 0x1 || opcode === 0x2 || opcode === 0x0) {
        if (fin && this.fragments.length === 0) {
          this.onframe(payload);
        } else {
          this.fragments.push(Buffer.from(payload));
          if (fin) {
            const whole = Buffer.concat(this.fragments);
            this.fragments = [];
            this.onframe(whole);
          }
        }
      } else if (opcode === 0x9) {
        this.frame(0xa, Buffer.from(payload));
      } else if (opcode === 0x8) {
        this.socket.end();
        return n;
      }
    }
    return off;
  }
}

class RawConn extends BaseConn {
  readonly kind = 'rawsocket';

  send(payload: Buffer): void {
    this.frame(0, payload);
  }

  private frame(type: number, payload: Buffer): void {
    const len = payload.length;
    const buf = Buffer.allocUnsafe(4 + len);
    buf.writeUInt32BE(len, 0);
    buf[0] = type;
    payload.copy(buf, 4);
    this.write(buf);
  }

  protected parse(buf: Buffer): number {
    let off = 0;
    const n = buf.length;
    while (n - off >= 4) {
      const type = buf[off] as number;
      const len = buf.readUIntBE(off + 1, 3);
      if (n - off < 4 + len) break;
      const payload = buf.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      if (type === 0) this.onframe(payload);
      else if (type === 1) this.frame(2, Buffer.from(payload));
    }
    return off;
  }
}

/** Opens a framed connection. `url`: ws://host:port/path or tcp://host:port. */
export async function openFrameConn(kind: TransportKind, url: string, serializer: SerializerName): Promise<FrameConn> {
  const codec = codecs[serializer];
  const { host, port, path } = parseUrl(url);
  const socket = await connectTcp(host, port);
  if (kind === 'websocket') {
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${codec.subprotocol}\r\n\r\n`,
    );
    const { head, rest } = await readUntil(socket, (b) => {
      const i = b.indexOf('\r\n\r\n');
      return i < 0 ? -1 : i + 4;
    });
    const status = head.toString('latin1').split('\r\n')[0] ?? '';
    if (!/^HTTP\/1\.1 101 /.test(status)) {
      socket.destroy();
      throw new Error(`WebSocket upgrade refused: ${status}`);
    }
    const conn = new WsConn(socket, codec);
    conn.start(rest);
    return conn;
  }
  socket.write(Buffer.from([0x7f, 0xf0 | codec.rawSocketId, 0, 0]));
  const { head, rest } = await readUntil(socket, (b) => (b.length >= 4 ? 4 : -1));
  if (head[0] !== 0x7f || ((head[1] as number) & 0x0f) !== codec.rawSocketId) {
    socket.destroy();
    throw new Error(`RawSocket handshake refused (error code ${(head[1] as number) >> 4})`);
  }
  const conn = new RawConn(socket, codec);
  conn.start(rest);
  return conn;
}

/** A WAMP session on a FrameConn, with promise-based setup calls. Hot paths set conn.onframe directly. */
export class WampBenchClient {
  sessionId = 0;
  private nextRequest = 1;
  private readonly waiting = new Map<number, { resolve: (m: unknown[]) => void; reject: (e: Error) => void }>();
  private welcome: { resolve: (m: unknown[]) => void; reject: (e: Error) => void } | undefined;

  constructor(readonly conn: FrameConn) {
    conn.onframe = (p) => this.onSetupMessage(conn.codec.decode(p));
    conn.onclose = () => {
      const err = new Error('connection closed');
      this.welcome?.reject(err);
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
  }

  get codec(): Codec {
    return this.conn.codec;
  }

  request(): number {
    return this.nextRequest++;
  }

  sendMsg(msg: unknown[]): void {
    this.conn.send(this.conn.codec.encode(msg));
  }

  join(realm: string): Promise<number> {
    return new Promise<unknown[]>((resolve, reject) => {
      this.welcome = { resolve, reject };
      this.sendMsg([MSG.HELLO, realm, { roles: { publisher: {}, subscriber: {}, caller: {}, callee: {} }, agent: 'kitsune-bench' }]);
    }).then((m) => (this.sessionId = m[1] as number));
  }

  subscribe(topic: string, options: Record<string, unknown> = {}): Promise<number> {
    const req = this.request();
    return this.expect(req, () => this.sendMsg([MSG.SUBSCRIBE, req, options, topic])).then((m) => m[2] as number);
  }

  register(procedure: string, options: Record<string, unknown> = {}): Promise<number> {
    const req = this.request();
    return this.expect(req, () => this.sendMsg([MSG.REGISTER, req, options, procedure])).then((m) => m[2] as number);
  }

  close(): void {
    this.conn.onclose = undefined;
    this.conn.close();
  }

  private expect(req: number, send: () => void): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      this.waiting.set(req, { resolve, reject });
      send();
    });
  }

  private onSetupMessage(m: unknown[]): void {
    const type = m[0];
    if (type === MSG.WELCOME) {
      this.welcome?.resolve(m);
      this.welcome = undefined;
    } else if (type === MSG.ABORT) {
      this.welcome?.reject(new Error(`ABORT ${JSON.stringify(m)}`));
      this.welcome = undefined;
    } else if (type === MSG.SUBSCRIBED || type === MSG.REGISTERED) {
      const w = this.waiting.get(m[1] as number);
      this.waiting.delete(m[1] as number);
      w?.resolve(m);
    } else if (type === MSG.ERROR) {
      const w = this.waiting.get(m[2] as number);
      this.waiting.delete(m[2] as number);
      w?.reject(new Error(`ERROR ${JSON.stringify(m)}`));
    }
  }
}

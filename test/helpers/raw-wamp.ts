// A bare WAMP client for tests: speaks WAMP messages (or raw bytes) over WebSocket or RawSocket with
// any of the three serializers, and lets a test wait for the messages it expects. Used where autobahn
// cannot go (RawSocket with msgpack/cbor, INTERRUPT, cancel, progressive calls, malformed input).
import type { ExecutionContext } from 'ava';
import net from 'node:net';
import tls from 'node:tls';
import WebSocket from 'ws';
import { serializerByName, type Serializer, type SerializerName } from '../../lib/wamp/serializers.ts';

import { MessageType } from '../../lib/wamp/message-types.ts';

/** Message type codes, as the router defines them. */
export const T = MessageType;

export type Msg = unknown[];
type Pred = (m: Msg) => boolean;

const CLIENT_ROLES = {
  caller: { features: { progressive_call_results: true, call_canceling: true, caller_identification: true, call_timeout: true, progressive_call_invocations: true } },
  callee: { features: { progressive_call_results: true, call_canceling: true, caller_identification: true, pattern_based_registration: true, shared_registration: true, progressive_call_invocations: true } },
  publisher: { features: { publisher_identification: true, publisher_exclusion: true, subscriber_blackwhite_listing: true } },
  subscriber: { features: { publisher_identification: true, pattern_based_subscription: true } },
};

interface Waiter {
  pred: Pred;
  resolve(m: Msg): void;
}

export interface RawOptions {
  serializer?: SerializerName;
  /** RawSocket only: the max-length exponent we announce (default 15 = 16 MiB). */
  lengthExponent?: number;
  /** RawSocket only: connect over TLS with these options (CA, client certificate...). */
  tls?: tls.ConnectionOptions;
}

export class RawWamp {
  readonly inbox: Msg[] = [];
  /** Frames that could not be decoded (should never happen with a sane router). */
  readonly undecodable: Buffer[] = [];
  /** Raw payloads as received, for tests that look at the bytes on the wire. */
  readonly rawFrames: Buffer[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  /** WebSocket close code, once closed (WebSocket clients only). */
  closeCode: number | undefined;
  sessionId = 0;
  /** Sees each message first; returning true consumes it (not kept in the inbox). */
  tap: ((m: Msg) => boolean) | undefined;
  /** Keep raw frames in rawFrames (off for floods). */
  keepRawFrames = true;
  private waiters: Waiter[] = [];
  private nextId = 1;
  private markClosed!: () => void;

  private constructor(
    readonly serializer: Serializer,
    private readonly writeFrame: (payload: Buffer) => void,
    readonly end: () => void,
    readonly socket: net.Socket,
  ) {
    this.closed = new Promise((r) => (this.markClosed = r));
  }

  /** A WebSocket client (subprotocol wamp.2.<serializer>). Not yet HELLOed. */
  static ws(t: ExecutionContext, url: string, opts: RawOptions = {}): Promise<RawWamp> {
    const serializer = serializerByName(opts.serializer ?? 'json');
    const ws = new WebSocket(url, [serializer.subprotocol]);
    return new Promise((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => {
        ws.off('error', reject);
        ws.on('error', () => {});
        const socket = (ws as unknown as { _socket: net.Socket })._socket;
        const c = new RawWamp(serializer, (p) => ws.send(p, { binary: serializer.binary }), () => ws.terminate(), socket);
        ws.on('message', (data: Buffer) => c.onFrame(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)));
        ws.on('close', (code: number) => {
          c.closeCode = code;
          c.onClose();
        });
        t.teardown(() => ws.terminate());
        resolve(c);
      });
    });
  }

  /** A RawSocket client; resolves after the router accepted the handshake. */
  static async rawsocket(t: ExecutionContext, url: string, opts: RawOptions = {}): Promise<RawWamp> {
    const serializer = serializerByName(opts.serializer ?? 'json');
    const u = new URL(url);
    const socket = opts.tls ? tls.connect({ host: u.hostname, port: Number(u.port), ...opts.tls }) : net.connect({ host: u.hostname, port: Number(u.port) });
    socket.on('error', () => {});
    t.teardown(() => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let c: RawWamp | undefined;
    let handshake!: (reply: Buffer) => void;
    const replied = new Promise<Buffer>((resolve, reject) => {
      handshake = resolve;
      socket.once('close', () => reject(new Error('RawSocket closed during the handshake')));
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!c) {
        if (buf.length < 4) return;
        handshake(buf.subarray(0, 4));
        buf = buf.subarray(4);
        if (!c) return; // refused: the rest is ignored
      }
      while (buf.length >= 4) {
        const len = buf.readUIntBE(1, 3);
        if (buf.length < 4 + len) break;
        const type = buf[0] as number;
        const payload = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        if (type === 0) c.onFrame(Buffer.from(payload));
      }
    });
    const client = new RawWamp(
      serializer,
      (p) => {
        const h = Buffer.alloc(4);
        h.writeUIntBE(p.length, 1, 3);
        socket.write(Buffer.concat([h, p]));
      },
      () => socket.destroy(),
      socket,
    );
    socket.write(Buffer.from([0x7f, ((opts.lengthExponent ?? 15) << 4) | serializer.rawSocketId, 0, 0]));
    const reply = await replied;
    if (reply[0] !== 0x7f || ((reply[1] as number) & 0x0f) !== serializer.rawSocketId) {
      throw new Error(`RawSocket handshake refused: ${reply.toString('hex')}`);
    }
    c = client;
    socket.on('close', () => client.onClose());
    return client;
  }

  /** Opens a transport and a session: HELLO, waits for WELCOME. */
  static async session(t: ExecutionContext, urls: Record<string, string>, opts: RawOptions & { rawsocket?: boolean; realm?: string; details?: Record<string, unknown> } = {}): Promise<RawWamp> {
    const c = opts.rawsocket ? await RawWamp.rawsocket(t, urls.rawsocket as string, opts) : await RawWamp.ws(t, urls.wamp as string, opts);
    const w = await c.hello(opts.realm ?? 'realm1', opts.details);
    if (w[0] !== T.WELCOME) throw new Error(`expected WELCOME, got ${JSON.stringify(w)}`);
    return c;
  }

  id(): number {
    return this.nextId++;
  }

  send(msg: Msg): void {
    this.writeFrame(this.serializer.encode(msg));
  }

  /** Sends an already-encoded payload in one frame (for malformed input). */
  sendBytes(payload: Buffer): void {
    this.writeFrame(payload);
  }

  /** Waits for (and takes out of the inbox) the first message matching `pred`. */
  next(pred: Pred = () => true, timeoutMs = 3000): Promise<Msg> {
    const idx = this.inbox.findIndex(pred);
    if (idx >= 0) return Promise.resolve(this.inbox.splice(idx, 1)[0] as Msg);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for a message; inbox: ${JSON.stringify(this.inbox).slice(0, 500)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The next message of one type (optionally with a given request id at index `at`). */
  nextOf(type: number, requestId?: number, at = 1): Promise<Msg> {
    return this.next((m) => m[0] === type && (requestId === undefined || m[at] === requestId));
  }

  /** The answer to a request: the reply type, or an ERROR for that request. */
  reply(requestType: number, requestId: number): Promise<Msg> {
    return this.next((m) => (m[0] === T.ERROR && m[1] === requestType && m[2] === requestId) || (m[0] !== T.ERROR && m[1] === requestId && m[0] !== T.EVENT && m[0] !== T.INVOCATION));
  }

  /** Resolves true if nothing matching arrives within `ms` (the message stays in the inbox). */
  async quiet(ms = 150, pred: Pred = () => true): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return !this.inbox.some(pred);
  }

  hello(realm = 'realm1', details: Record<string, unknown> = {}): Promise<Msg> {
    this.send([T.HELLO, realm, { roles: CLIENT_ROLES, ...details }]);
    return this.next((m) => m[0] === T.WELCOME || m[0] === T.ABORT || m[0] === T.CHALLENGE).then((m) => {
      if (m[0] === T.WELCOME) this.sessionId = m[1] as number;
      return m;
    });
  }

  async subscribe(topic: string, options: Record<string, unknown> = {}): Promise<number> {
    const id = this.id();
    this.send([T.SUBSCRIBE, id, options, topic]);
    const r = await this.reply(T.SUBSCRIBE, id);
    if (r[0] !== T.SUBSCRIBED) throw new Error(`subscribe failed: ${JSON.stringify(r)}`);
    return r[2] as number;
  }

  async register(procedure: string, options: Record<string, unknown> = {}): Promise<number> {
    const id = this.id();
    this.send([T.REGISTER, id, options, procedure]);
    const r = await this.reply(T.REGISTER, id);
    if (r[0] !== T.REGISTERED) throw new Error(`register failed: ${JSON.stringify(r)}`);
    return r[2] as number;
  }

  /** Publishes with acknowledge and waits for PUBLISHED (or ERROR, returned as is). */
  async publishAck(topic: string, args?: unknown[], kwargs?: Record<string, unknown>, options: Record<string, unknown> = {}): Promise<Msg> {
    const id = this.id();
    this.send(withArgs([T.PUBLISH, id, { ...options, acknowledge: true }, topic], args, kwargs));
    return this.reply(T.PUBLISH, id);
  }

  publish(topic: string, args?: unknown[], kwargs?: Record<string, unknown>, options: Record<string, unknown> = {}): void {
    this.send(withArgs([T.PUBLISH, this.id(), options, topic], args, kwargs));
  }

  /** Sends a CALL; returns its request id. */
  call(procedure: string, args?: unknown[], kwargs?: Record<string, unknown>, options: Record<string, unknown> = {}): number {
    const id = this.id();
    this.send(withArgs([T.CALL, id, options, procedure], args, kwargs));
    return id;
  }

  /** The final RESULT or ERROR of a call. */
  callOutcome(requestId: number): Promise<Msg> {
    return this.next((m) => (m[0] === T.RESULT && m[1] === requestId && !(m[2] as { progress?: boolean }).progress) || (m[0] === T.ERROR && m[1] === T.CALL && m[2] === requestId));
  }

  goodbye(reason = 'wamp.close.close_realm'): void {
    this.send([T.GOODBYE, {}, reason]);
  }

  private onFrame(data: Buffer): void {
    if (this.keepRawFrames) this.rawFrames.push(data);
    let msg: Msg;
    try {
      msg = this.serializer.decode(data);
    } catch {
      this.undecodable.push(data);
      return;
    }
    if (this.tap?.(msg)) return;
    const w = this.waiters.find((x) => x.pred(msg));
    if (w) {
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(msg);
    } else {
      this.inbox.push(msg);
    }
  }

  private onClose(): void {
    this.isClosed = true;
    this.markClosed();
  }
}

export function withArgs(msg: Msg, args?: unknown[], kwargs?: Record<string, unknown>): Msg {
  if (kwargs) msg.push(args ?? [], kwargs);
  else if (args) msg.push(args);
  return msg;
}

/** Reads exactly n bytes from a socket (the rest is unshifted back). */
export function readExactly(socket: net.Socket, n: number, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out reading ${n} bytes (got ${buf.length})`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= n) {
        cleanup();
        if (buf.length > n) socket.unshift(buf.subarray(n));
        resolve(buf.subarray(0, n));
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error(`socket ended after ${buf.length} of ${n} bytes`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onEnd);
    };
    socket.on('data', onData);
    socket.on('close', onEnd);
  });
}

/** Resolves when `fn` returns true, polling every few ms (for conditions no event announces). */
export async function until(fn: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!fn()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

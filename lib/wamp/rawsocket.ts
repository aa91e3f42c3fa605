// WAMP over RawSocket: a 4-byte handshake, then frames of a 4-byte header (type, 24-bit length) and
// a payload encoded with the negotiated serializer.
//
//   handshake  0x7F | LLLL SSSS | 0x00 | 0x00    max length 2^(9+L), serializer S (1 json, 2 msgpack, 3 cbor)
//   error      0x7F | EEEE 0000 | 0x00 | 0x00    E: 1 serializer unsupported, 2 max length unacceptable,
//                                                   3 reserved bits used, 4 max connection count reached
//   frame      00000TTT | length (3 bytes, big-endian) | payload    T: 0 message, 1 PING, 2 PONG
import type { Socket } from 'node:net';
import { serializerByRawSocketId, type Serializer } from './serializers.ts';
import { KeepaliveSet, type KeptAlive } from '../transport/keepalive.ts';
import { tlsIdentityOf } from '../transport/tls-identity.ts';
import { WriteBatch } from '../transport/write-batch.ts';
import { KEEPALIVE_MS, MAX_BUFFERED_BYTES, type AcceptWampTransport, type WampTransport, type WampTransportHandler, type WampTransportOptions } from './transport.ts';

export const RAWSOCKET_MAGIC = 0x7f;

export const RawSocketError = {
  serializerUnsupported: 1,
  maxLengthUnacceptable: 2,
  reservedBits: 3,
  maxConnections: 4,
} as const;

export interface RawSocketOptions extends WampTransportOptions {
  /** How long a client may take to complete its handshake (default 10 s). */
  handshakeTimeoutMs?: number;
}

const FRAME_MESSAGE = 0;
const FRAME_PING = 1;
const FRAME_PONG = 2;
/** The 24-bit length field cannot say more. */
const MAX_FRAME = 2 ** 24 - 1;
/** A peer that does not close its side after ours is destroyed after this long. */
const LINGER_MS = 5000;
/** Below this size header and payload are copied into one buffer; above, written as two chunks. */
const COPY_BELOW = 1024;
const PING_PAYLOAD = Buffer.from('kitsune');

/**
 * The last small message framed, and its frame. A fan-out hands the same encoded EVENT to every
 * RawSocket subscriber of a subscription in a row; they all get one frame instead of a copy each
 * (written buffers are never changed, so sharing them is safe).
 */
let lastMessage: Buffer | undefined;
let lastFrame: Buffer | undefined;

/** The handshake exponent L announcing the largest 2^(9+L) that does not exceed maxBytes. */
export function lengthExponent(maxBytes: number): number {
  return Math.max(0, Math.min(15, Math.floor(Math.log2(Math.max(1, maxBytes))) - 9));
}

function destroyLater(socket: Socket): void {
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
}

/** Answers a RawSocket handshake with an error code (see RawSocketError) and closes. */
export function refuseRawSocket(socket: Socket, code: number): void {
  socket.on('error', () => {});
  socket.end(Buffer.from([RAWSOCKET_MAGIC, (code & 0x0f) << 4, 0, 0]));
  destroyLater(socket);
}

/**
 * Takes over a socket whose first bytes (already read from it; the rest may still be pending) start a
 * RawSocket handshake. The socket may be paused; it is resumed here.
 */
export function acceptRawSocket(socket: Socket, firstBytes: Buffer, accept: AcceptWampTransport, opts: RawSocketOptions): void {
  new RawSocketConnection(socket, accept, opts).start(firstBytes);
}

type State = 'handshake' | 'open' | 'closing' | 'closed';

/**
 * The open RawSocket connections by keepalive interval, pinged by one timer per interval (as a
 * WebSocket server does for its connections) rather than a timer each. A set and its timer go
 * away with its last connection.
 */
const keepalives = new Map<number, KeepaliveSet<RawSocketConnection>>();

function keepAlive(conn: RawSocketConnection, intervalMs: number): void {
  let set = keepalives.get(intervalMs);
  if (!set) keepalives.set(intervalMs, (set = new KeepaliveSet(intervalMs)));
  set.open.add(conn);
}

function stopKeepingAlive(conn: RawSocketConnection, intervalMs: number): void {
  const set = keepalives.get(intervalMs);
  if (!set?.open.delete(conn) || set.open.size > 0) return;
  set.stop();
  keepalives.delete(intervalMs);
}

// Socket listeners shared by every connection (the socket is `this`, its connection is on it under
// kConnection) rather than closures of each, which cost every idle connection.
const kConnection = Symbol('kitsune.rawSocketConnection');
type ConnectionCarrier = Socket & { [kConnection]: RawSocketConnection };

function onSocketData(this: ConnectionCarrier, chunk: Buffer): void {
  this[kConnection].onData(chunk);
}

function onSocketClose(this: ConnectionCarrier): void {
  this[kConnection].onSocketClose();
}

function ignoreError(): void {
  // 'close' follows
}

/** The empty stash every connection shares between partial frames (never written). */
const NO_STASH: Buffer[] = [];

class RawSocketConnection implements WampTransport, KeptAlive {
  readonly kind = 'rawsocket';
  readonly remoteAddress: string | undefined;
  readonly tlsIdentity: string | undefined;
  serializer!: Serializer;

  private state: State = 'handshake';
  private handler: WampTransportHandler | undefined;
  private readonly out: WriteBatch;
  private readonly rxExponent: number;
  private readonly rxMax: number;
  private txMax = 0;
  /** False once a protocol error was reported: later input is ignored. */
  private reading = true;
  private timer: NodeJS.Timeout | undefined;
  /** Whether anything arrived since the last keep-alive tick (see KeepaliveSet). */
  heard = true;
  missed = 0;
  // Frame reassembly: chunks of the current incomplete frame, concatenated once when it completes.
  private stash: Buffer[] = NO_STASH;
  private stashed = 0;
  /** Payload length of the frame being received, or -1 while its header is incomplete. */
  private need = -1;
  private frameType = 0;

  constructor(
    private readonly socket: Socket,
    private readonly accept: AcceptWampTransport,
    private readonly opts: RawSocketOptions,
  ) {
    this.remoteAddress = socket.remoteAddress;
    this.tlsIdentity = tlsIdentityOf(socket);
    this.out = new WriteBatch(socket);
    this.rxExponent = lengthExponent(opts.maxMessageBytes);
    this.rxMax = Math.min(opts.maxMessageBytes, 2 ** (9 + this.rxExponent), MAX_FRAME);
  }

  start(firstBytes: Buffer): void {
    const socket = this.socket as ConnectionCarrier;
    if (socket.destroyed) return; // its 'close' is gone: never hand a dead transport to the session layer
    socket.setNoDelay(true);
    socket[kConnection] = this;
    socket.on('error', ignoreError);
    socket.on('close', onSocketClose);
    socket.on('data', onSocketData);
    this.timer = setTimeout(() => this.terminate(), this.opts.handshakeTimeoutMs ?? 10_000);
    this.timer.unref();
    if (firstBytes.length > 0) this.onData(firstBytes);
    socket.resume();
  }

  // --- WampTransport ---

  send(msg: unknown[]): number {
    if (this.state !== 'open') return 0;
    return this.sendEncoded(this.serializer.encode(msg));
  }

  sendEncoded(frame: Buffer): number {
    if (this.state !== 'open') return 0;
    if (frame.length > this.txMax) {
      // The peer announced it cannot take this; report it like any other fatal protocol problem, but
      // not from inside the caller's send.
      const message = `outgoing message of ${frame.length} bytes exceeds the peer's limit of ${this.txMax}`;
      queueMicrotask(() => this.protocolError(message));
      return 0;
    }
    this.writeFrame(FRAME_MESSAGE, frame);
    return frame.length;
  }

  bufferedBytes(): number {
    return this.socket.writableLength + this.out.pendingBytes;
  }

  close(_code: number, _reason: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.reading = false;
    this.out.flush();
    this.socket.end();
    destroyLater(this.socket);
  }

  terminate(): void {
    this.reading = false;
    this.socket.destroy();
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  // --- input ---

  /** Bytes from the socket (onSocketData). */
  onData(chunk: Buffer): void {
    this.heard = true;
    try {
      if (this.state === 'handshake') chunk = this.handshake(chunk);
      if (this.state === 'open' && this.reading && chunk.length > 0) this.parse(chunk);
    } catch (err) {
      this.fail(err); // a bug, not peer input: drop the connection rather than the process
    }
  }

  /** Consumes handshake bytes; returns what follows them. */
  private handshake(chunk: Buffer): Buffer {
    const want = 4 - this.stashed;
    if (chunk.length < want) {
      this.keep(chunk);
      return chunk.subarray(chunk.length);
    }
    const hs = this.stashed === 0 ? chunk : Buffer.concat([...this.stash, chunk.subarray(0, want)], 4);
    const rest = chunk.subarray(want);
    this.stash = NO_STASH;
    this.stashed = 0;
    clearTimeout(this.timer);

    if (hs[0] !== RAWSOCKET_MAGIC) {
      this.terminate(); // not RawSocket at all: the spec says fail without a reply
      return rest;
    }
    const serializer = serializerByRawSocketId(hs[1] & 0x0f);
    if (!serializer) return this.refuse(RawSocketError.serializerUnsupported, rest);
    if (hs[2] !== 0 || hs[3] !== 0) return this.refuse(RawSocketError.reservedBits, rest);

    this.serializer = serializer;
    this.txMax = Math.min(2 ** (9 + (hs[1] >> 4)), MAX_FRAME);
    this.state = 'open';
    this.socket.write(Buffer.from([RAWSOCKET_MAGIC, (this.rxExponent << 4) | serializer.rawSocketId, 0, 0]));
    keepAlive(this, this.opts.keepaliveMs ?? KEEPALIVE_MS);
    try {
      this.handler = this.accept(this);
    } catch (err) {
      this.fail(err);
    }
    return rest;
  }

  private refuse(code: number, rest: Buffer): Buffer {
    this.state = 'closing';
    refuseRawSocket(this.socket, code);
    return rest;
  }

  /** Splits a chunk into frames. Complete frames inside one chunk are handed on as views, uncopied. */
  private parse(chunk: Buffer): void {
    let off = 0;
    if (this.need < 0 && this.stashed > 0) {
      // finish a header begun in an earlier chunk
      const want = 4 - this.stashed;
      if (chunk.length < want) return this.keep(chunk);
      const header = Buffer.concat([...this.stash, chunk.subarray(0, want)], 4);
      this.stash = NO_STASH;
      this.stashed = 0;
      off = want;
      if (!this.readHeader(header, 0)) return;
    }
    if (this.need >= 0) {
      // finish a payload begun in an earlier chunk
      const want = this.need - this.stashed;
      if (chunk.length - off < want) return this.keep(chunk.subarray(off));
      const end = off + want;
      const payload = this.stashed === 0 ? chunk.subarray(off, end) : Buffer.concat([...this.stash, chunk.subarray(off, end)], this.need);
      this.stash = NO_STASH;
      this.stashed = 0;
      this.need = -1;
      off = end;
      if (!this.dispatch(payload)) return;
    }
    while (off < chunk.length) {
      if (chunk.length - off < 4 || !this.readHeader(chunk, off)) return this.keep(chunk.subarray(off));
      off += 4;
      const end = off + this.need;
      if (end > chunk.length) return this.keep(chunk.subarray(off));
      this.need = -1;
      const payload = chunk.subarray(off, end);
      off = end;
      if (!this.dispatch(payload)) return;
    }
  }

  private keep(part: Buffer): void {
    if (!this.reading || part.length === 0) return;
    if (this.stash === NO_STASH) this.stash = [];
    this.stash.push(part);
    this.stashed += part.length;
  }

  /** Reads a frame header at `off` into frameType/need; false (after reporting) if it is unacceptable. */
  private readHeader(buf: Buffer, off: number): boolean {
    const b0 = buf[off];
    const length = buf.readUIntBE(off + 1, 3);
    if ((b0 & 0xf8) !== 0 || (b0 & 0x07) > FRAME_PONG) {
      this.protocolError(`invalid RawSocket frame type 0x${b0.toString(16)}`);
      return false;
    }
    if (length > this.rxMax) {
      this.protocolError(`message of ${length} bytes exceeds the limit of ${this.rxMax} bytes`);
      return false;
    }
    this.frameType = b0;
    this.need = length;
    return true;
  }

  /** Handles one complete frame; false when input should stop. */
  private dispatch(payload: Buffer): boolean {
    if (this.frameType === FRAME_PING) {
      // a peer that pings without reading would have us buffer its PONGs without end
      if (this.bufferedBytes() + payload.length > (this.opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES)) {
        this.terminate();
        return false;
      }
      this.writeFrame(FRAME_PONG, payload);
    } else if (this.frameType === FRAME_MESSAGE) {
      let msg: unknown[];
      try {
        msg = this.serializer.decodeDeferringArgs(payload);
      } catch (err) {
        this.protocolError((err as Error).message);
        return false;
      }
      try {
        this.handler?.onMessage(msg, payload.length);
      } catch (err) {
        this.fail(err);
      }
    } // PONG: any frame proves the peer alive (onData), there is nothing more to match
    return this.state === 'open' && this.reading;
  }

  // --- output and teardown ---

  /**
   * Half-open peers (a pulled cable, a killed laptop) never close: the KeepaliveSet PINGs and drops
   * a peer that answers nothing, so its session ends and its testament runs.
   */
  ping(): void {
    if (this.state === 'open') this.writeFrame(FRAME_PING, PING_PAYLOAD);
  }

  private writeFrame(type: number, payload: Buffer): void {
    const len = payload.length;
    if (len < COPY_BELOW) {
      if (type === FRAME_MESSAGE && payload === lastMessage) {
        this.out.write(lastFrame as Buffer);
        return;
      }
      const buf = Buffer.allocUnsafe(4 + len);
      buf[0] = type;
      buf.writeUIntBE(len, 1, 3);
      payload.copy(buf, 4);
      if (type === FRAME_MESSAGE) {
        lastMessage = payload;
        lastFrame = buf;
      }
      this.out.write(buf);
    } else {
      const header = Buffer.allocUnsafe(4);
      header[0] = type;
      header.writeUIntBE(len, 1, 3);
      this.out.write(header);
      this.out.write(payload);
    }
  }

  /** Reports a protocol error once, stops reading, and closes unless the session layer already did. */
  private protocolError(message: string): void {
    if (!this.reading || this.state !== 'open') return;
    this.reading = false;
    this.stash = NO_STASH;
    this.stashed = 0;
    try {
      this.handler?.onProtocolError(message);
    } catch (err) {
      this.fail(err);
    }
    if (this.state === 'open') this.close(1002, message);
  }

  private fail(err: unknown): void {
    try {
      this.opts.onError?.(err);
    } catch {
      // the error reporter itself failed; nothing more to do
    }
    this.terminate();
  }

  onSocketClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.timer);
    stopKeepingAlive(this, this.opts.keepaliveMs ?? KEEPALIVE_MS);
    this.stash = NO_STASH;
    const handler = this.handler;
    this.handler = undefined;
    if (!handler) return;
    try {
      handler.onClose();
    } catch (err) {
      try {
        this.opts.onError?.(err);
      } catch {
        // ignore
      }
    }
  }
}

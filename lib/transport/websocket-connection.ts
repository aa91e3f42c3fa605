// One server-side WebSocket connection on a socket whose upgrade was answered: messages in (through
// websocket-reader.ts), text and binary messages out (batched per tick by WriteBatch), ping/pong
// keep-alive, and the closing handshake with a timeout. Protocol-neutral: WAMP, MQTT and esub put
// their own meaning on the messages.
//
// A closing handshake always ends within closeTimeoutMs: a peer that sends CLOSE (or gets ours) and
// keeps its TCP side open is destroyed then. The handler hears onClose as soon as the peer's CLOSE
// arrives (nothing more will be read), so the session it owns ends at once, not when TCP does.
//
// Why our own stack and not `ws` (decided by numbers, 2026-12-07): test/bench/wamp.ts runs the WAMP
// WebSocket rows against kitsune on this stack and on ws (target kitsune-ws, websocket.engine "ws",
// ws configured with the same limits and the same per-tick corking), in one run. Server CPU per
// unit, ours vs ws, two runs on a loaded 2-core machine (load 13-17, so rates are noisy; CPU per
// unit is the steadier figure):
//   pubsub 1->100 json      1.94 vs 4.55 us/delivery (2.45 vs 4.91)   rate ours/ws 2.20 (1.12)
//   pubsub 1->100 msgpack   1.51 vs 3.40 us/delivery (1.38 vs 3.88)   rate ours/ws 3.00 (2.36)
//   pubsub 1->1 json        19.9 vs 76.5 us (19.2 vs 25.1)    1->1 msgpack 21.7 vs 20.3 (20.6 vs 20.1)
//   pubsub 1->1 2KiB json   104 vs 104 us (135 vs 90)        2KiB msgpack 39.9 vs 50.5 (41.0 vs 52.4)
//   rpc json                41.3 vs 37.5 us (30.7 vs 44.1)    rpc msgpack  39.5 vs 32.5 (18.1 vs 36.7)
// Fan-out, the router's common case, costs ws more than twice as much (each send frames and writes
// on its own; here one frame serves every subscriber of a fan-out); one-to-one and RPC are within
// the noise. Both stacks pass the same protection tests (test/transport/websocket-protection.test.ts).
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type KeptAlive, MAX_BUFFERED_BYTES } from './keepalive.ts';
import type { MessageSocket } from './message-socket.ts';
import { deflateMessage, type Deflate } from './websocket-deflate.ts';
import { closeFrame, FRAME_BELOW, isSendableCloseCode, Opcode, webSocketFrame, webSocketHeader } from './websocket-frame.ts';
import { DEFAULT_CLOSE_TIMEOUT_MS, type WebSocketLimits } from './websocket-limits.ts';
import { WebSocketReader, type WebSocketReaderHandler } from './websocket-reader.ts';
import { WriteBatch } from './write-batch.ts';

export interface WebSocketHandler {
  /** A whole message, often a view into the socket's chunk (copy what you keep). Text is valid UTF-8. */
  onMessage(data: Buffer, binary: boolean): void;
  /** The WebSocket layer failed the connection (1002, 1007, 1008, 1009); onClose follows. */
  onProtocolError(message: string, closeCode: number): void;
  /**
   * Called exactly once: the peer's close frame arrived (`peerCode`: its status code, 1005 if it gave
   * none), or the socket is gone without one (`peerCode` undefined: RFC 6455's 1006).
   */
  onClose(peerCode?: number): void;
  /** The peer pinged (answered already) or ponged: for protocols that watch liveness themselves. */
  onPing?(): void;
  onPong?(): void;
}

/** The first byte's RSV1 bit: a compressed message. */
const RSV1 = 0x40;
const EMPTY_PING = webSocketFrame(Opcode.ping, Buffer.alloc(0));
/** The close frame that echoes a close frame without a status code. */
const EMPTY_CLOSE = webSocketFrame(Opcode.close, Buffer.alloc(0));

/**
 * The last message framed and its frame: the subscribers of one fan-out get the same message one
 * after another, and so one frame instead of one each (written buffers are never changed, so
 * sharing them is safe).
 */
let lastMessage: Buffer | undefined;
let lastOpcode = 0;
let lastFramed: Buffer | undefined;
/** The same for compression: a fan-out deflates its message once, not once per subscriber. */
let lastPlain: Buffer | undefined;
let lastWindowBits = 0;
let lastDeflated: Buffer | undefined;

// Socket listeners shared by every connection (the socket is `this`, its connection is on it under
// kConnection) rather than closures of each: they and their context were ~200 B of every idle one.
const kConnection = Symbol('kitsune.webSocketConnection');
type ConnectionCarrier = Duplex & { [kConnection]: WebSocketConnection };

function onSocketData(this: ConnectionCarrier, chunk: Buffer): void {
  this[kConnection].onData(chunk);
}

function onSocketEnd(this: ConnectionCarrier): void {
  this[kConnection].onEnd();
}

function onSocketClose(this: ConnectionCarrier): void {
  this[kConnection].onSocketClose();
}

function ignoreError(): void {
  // 'close' follows
}

function ignoreReportedError(): void {
  // until start() is given the server's reporter
}

export class WebSocketConnection implements MessageSocket, WebSocketReaderHandler, KeptAlive {
  private handler: WebSocketHandler | undefined;
  private readonly out: WriteBatch;
  private readonly reader: WebSocketReader;
  /** Whether messages from the peer are still handed on. */
  private reading = true;
  private closeSent = false;
  private closeReceived = false;
  private ended = false;
  private told = false;
  /** Whether anything arrived since the last keep-alive tick (see KeepaliveSet). */
  heard = true;
  missed = 0;
  private closeTimer: NodeJS.Timeout | undefined;
  private reportError: (err: unknown) => void = ignoreReportedError;

  /** `openSet`: where the connection is kept while its socket is open (the server's keep-alive set). */
  constructor(
    private readonly socket: Duplex,
    readonly remoteAddress: string | undefined,
    private readonly limits: WebSocketLimits,
    private readonly deflate: Deflate | undefined,
    private readonly openSet: Set<WebSocketConnection>,
  ) {
    this.out = new WriteBatch(socket);
    this.reader = new WebSocketReader({ maxMessageBytes: limits.maxMessageBytes, maxFragments: limits.maxFragments, compressed: deflate !== undefined }, this);
    if (socket instanceof Socket) {
      socket.setTimeout(0);
      socket.setNoDelay(true);
    }
  }

  /** Starts reading, `head` first; `accept` gives the handler (it may send at once). */
  start(accept: (c: WebSocketConnection) => WebSocketHandler, head: Buffer, onError: (err: unknown) => void): void {
    this.reportError = onError;
    const socket = this.socket as ConnectionCarrier;
    socket[kConnection] = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', ignoreError);
    socket.on('close', onSocketClose);
    try {
      this.handler = accept(this);
    } catch (err) {
      onError(err);
      this.terminate();
      return;
    }
    if (head.length > 0) this.reader.push(head);
  }

  /** Whether sends still go out (no close frame sent or received, socket not gone). */
  get isOpen(): boolean {
    return !this.closeSent && !this.closeReceived && !this.ended;
  }

  /** Sends one message. Small ones go out as one buffer, larger ones as header and payload. */
  send(data: Buffer, binary: boolean): void {
    if (!this.isOpen) return;
    let opcode: number = binary ? Opcode.binary : Opcode.text;
    let payload = data;
    const deflate = this.deflate;
    if (deflate && data.length >= deflate.threshold) {
      if (data !== lastPlain || deflate.windowBits !== lastWindowBits) {
        lastPlain = data;
        lastWindowBits = deflate.windowBits;
        lastDeflated = deflateMessage(data, deflate.windowBits);
      }
      payload = lastDeflated as Buffer;
      opcode |= RSV1;
    }
    if (payload.length >= FRAME_BELOW) {
      this.out.write(webSocketHeader(opcode, payload.length));
      this.out.write(payload);
      return;
    }
    if (payload !== lastMessage || opcode !== lastOpcode) {
      lastMessage = payload;
      lastOpcode = opcode;
      lastFramed = webSocketFrame(opcode, payload);
    }
    this.out.write(lastFramed as Buffer);
  }

  bufferedBytes(): number {
    return this.socket.writableLength + this.out.pendingBytes;
  }

  /** Starts the closing handshake; the socket is destroyed if the peer does not finish it in time. */
  close(code: number, reason: string): void {
    this.reading = false;
    if (this.closeSent || this.ended) return;
    this.closeSent = true;
    this.out.write(closeFrame(isSendableCloseCode(code) ? code : 1000, reason));
    if (this.closeReceived) this.end();
    else this.armCloseTimer();
  }

  terminate(): void {
    this.reading = false;
    this.reader.stop();
    this.socket.destroy();
  }

  // --- WebSocketReaderHandler ---

  onMessage(data: Buffer, binary: boolean): void {
    if (!this.reading) return;
    try {
      this.handler?.onMessage(data, binary);
    } catch (err) {
      this.fail(err);
    }
  }

  onPing(data: Buffer): void {
    if (!this.isOpen) return;
    // a peer that pings without reading would have us buffer its pongs without end
    if (this.bufferedBytes() + data.length > (this.limits.maxBufferedBytes ?? MAX_BUFFERED_BYTES)) {
      this.terminate();
      return;
    }
    this.out.write(webSocketFrame(Opcode.pong, data));
    this.handler?.onPing?.();
  }

  onPong(): void {
    // any frame proves the peer alive (see the 'data' listener); the handler may want to know too
    this.handler?.onPong?.();
  }

  ping(): void {
    if (this.isOpen) this.out.write(EMPTY_PING);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  get isPaused(): boolean {
    return this.socket.isPaused();
  }

  onClose(code: number | undefined): void {
    this.closeReceived = true;
    this.reading = false;
    if (!this.closeSent) {
      // Echo the peer's status code, then end: the server closes the TCP connection first (RFC 6455 7.1.1).
      this.closeSent = true;
      this.out.write(code === undefined ? EMPTY_CLOSE : closeFrame(code, ''));
    }
    this.end();
    this.tellClosed(code ?? 1005);
  }

  /**
   * The WebSocket itself is broken: it is failed (RFC 6455 7.1.7) with the reader's code before the
   * handler hears of it. Nothing more is read, the peer's answering close included, so our side ends at once.
   */
  onError(message: string, closeCode: number): void {
    const tell = this.reading;
    this.close(closeCode, message);
    this.end();
    if (!tell) return;
    try {
      this.handler?.onProtocolError(message, closeCode);
    } catch (err) {
      this.fail(err);
    }
  }

  /** The handler threw (a bug above us, not peer input): drop this connection, not the process. */
  private fail(err: unknown): void {
    try {
      this.reportError(err);
    } catch {
      // the error reporter itself failed; nothing more to do
    }
    this.terminate();
  }

  // --- teardown ---

  /** Bytes from the socket (onSocketData). */
  onData(chunk: Buffer): void {
    this.heard = true;
    this.reader.push(chunk);
  }

  /** The peer ended its side: nothing more will be read, so end ours. */
  onEnd(): void {
    this.reading = false;
    this.reader.stop();
    this.end();
  }

  /** Ends our side once what is batched has gone out; the peer has closeTimeoutMs to end its side. */
  private end(): void {
    this.out.flush();
    this.socket.end();
    this.armCloseTimer();
  }

  private armCloseTimer(): void {
    if (this.closeTimer || this.ended) return;
    this.closeTimer = setTimeout(() => this.socket.destroy(), this.limits.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    this.closeTimer.unref();
  }

  onSocketClose(): void {
    if (this.ended) return;
    this.ended = true;
    this.reading = false;
    this.reader.stop();
    clearTimeout(this.closeTimer);
    this.openSet.delete(this);
    this.tellClosed();
  }

  private tellClosed(peerCode?: number): void {
    if (this.told) return;
    this.told = true;
    try {
      this.handler?.onClose(peerCode);
    } catch (err) {
      try {
        this.reportError(err);
      } catch {
        // ignore
      }
    }
  }
}

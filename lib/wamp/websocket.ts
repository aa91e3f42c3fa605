// WAMP over WebSocket: the listener hands us upgrade requests for /ws. The handshake, the frame
// reader and the framing are ours (websocket-handshake.ts, websocket-reader.ts, websocket-frame.ts):
// ws's Receiver cost a small message more than the routing did (see websocket-reader.ts).
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { serializerBySubprotocol, serializers, type Serializer } from './serializers.ts';
import { closeFrame, FRAME_BELOW, isSendableCloseCode, Opcode, webSocketFrame, webSocketHeader } from './websocket-frame.ts';
import { acceptUpgrade, refuseUpgrade, upgradeRefusal } from './websocket-handshake.ts';
import { WebSocketReader, type WebSocketReaderHandler } from './websocket-reader.ts';
import { KEEPALIVE_MS, MAX_BUFFERED_BYTES, WriteBatch, type AcceptWampTransport, type WampTransport, type WampTransportHandler, type WampTransportOptions } from './transport.ts';

export interface WampWebSocketServer {
  /** Completes (or refuses) a WebSocket upgrade. Never throws. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Stops accepting upgrades and drops every open connection. */
  close(): void;
}

const SUPPORTED = serializers.map((s) => s.subprotocol).join(', ');

/** The first subprotocol in the client's list (its order of preference) that we speak. */
export function pickSubprotocol(header: string | string[] | undefined): Serializer | undefined {
  if (header === undefined) return undefined;
  for (const p of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const s = serializerBySubprotocol(p.trim());
    if (s) return s;
  }
  return undefined;
}

/** How long a peer has to answer our close frame before its socket is destroyed. */
const CLOSE_TIMEOUT_MS = 30_000;
const EMPTY_PING = webSocketFrame(Opcode.ping, Buffer.alloc(0));
/** The close frame that echoes a close frame without a status code. */
const EMPTY_CLOSE = webSocketFrame(Opcode.close, Buffer.alloc(0));

/**
 * The last message framed and its frame: the subscribers of one fan-out get the same message one
 * after another, and so one frame instead of one each (written buffers are never changed, so
 * sharing them is safe).
 */
let lastMessage: Buffer | undefined;
let lastFramed: Buffer | undefined;

export function createWampWebSocketServer(accept: AcceptWampTransport, opts: WampTransportOptions): WampWebSocketServer {
  const open = new Set<WebSocketConnection>();
  // Half-open peers (a pulled cable, a killed laptop) never send a close: ping every interval and
  // drop whoever sent nothing, not even the pong, since the previous ping, so their sessions end
  // and their wills run.
  const keepalive = setInterval(() => {
    for (const c of open) c.keepalive();
  }, opts.keepaliveMs ?? KEEPALIVE_MS);
  keepalive.unref();
  let closed = false;
  return {
    handleUpgrade(req, socket, head) {
      if (closed || !socket.readable || !socket.writable) {
        socket.destroy();
        return;
      }
      const refusal = upgradeRefusal(req);
      if (refusal) return refuseUpgrade(socket, refusal);
      // WAMP needs a serializer: refuse plainly rather than complete a handshake with no subprotocol.
      const serializer = pickSubprotocol(req.headers['sec-websocket-protocol']);
      if (!serializer) {
        refuseUpgrade(socket, { status: '400 Bad Request', message: `WAMP over WebSocket needs one of the subprotocols ${SUPPORTED}\n` });
        return;
      }
      try {
        acceptUpgrade(req, socket, serializer.subprotocol);
        const c = new WebSocketConnection(socket, req.socket.remoteAddress, serializer, opts, () => open.delete(c));
        open.add(c);
        c.start(accept, head);
      } catch (err) {
        opts.onError?.(err);
        socket.destroy();
      }
    },
    close() {
      closed = true;
      clearInterval(keepalive);
      for (const c of open) c.terminate();
    },
  };
}

class WebSocketConnection implements WampTransport, WebSocketReaderHandler {
  readonly kind = 'websocket';
  private handler: WampTransportHandler | undefined;
  private readonly out: WriteBatch;
  private readonly reader: WebSocketReader;
  private readonly opcode: number;
  /** Whether messages from the peer are still handed to the session. */
  private reading = true;
  private closeSent = false;
  private closeReceived = false;
  private ended = false;
  /** Whether anything arrived since the last keepalive ping. */
  private heard = true;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Duplex,
    readonly remoteAddress: string | undefined,
    readonly serializer: Serializer,
    private readonly opts: WampTransportOptions,
    private readonly onGone: () => void,
  ) {
    this.out = new WriteBatch(socket);
    this.opcode = serializer.binary ? Opcode.binary : Opcode.text; // json frames go out as text frames
    this.reader = new WebSocketReader(opts.maxMessageBytes, this);
    if (socket instanceof Socket) {
      socket.setTimeout(0);
      socket.setNoDelay(true);
    }
  }

  /** Hands the connection to the session layer and starts reading, `head` first. */
  start(accept: AcceptWampTransport, head: Buffer): void {
    const socket = this.socket;
    socket.on('data', (chunk: Buffer) => {
      this.heard = true;
      this.reader.push(chunk);
    });
    socket.on('end', () => this.onEnd());
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => this.onSocketClose());
    try {
      this.handler = accept(this);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.reader.push(head);
  }

  private get open(): boolean {
    return !this.closeSent && !this.closeReceived && !this.ended;
  }

  send(msg: unknown[]): void {
    if (!this.open) return;
    this.sendEncoded(this.serializer.encode(msg));
  }

  /** Small messages go out as one buffer, larger ones as header and payload (see websocket-frame.ts). */
  sendEncoded(frame: Buffer): void {
    if (!this.open) return;
    if (frame.length >= FRAME_BELOW) {
      this.out.write(webSocketHeader(this.opcode, frame.length));
      this.out.write(frame);
      return;
    }
    if (frame !== lastMessage) {
      lastMessage = frame;
      lastFramed = webSocketFrame(this.opcode, frame);
    }
    this.out.write(lastFramed as Buffer);
  }

  bufferedBytes(): number {
    return this.socket.writableLength + this.out.pendingBytes;
  }

  close(code: number, reason: string): void {
    this.reading = false;
    if (this.closeSent || this.ended) return;
    this.closeSent = true;
    this.out.write(closeFrame(isSendableCloseCode(code) ? code : 1000, reason));
    if (this.closeReceived) this.end();
    else this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS);
  }

  terminate(): void {
    this.reading = false;
    this.reader.stop();
    this.socket.destroy();
  }

  keepalive(): void {
    if (!this.open) return;
    if (!this.heard) {
      this.terminate();
      return;
    }
    this.heard = false;
    this.out.write(EMPTY_PING);
  }

  // --- WebSocketReaderHandler ---

  onMessage(data: Buffer): void {
    // Text and binary frames are both accepted, whatever the subprotocol.
    if (!this.reading) return;
    let msg: unknown[];
    try {
      msg = this.serializer.decodeDeferringArgs(data);
    } catch (err) {
      this.undecodable((err as Error).message);
      return;
    }
    try {
      this.handler?.onMessage(msg);
    } catch (err) {
      this.fail(err);
    }
  }

  onPing(data: Buffer): void {
    if (!this.open) return;
    // a peer that pings without reading would have us buffer its pongs without end
    if (this.bufferedBytes() + data.length > (this.opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES)) {
      this.terminate();
      return;
    }
    this.out.write(webSocketFrame(Opcode.pong, data));
  }

  onPong(): void {
    // any frame proves the peer alive (see the 'data' listener)
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
  }

  /**
   * The WebSocket itself is broken: it is failed (RFC 6455 7.1.7) with the reader's code (1002,
   * 1007, 1009) before the session hears of it. Nothing more is read, the peer's answering close
   * included, so our side ends at once.
   */
  onError(message: string, closeCode: number): void {
    const tell = this.reading;
    this.close(closeCode, message);
    this.end();
    if (tell) this.tellProtocolError(message);
  }

  // --- teardown ---

  /** A message that does not decode: the session ABORTs and closes (1002). */
  private undecodable(message: string): void {
    this.reading = false;
    this.tellProtocolError(message);
    this.close(1002, message); // no-op if the session layer already closed
  }

  private tellProtocolError(message: string): void {
    try {
      this.handler?.onProtocolError(message);
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    try {
      this.opts.onError?.(err);
    } catch {
      // the error reporter itself failed; nothing more to do
    }
    this.terminate();
  }

  /** The peer ended its side: nothing more will be read, so end ours. */
  private onEnd(): void {
    this.reading = false;
    this.reader.stop();
    this.end();
  }

  /** Ends our side once what is batched has gone out. */
  private end(): void {
    this.out.flush();
    this.socket.end();
  }

  private onSocketClose(): void {
    if (this.ended) return;
    this.ended = true;
    this.reading = false;
    this.reader.stop();
    clearTimeout(this.closeTimer);
    this.onGone();
    try {
      this.handler?.onClose();
    } catch (err) {
      try {
        this.opts.onError?.(err);
      } catch {
        // ignore
      }
    }
  }
}

// WAMP over WebSocket (ws, noServer mode): the listener hands us upgrade requests for /ws.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { serializerBySubprotocol, serializers, type Serializer } from './serializers.ts';
import { FRAME_BELOW, webSocketFrame } from './websocket-frame.ts';
import { WriteCoalescer, type AcceptWampTransport, type WampTransport, type WampTransportHandler, type WampTransportOptions } from './transport.ts';

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

function refuse(socket: Duplex, status: string, message: string): void {
  socket.on('error', () => {});
  socket.end(
    `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}

const KEEPALIVE_MS = 30_000;

/**
 * The last message framed and its frame: the subscribers of one fan-out get the same message one
 * after another, and so one frame instead of a header and a write through ws each (written buffers
 * are never changed, so sharing them is safe).
 */
let lastMessage: Buffer | undefined;
let lastFramed: Buffer | undefined;

export function createWampWebSocketServer(accept: AcceptWampTransport, opts: WampTransportOptions): WampWebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: opts.maxMessageBytes,
    clientTracking: true,
    handleProtocols: (protocols) => {
      for (const p of protocols) if (serializerBySubprotocol(p)) return p;
      return false;
    },
  });
  // Half-open peers (a pulled cable, a killed laptop) never send a close: ping every interval and
  // drop whoever did not answer the previous ping, so their sessions end and their wills run.
  const alive = new WeakSet<WebSocket>();
  const keepalive = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, opts.keepaliveMs ?? KEEPALIVE_MS);
  keepalive.unref();
  return {
    handleUpgrade(req, socket, head) {
      // WAMP needs a serializer: refuse plainly rather than complete a handshake with no subprotocol.
      if (!pickSubprotocol(req.headers['sec-websocket-protocol'])) {
        refuse(socket, '400 Bad Request', `WAMP over WebSocket needs one of the subprotocols ${SUPPORTED}\n`);
        return;
      }
      try {
        wss.handleUpgrade(req, socket, head, (ws) => {
          alive.add(ws);
          ws.on('pong', () => alive.add(ws));
          const serializer = serializerBySubprotocol(ws.protocol);
          if (!serializer) return ws.close(1002, 'no WAMP subprotocol'); // cannot happen: checked above
          new WebSocketConnection(ws, socket, req.socket.remoteAddress, serializer, accept, opts);
        });
      } catch (err) {
        opts.onError?.(err);
        socket.destroy();
      }
    },
    close() {
      clearInterval(keepalive);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}

/** Close codes ws accepts to send (it throws on the others). */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** Close reasons are capped at 123 UTF-8 bytes; cut whole characters. */
function closeReason(reason: string): string {
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

class WebSocketConnection implements WampTransport {
  readonly kind = 'websocket';
  private readonly handler: WampTransportHandler | undefined;
  private readonly out: WriteCoalescer;
  private readonly sendOptions: { binary: boolean; compress: boolean };
  private readonly opcode: number;
  private reading = true;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    readonly remoteAddress: string | undefined,
    readonly serializer: Serializer,
    accept: AcceptWampTransport,
    private readonly opts: WampTransportOptions,
  ) {
    this.out = new WriteCoalescer(socket);
    this.sendOptions = { binary: serializer.binary, compress: false };
    this.opcode = serializer.binary ? 2 : 1; // json frames go out as text frames
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('error', (err) => this.onWsError(err));
    ws.on('close', () => this.onWsClose());
    try {
      this.handler = accept(this);
    } catch (err) {
      this.fail(err);
    }
  }

  send(msg: unknown[]): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.sendEncoded(this.serializer.encode(msg));
  }

  /**
   * Small messages are framed here and written straight to the socket (see websocket-frame.ts).
   * Going past ws's Sender is safe because it never queues here: without permessage-deflate,
   * fragments or Blobs, ws writes every frame (ours, its pings and pongs, its close) to the socket
   * at once, in the order they are sent.
   */
  sendEncoded(frame: Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.out.hold();
    if (frame.length >= FRAME_BELOW) {
      this.ws.send(frame, this.sendOptions);
      return;
    }
    if (frame !== lastMessage) {
      lastMessage = frame;
      lastFramed = webSocketFrame(this.opcode, frame);
    }
    this.socket.write(lastFramed as Buffer);
  }

  bufferedBytes(): number {
    // ws's bufferedAmount adds what its Sender holds back, which is nothing here (see sendEncoded).
    return this.socket.writableLength;
  }

  close(code: number, reason: string): void {
    this.reading = false;
    if (this.ws.readyState !== WebSocket.OPEN) return;
    try {
      this.ws.close(validCloseCode(code) ? code : 1000, closeReason(reason));
    } catch {
      this.ws.terminate();
    }
  }

  terminate(): void {
    this.reading = false;
    this.ws.terminate();
  }

  private onFrame(data: WebSocket.RawData, _isBinary: boolean): void {
    if (!this.reading) return;
    // Text or binary frames are both accepted. With the default binaryType data is one Buffer.
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    let msg: unknown[];
    try {
      msg = this.serializer.decodeDeferringArgs(buf);
    } catch (err) {
      this.protocolError((err as Error).message, 1002);
      return;
    }
    try {
      this.handler?.onMessage(msg);
    } catch (err) {
      this.fail(err);
    }
  }

  /** ws reports malformed frames and oversized messages here, and has already started closing. */
  private onWsError(err: Error & { code?: string }): void {
    const message =
      err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? `message exceeds the limit of ${this.opts.maxMessageBytes} bytes` : err.message;
    this.protocolError(message, err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 1009 : 1002);
  }

  private protocolError(message: string, code: number): void {
    if (!this.reading) return;
    this.reading = false;
    try {
      this.handler?.onProtocolError(message);
    } catch (err) {
      this.fail(err);
    }
    this.close(code, message); // no-op if the session layer (or ws) already closed
  }

  private fail(err: unknown): void {
    try {
      this.opts.onError?.(err);
    } catch {
      // the error reporter itself failed; nothing more to do
    }
    this.terminate();
  }

  private onWsClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.reading = false;
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

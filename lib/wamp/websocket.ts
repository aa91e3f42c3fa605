// WAMP over WebSocket: the listener hands us upgrade requests offering a wamp.2.* subprotocol (or
// any on a path dedicated to WAMP). The WebSocket itself is lib/transport's (handshake, reader,
// framing, keep-alive, closing handshake, limits); this file picks the serializer from the
// subprotocol and turns messages into WAMP messages.
//
// Which stack: our own (lib/transport/websocket-*.ts) or `ws` (lib/transport/ws-server.ts), both
// behind the same interface and both passing test/transport/websocket-protection.test.ts. The
// choice is made by the WAMP bench, which runs both (test/bench/wamp.ts, target kitsune-ws); the
// numbers are in lib/transport/websocket-connection.ts.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { MessageSocket } from '../transport/message-socket.ts';
import { tlsIdentityOf } from '../transport/tls-identity.ts';
import type { WebSocketHandler } from '../transport/websocket-connection.ts';
import type { WebSocketLimits } from '../transport/websocket-limits.ts';
import { createWebSocketServer } from '../transport/websocket-server.ts';
import { createWsWebSocketServer } from '../transport/ws-server.ts';
import { serializerBySubprotocol, serializers, type Serializer } from './serializers.ts';
import type { AcceptWampTransport, WampTransport, WampTransportHandler, WampTransportOptions } from './transport.ts';

export interface WampWebSocketServer {
  /** Completes (or refuses) a WebSocket upgrade. Never throws. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Stops accepting upgrades and drops every open connection. */
  close(): void;
}

export interface WampWebSocketOptions extends WampTransportOptions, Omit<WebSocketLimits, 'maxMessageBytes' | 'keepaliveMs' | 'maxBufferedBytes'> {
  /** The WebSocket stack: ours (default) or ws (kept for the bench comparison). */
  engine?: 'kitsune' | 'ws';
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

export function createWampWebSocketServer(accept: AcceptWampTransport, opts: WampWebSocketOptions): WampWebSocketServer {
  const create = opts.engine === 'ws' ? createWsWebSocketServer : createWebSocketServer;
  return create({
    limits: opts,
    // WAMP needs a serializer: refuse plainly rather than complete a handshake with no subprotocol.
    subprotocol: (req) =>
      pickSubprotocol(req.headers['sec-websocket-protocol'])?.subprotocol ?? {
        status: '400 Bad Request',
        message: `WAMP over WebSocket needs one of the subprotocols ${SUPPORTED}\n`,
      },
    accept: (socket, req) => new WampWebSocket(socket, pickSubprotocol(req.headers['sec-websocket-protocol']) as Serializer, accept, tlsIdentityOf(req.socket)),
    onError: opts.onError,
  });
}

class WampWebSocket implements WampTransport, WebSocketHandler {
  readonly kind = 'websocket';
  readonly remoteAddress: string | undefined;
  private readonly handler: WampTransportHandler;
  /** json frames go out as text frames */
  private readonly binary: boolean;
  /** Whether messages from the peer are still handed to the session. */
  private reading = true;

  constructor(
    private readonly socket: MessageSocket,
    readonly serializer: Serializer,
    accept: AcceptWampTransport,
    readonly tlsIdentity: string | undefined,
  ) {
    this.remoteAddress = socket.remoteAddress;
    this.binary = serializer.binary;
    this.handler = accept(this);
  }

  send(msg: unknown[]): number {
    return this.socket.isOpen ? this.sendEncoded(this.serializer.encode(msg)) : 0;
  }

  sendEncoded(frame: Buffer): number {
    if (!this.socket.isOpen) return 0;
    this.socket.send(frame, this.binary);
    return frame.length;
  }

  bufferedBytes(): number {
    return this.socket.bufferedBytes();
  }

  close(code: number, reason: string): void {
    this.reading = false;
    this.socket.close(code, reason);
  }

  terminate(): void {
    this.reading = false;
    this.socket.terminate();
  }

  // --- WebSocketHandler ---

  onMessage(data: Buffer): void {
    // Text and binary frames are both accepted, whatever the subprotocol.
    if (!this.reading) return;
    let msg: unknown[];
    try {
      msg = this.serializer.decodeDeferringArgs(data);
    } catch (err) {
      // A message that does not decode: the session ABORTs, and the WebSocket closes (1002).
      this.reading = false;
      this.handler.onProtocolError((err as Error).message);
      this.socket.close(1002, (err as Error).message); // no-op if the session layer already closed
      return;
    }
    this.handler.onMessage(msg, data.length);
  }

  /** The WebSocket was failed below us (its close frame is out): the session hears why. */
  onProtocolError(message: string): void {
    if (!this.reading) return;
    this.reading = false;
    this.handler.onProtocolError(message);
  }

  onClose(): void {
    this.reading = false;
    this.handler.onClose();
  }
}

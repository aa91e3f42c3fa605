// Accepting WebSocket upgrades for one path: the request is checked (method, version, key, Origin),
// the subprotocol picked by the caller, compression negotiated only if configured, then the socket
// becomes a WebSocketConnection. The server keeps its open connections for keep-alive and close().
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { KeepaliveSet } from './keepalive.ts';
import { WebSocketConnection, type WebSocketHandler } from './websocket-connection.ts';
import { negotiateDeflate } from './websocket-deflate.ts';
import { acceptUpgrade, refuseUpgrade, upgradeRefusal, type Refusal } from './websocket-handshake.ts';
import type { WebSocketLimits } from './websocket-limits.ts';
import type { MessageSocket } from './message-socket.ts';

export interface WebSocketServerOptions {
  limits: WebSocketLimits;
  /** The subprotocol to answer with (undefined: none), or a refusal. */
  subprotocol(req: IncomingMessage): string | undefined | Refusal;
  /** Takes a new connection; may send at once. */
  accept(connection: MessageSocket, req: IncomingMessage): WebSocketHandler;
  /** Told about exceptions thrown by the handlers; the connection concerned is dropped. */
  onError?: (err: unknown) => void;
}

export interface WebSocketServer {
  /** Completes (or refuses) a WebSocket upgrade. Never throws. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Stops accepting upgrades and drops every open connection. */
  close(): void;
  readonly connections: ReadonlySet<MessageSocket>;
}

export function createWebSocketServer(opts: WebSocketServerOptions): WebSocketServer {
  const { limits } = opts;
  const alive = new KeepaliveSet<WebSocketConnection>(limits.keepaliveMs);
  const onError = opts.onError ?? (() => {});
  let closed = false;
  return {
    connections: alive.open,
    handleUpgrade(req, socket, head) {
      if (closed || !socket.readable || !socket.writable) {
        socket.destroy();
        return;
      }
      try {
        const refusal = upgradeRefusal(req, limits.allowedOrigins);
        if (refusal) return refuseUpgrade(socket, refusal);
        const subprotocol = opts.subprotocol(req);
        if (typeof subprotocol === 'object') return refuseUpgrade(socket, subprotocol);
        const ext = req.headers['sec-websocket-extensions'];
        const deflate = negotiateDeflate(Array.isArray(ext) ? ext.join(',') : ext, limits.compression);
        acceptUpgrade(req, socket, subprotocol, deflate?.response);
        const c = new WebSocketConnection(socket, req.socket.remoteAddress, limits, deflate?.deflate, alive.open);
        alive.open.add(c);
        c.start((conn) => opts.accept(conn, req), head, onError);
      } catch (err) {
        onError(err);
        socket.destroy();
      }
    },
    close() {
      closed = true;
      alive.stop();
      for (const c of alive.open) c.terminate();
    },
  };
}

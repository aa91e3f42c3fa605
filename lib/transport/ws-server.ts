// The same WebSocketServer as websocket-server.ts, served by the `ws` package instead of our own
// reader and framing: the WAMP bench compares the two stacks on one run (test/bench/wamp.ts) and
// the protection tests run against both (test/transport/). ws is configured with the same limits:
// maxPayload, maxFragments, closeTimeout, permessage-deflate only if configured (then bounded by
// maxPayload, without context takeover), Origin and subprotocol checked as ours checks them.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer as WsServer, type WebSocket } from 'ws';
import { KeepaliveSet, type KeptAlive } from './keepalive.ts';
import type { MessageSocket } from './message-socket.ts';
import { refuseUpgrade, upgradeRefusal } from './websocket-handshake.ts';
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_MAX_FRAGMENTS } from './websocket-limits.ts';
import type { WebSocketServer, WebSocketServerOptions } from './websocket-server.ts';

/** The close code ws put on an error of its Receiver (under its private kStatusCode symbol). */
function closeCodeOf(err: Error): number {
  const key = Object.getOwnPropertySymbols(err).find((s) => s.description === 'status-code');
  const code = key ? (err as unknown as Record<symbol, unknown>)[key] : undefined;
  return typeof code === 'number' ? code : 1002;
}

class WsMessageSocket implements MessageSocket, KeptAlive {
  readonly remoteAddress: string | undefined;
  heard = true;
  missed = 0;
  private corked = false;
  private readonly socket: Socket;

  constructor(
    readonly ws: WebSocket,
    req: IncomingMessage,
    private readonly compressAbove: number,
  ) {
    this.remoteAddress = req.socket.remoteAddress;
    this.socket = (ws as unknown as { _socket: Socket })._socket;
  }

  get isOpen(): boolean {
    return this.ws.readyState === 1;
  }

  send(data: Buffer, binary: boolean): void {
    if (this.ws.readyState !== 1) return;
    // The frames of one tick go out in one write, as WriteBatch does for our stack.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.ws.send(data, { binary, compress: data.length >= this.compressAbove });
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState > 1) return;
    this.ws.close(code, Buffer.byteLength(reason) > 123 ? reason.slice(0, 40) : reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  ping(): void {
    if (this.ws.readyState === 1) this.ws.ping();
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  get isPaused(): boolean {
    return this.ws.isPaused;
  }

}

export function createWsWebSocketServer(opts: WebSocketServerOptions): WebSocketServer {
  const { limits } = opts;
  const compression = limits.compression;
  const wss = new WsServer({
    noServer: true,
    clientTracking: false,
    maxPayload: limits.maxMessageBytes,
    maxFragments: limits.maxFragments ?? DEFAULT_MAX_FRAGMENTS,
    closeTimeout: limits.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    perMessageDeflate: compression ? { threshold: compression.threshold ?? 1024, serverNoContextTakeover: true, clientNoContextTakeover: true } : false,
    handleProtocols: (_offered, req) => {
      const p = opts.subprotocol(req);
      return typeof p === 'string' ? p : false;
    },
  } as ConstructorParameters<typeof WsServer>[0]);
  const alive = new KeepaliveSet<WsMessageSocket>(limits.keepaliveMs);
  const onError = opts.onError ?? (() => {});
  let closed = false;
  return {
    connections: alive.open,
    handleUpgrade(req, socket, head) {
      if (closed || !socket.readable || !socket.writable) return void socket.destroy();
      const refusal = upgradeRefusal(req, limits.allowedOrigins);
      if (refusal) return refuseUpgrade(socket, refusal);
      const p = opts.subprotocol(req);
      if (typeof p === 'object') return refuseUpgrade(socket, p);
      wss.handleUpgrade(req, socket, head, (ws) => {
        const c = new WsMessageSocket(ws, req, compression ? (compression.threshold ?? 1024) : Infinity);
        alive.open.add(c);
        let handler: ReturnType<typeof opts.accept> | undefined;
        let told = false;
        const gone = (code: number): void => {
          alive.open.delete(c);
          if (told) return;
          told = true;
          try {
            handler?.onClose(code === 1006 ? undefined : code);
          } catch (err) {
            onError(err);
          }
        };
        ws.on('pong', () => {
          c.heard = true;
          handler?.onPong?.();
        });
        ws.on('ping', () => {
          c.heard = true;
          handler?.onPing?.();
        });
        ws.on('message', (data: Buffer, binary: boolean) => {
          c.heard = true;
          try {
            handler?.onMessage(data, binary);
          } catch (err) {
            onError(err);
            ws.terminate();
          }
        });
        ws.on('error', (err: Error) => {
          try {
            handler?.onProtocolError(err.message, closeCodeOf(err));
          } catch (e) {
            onError(e);
          }
        });
        ws.on('close', gone);
        try {
          handler = opts.accept(c, req);
        } catch (err) {
          onError(err);
          ws.terminate();
        }
      });
    },
    close() {
      closed = true;
      alive.stop();
      for (const c of alive.open) c.terminate();
      wss.close();
    },
  };
}

// One TCP port for everything: the first bytes a client sends tell its protocol.
//   0x16  TLS ClientHello (when the port has TLS): the handshake, then the same sniffing on the
//         decrypted stream — wss://, https://, RawSocket and MQTT over TLS
//   0x7F  WAMP RawSocket handshake
//   0x10  MQTT CONNECT
//   else  HTTP, which may upgrade to WebSocket: WAMP or MQTT by subprotocol, or a bridge's socket
//         (upgrade-routes.ts decides)
// Each connection is admitted (admission.ts) before sniffing; HTTP ones then get our own deadlines
// (http-guard.ts) until they upgrade. Plain connections stay served beside TLS unless the TLS
// configuration says `required`: local health checks, metrics scrapers and clients not yet moved
// to TLS keep working on the one port, as Crossbar's universal transport lets them.
import http from 'node:http';
import net from 'node:net';
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Admission } from './admission.ts';
import { guardHttpServer, type HttpGuard, type HttpTimeouts } from './http-guard.ts';
import { refuseUpgrade } from '../lib/transport/websocket-handshake.ts';
import { routeUpgrade, type UpgradeRoutes } from './upgrade-routes.ts';
import { type SharedTlsConfig, TlsEndpoint } from './tls.ts';

export type { UpgradeHandler } from './upgrade-routes.ts';

/**
 * Receives a socket after sniffing. `firstBytes` were already read from it (they are not unshifted);
 * the socket is paused: the handler resumes it (or unshifts the bytes into a parser of its own).
 */
export type SniffedSocketHandler = (socket: net.Socket, firstBytes: Buffer) => void;

export interface SharedListenerOptions {
  host: string;
  port: number;
  /** An http.Server (never listening itself: it is fed connections) or a request handler. */
  onHttp: http.Server | http.RequestListener;
  /** Where WebSocket upgrades go (WAMP, MQTT, bridges); without it every upgrade gets a 404. */
  websocket?: UpgradeRoutes;
  /** RawSocket connections; without it they are dropped. */
  onRawSocket?: SniffedSocketHandler;
  /** MQTT connections; without it they are dropped. */
  onMqtt?: SniffedSocketHandler;
  /** A connection that sends nothing for this long is dropped (default 10 s). */
  sniffTimeoutMs?: number;
  /** Limits on open connections, applied at accept time; without it every connection is admitted. */
  admission?: Admission;
  /** Deadlines of our own for HTTP requests (see http-guard.ts); without them Node's alone apply. */
  httpTimeouts?: HttpTimeouts;
  /** This listener's name in metrics (default 'shared'). */
  name?: string;
  /** Told about exceptions thrown by the handlers; the connection concerned is dropped. */
  onError?: (err: unknown) => void;
  /** TLS on this port (handshakes have sniffTimeoutMs to finish, then that long again for the first decrypted bytes). */
  tls?: SharedTlsConfig;
  /** Told why a TLS handshake failed (debug logging). */
  onTlsFailure?: (reason: string, err: Error) => void;
}

export interface SharedListener {
  listen(): Promise<{ port: number }>;
  /** Stops listening and destroys every open connection, whoever owns it now. */
  close(): Promise<void>;
  readonly httpServer: http.Server;
  /** This port's TLS, when configured (its certificates reload on SIGHUP). */
  readonly tls: TlsEndpoint | undefined;
}

const MAGIC_RAWSOCKET = 0x7f;
const MQTT_CONNECT = 0x10;
const TLS_HANDSHAKE = 0x16;

/** What a plain HTTP client hears on a port that requires TLS. */
const TLS_REQUIRED_BODY = 'this port requires TLS (https://, wss://, or RawSocket and MQTT over TLS)\n';
const TLS_REQUIRED = Buffer.from(
  `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${TLS_REQUIRED_BODY.length}\r\nConnection: close\r\n\r\n${TLS_REQUIRED_BODY}`,
);

function upgradePath(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

function destroySelf(this: net.Socket): void {
  this.destroy();
}

function ignore(): void {}

export function createSharedListener(opts: SharedListenerOptions): SharedListener {
  const httpServer = opts.onHttp instanceof http.Server ? opts.onHttp : http.createServer(opts.onHttp);
  const sockets = new Set<net.Socket>();
  const sniffTimeout = opts.sniffTimeoutMs ?? 10_000;
  const name = opts.name ?? 'shared';
  const admission = opts.admission;
  const httpGuard: HttpGuard | undefined = opts.httpTimeouts && guardHttpServer(httpServer, opts.httpTimeouts, (phase) => admission?.countTimeout(name, phase));

  const guard = (socket: Duplex, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      opts.onError?.(err);
      socket.destroy();
    }
  };

  httpServer.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const route = routeUpgrade(opts.websocket ?? {}, upgradePath(req.url), req.headers['sec-websocket-protocol']);
    httpGuard?.release(socket); // a WebSocket now, or refused below: the gates' timeouts apply
    guard(socket, () => {
      if ('handler' in route) return route.handler(req, socket, head);
      opts.websocket?.onRefused?.(route.reason);
      refuseUpgrade(socket, route.refusal);
    });
  });
  // Malformed HTTP: node's default 'clientError' handling answers 400 and destroys the socket.

  const dispatch = (socket: net.Socket, first: Buffer, acceptedAt: number): void => {
    const b = first[0];
    if (b === MAGIC_RAWSOCKET || b === MQTT_CONNECT) {
      const handler = b === MAGIC_RAWSOCKET ? opts.onRawSocket : opts.onMqtt;
      if (!handler) return void socket.destroy();
      guard(socket, () => handler(socket, first));
      return;
    }
    socket.unshift(first);
    guard(socket, () => {
      httpGuard?.track(socket, acceptedAt);
      httpServer.emit('connection', socket);
    });
    socket.resume();
  };

  // Listeners shared by every socket of this listener (the socket is `this`): per-socket closures
  // would stay alive through the 'close' listener as long as the connection.
  function forget(this: net.Socket): void {
    sockets.delete(this);
    sniffing.delete(this);
  }

  // The sniff deadlines: swept together rather than a socket timer each (socket.setTimeout(0) leaves
  // its cleared Timeout on the socket, ~150 B for the connection's life).
  const sniffing = new Map<net.Socket, number>();
  const sniffSweep = setInterval(
    () => {
      const now = Date.now();
      for (const [socket, acceptedAt] of sniffing) {
        if (now - acceptedAt < sniffTimeout) continue;
        sniffing.delete(socket);
        admission?.countTimeout(name, 'sniff');
        socket.destroy();
      }
    },
    Math.max(10, Math.min(1000, Math.floor(sniffTimeout / 4))),
  ).unref();

  const tlsEndpoint =
    opts.tls &&
    new TlsEndpoint(opts.tls, {
      name,
      handshakeTimeoutMs: sniffTimeout,
      onSecure: (socket) => {
        // the decrypted stream is sniffed like a plain one, under a deadline of its own
        sockets.add(socket);
        socket.on('close', forget);
        socket.on('error', destroySelf);
        sniffing.set(socket, Date.now());
        socket.once('data', sniffed);
      },
      onFailed: (reason, err) => {
        if (reason === 'timeout') admission?.countTimeout(name, 'tls');
        else admission?.countRefused(name, 'tls_handshake');
        opts.onTlsFailure?.(reason, err);
      },
    });
  const tlsRequired = opts.tls?.required === true;

  function sniffed(this: net.Socket, first: Buffer): void {
    const acceptedAt = sniffing.get(this) ?? Date.now();
    sniffing.delete(this);
    this.pause();
    const encrypted = (this as tls.TLSSocket).encrypted === true;
    if (tlsEndpoint && !encrypted) {
      if (first[0] === TLS_HANDSHAKE) {
        this.unshift(first);
        return tlsEndpoint.take(this); // the endpoint's handshake deadline applies now
      }
      if (tlsRequired) {
        admission?.countRefused(name, 'tls_required');
        const isHttp = first[0] !== MAGIC_RAWSOCKET && first[0] !== MQTT_CONNECT;
        if (!isHttp) return void this.destroy();
        this.end(TLS_REQUIRED);
        this.resume(); // read and drop the rest, so the answer is not lost to a reset
        setTimeout(() => this.destroy(), 1000).unref();
        return;
      }
    }
    this.removeListener('error', destroySelf);
    this.on('error', ignore); // whoever takes over, an error must never be unhandled
    dispatch(this, first, acceptedAt);
  }

  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', forget);
    if (admission && !admission.accept(socket, name, 'sniffing')) return;
    sniffing.set(socket, Date.now());
    socket.on('error', destroySelf); // before sniffing; later owners add their own
    socket.once('data', sniffed);
  });
  server.on('error', (err) => opts.onError?.(err));

  return {
    httpServer,
    tls: tlsEndpoint || undefined,
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen(opts.port, opts.host, () => {
          server.removeListener('error', onError);
          resolve({ port: (server.address() as net.AddressInfo).port });
        });
      });
    },
    close() {
      httpGuard?.stop();
      clearInterval(sniffSweep);
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        httpServer.closeAllConnections?.();
      });
    },
  };
}

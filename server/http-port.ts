// A dedicated HTTP port (--hustmq-port, --esub-port, --hustdb-port): one bridge at the root, behind
// the same admission and HTTP deadlines as the shared port, over TLS (https) when configured. The
// http.Server never listens itself: our TCP server admits each connection, then hands it over.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Admission } from './admission.ts';
import type { TlsEndpoint, TlsListenerConfig } from './tls.ts';
import { listenTlsPort } from './tls-port.ts';
import { guardHttpServer, type HttpTimeouts } from './http-guard.ts';
import { bindListener } from './bind-listener.ts';

export interface HttpPortOptions {
  /** The listener's name in metrics (e.g. 'hustmq'). */
  name: string;
  host: string;
  port: number;
  handler: http.RequestListener;
  onUpgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  admission: Admission;
  timeouts: HttpTimeouts;
  onError?: (err: unknown) => void;
  /** https: the handshake must finish within `timeouts.headersTimeoutMs`, and the headers that long after it. */
  tls?: TlsListenerConfig;
  onTlsFailure?: (reason: string, err: Error) => void;
}

export interface HttpPort {
  port: number;
  /** Its TLS, when it is https. */
  tls?: TlsEndpoint;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

export async function listenHttpPort(opts: HttpPortOptions): Promise<HttpPort> {
  const httpServer = http.createServer(opts.handler);
  const guard = guardHttpServer(httpServer, opts.timeouts, (phase) => opts.admission.countTimeout(opts.name, phase));
  const onUpgrade = opts.onUpgrade;
  if (onUpgrade) {
    httpServer.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      guard.release(socket);
      onUpgrade(req, socket, head);
    });
  }
  if (opts.tls) {
    const tlsPort = await listenTlsPort({
      name: opts.name,
      host: opts.host,
      port: opts.port,
      tls: opts.tls,
      admission: opts.admission,
      handshakeTimeoutMs: opts.timeouts.headersTimeoutMs,
      onSecure: (socket) => {
        guard.track(socket, Date.now());
        httpServer.emit('connection', socket);
      },
      onError: opts.onError,
      onTlsFailure: opts.onTlsFailure,
    });
    return {
      port: tlsPort.port,
      tls: tlsPort.endpoint,
      close() {
        guard.stop();
        return tlsPort.close();
      },
    };
  }
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (!opts.admission.accept(socket, opts.name, 'http')) return;
    guard.track(socket, Date.now());
    httpServer.emit('connection', socket);
  });
  server.on('error', (err) => opts.onError?.(err));
  await bindListener(server, opts.port, opts.host);
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      guard.stop();
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

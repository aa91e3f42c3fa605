// A dedicated TLS port (mqtts, https bridge ports): our TCP server admits each connection (the same
// limits as every port; a refused one is simply closed, since plaintext would be garbage to a TLS
// client), the listener's TlsEndpoint does the handshake under its deadline, and the decrypted
// socket goes to the protocol's handler.
import net from 'node:net';
import type tls from 'node:tls';
import type { Admission } from './admission.ts';
import { type TlsListenerConfig, TlsEndpoint } from './tls.ts';
import { bindListener } from './bind-listener.ts';

export interface TlsPortOptions {
  /** The listener's name in metrics and logs (e.g. 'mqtts'). */
  name: string;
  host: string;
  port: number;
  tls: TlsListenerConfig;
  admission?: Admission;
  /** A handshake must finish this long after the connection was accepted. */
  handshakeTimeoutMs: number;
  /** A connection whose handshake finished. */
  onSecure(socket: tls.TLSSocket): void;
  onError?(err: unknown): void;
  /** Told why a handshake failed (debug logging). */
  onTlsFailure?(reason: string, err: Error): void;
}

export interface TlsPort {
  port: number;
  endpoint: TlsEndpoint;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

function destroySelf(this: net.Socket): void {
  this.destroy();
}

export async function listenTlsPort(opts: TlsPortOptions): Promise<TlsPort> {
  const { admission, name } = opts;
  const endpoint = new TlsEndpoint(opts.tls, {
    name,
    handshakeTimeoutMs: opts.handshakeTimeoutMs,
    onSecure: (socket) => {
      socket.on('error', destroySelf); // until the handler adds its own
      try {
        opts.onSecure(socket);
      } catch (err) {
        opts.onError?.(err);
        socket.destroy();
      }
    },
    onFailed: (reason, err) => {
      if (reason === 'timeout') admission?.countTimeout(name, 'tls');
      else admission?.countRefused(name, 'tls_handshake');
      opts.onTlsFailure?.(reason, err);
    },
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (admission && !admission.accept(socket, name, 'tls')) return;
    socket.on('error', destroySelf);
    endpoint.take(socket);
  });
  server.on('error', (err) => opts.onError?.(err));
  await bindListener(server, opts.port, opts.host);
  return {
    port: (server.address() as net.AddressInfo).port,
    endpoint,
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

// Deadlines of our own for HTTP connections. Node's headersTimeout/requestTimeout are checked only every
// connectionsCheckingInterval (30 s) and only on a server that listens itself, which ours never do (they
// are fed sockets by our listeners). Here each tracked connection has a deadline, swept often enough
// (every second at most) that a slow client is closed close to the configured time:
//   headers  the next request's headers, from the connection's start or from the end of the previous
//            response plus keepAliveTimeout (Node closes an idle keep-alive connection at that time)
//   request  the request's body, from its headers
// then nothing while the application answers (long polls may take long). An expired connection gets
// 408 if no response has begun, and is closed. A WebSocket upgrade leaves the guard (release): the gates
// own it then.
import type http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';

export interface HttpTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export interface HttpGuard {
  /** Starts guarding a socket about to be given to the HTTP server; `since` is when it was accepted. */
  track(socket: net.Socket, since: number): void;
  /**
   * Stops guarding a socket that leaves HTTP (a WebSocket upgrade): the upgrade handler calls it. (Not an
   * 'upgrade' listener of its own: one would make Node treat upgrades as such on servers without a handler.)
   */
  release(socket: Duplex): void;
  /** Stops the sweep (the server is closing). */
  stop(): void;
}

type Phase = 'headers' | 'request' | 'response';

interface Tracked {
  phase: Phase;
  deadline: number;
  /** Responses not yet finished (more than one when requests are pipelined). */
  pending: number;
  req?: http.IncomingMessage;
  res?: http.ServerResponse;
}

/** How long an expired connection stays open after its 408, so the client reads it before the close. */
const LINGER_MS = 500;

const TIMEOUT_BODY = 'request timeout: the request was not received in time\n';
const TIMEOUT_RESPONSE = Buffer.from(
  `HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${TIMEOUT_BODY.length}\r\nConnection: close\r\n\r\n${TIMEOUT_BODY}`,
);

export function guardHttpServer(server: http.Server, timeouts: HttpTimeouts, onTimeout: (phase: 'headers' | 'request') => void): HttpGuard {
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  const tracked = new Map<Duplex, Tracked>();

  const expire = (socket: Duplex, t: Tracked, now: number): void => {
    if (t.phase === 'response' || now < t.deadline) return;
    tracked.delete(socket);
    onTimeout(t.phase);
    // A response already begun (this one's, or an earlier pipelined one's) cannot be interrupted by a
    // 408: the connection just ends.
    if (t.res?.headersSent || t.pending > 1) return void socket.destroy();
    socket.end(TIMEOUT_RESPONSE);
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };

  const sweep = (): void => {
    const now = Date.now();
    for (const [socket, t] of tracked) {
      if (t.phase === 'request' && t.req?.complete) t.phase = 'response';
      expire(socket, t, now);
    }
  };
  const every = Math.max(10, Math.min(1000, Math.floor(Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs) / 4)));
  const timer = setInterval(sweep, every).unref();

  // before the application's handler, which may finish the response at once
  server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const t = tracked.get(req.socket);
    if (!t) return;
    t.pending++;
    t.req = req;
    t.res = res;
    t.phase = req.complete ? 'response' : 'request';
    t.deadline = Date.now() + timeouts.requestTimeoutMs;
    res.once('close', () => {
      t.pending--;
      if (t.pending > 0 || !tracked.has(req.socket)) return;
      t.phase = 'headers';
      t.req = t.res = undefined;
      t.deadline = Date.now() + timeouts.keepAliveTimeoutMs + timeouts.headersTimeoutMs;
    });
  });

  // One 'close' listener for every tracked socket (the socket is `this`), taken off again when the
  // socket leaves HTTP: a closure per socket stayed with every WebSocket for its life (~250 B each).
  function untrack(this: Duplex): void {
    tracked.delete(this);
  }

  return {
    track(socket, since) {
      tracked.set(socket, { phase: 'headers', deadline: since + timeouts.headersTimeoutMs, pending: 0 });
      socket.on('close', untrack);
    },
    release(socket) {
      if (tracked.delete(socket)) socket.removeListener('close', untrack);
    },
    stop() {
      clearInterval(timer);
      tracked.clear();
    },
  };
}

// The server's side of the WebSocket opening handshake (RFC 6455 section 4.2): checking the
// client's upgrade request (its Origin too, when an allow-list is configured) and answering it.
// Subprotocols are the caller's business; the only extension is permessage-deflate, and only when
// configured (websocket-deflate.ts).
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A Sec-WebSocket-Key is 16 random bytes in base64. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;

export interface Refusal {
  status: string;
  message: string;
  /** Extra header lines, each ending in \r\n. */
  headers?: string;
}

/**
 * Why `req` cannot become a WebSocket, or undefined if it can. With `allowedOrigins`, a request
 * carrying an Origin header (every browser sends one) must name one of them: a page on another site
 * cannot then use a visitor's browser to reach the router. Clients that are not browsers send none.
 */
export function upgradeRefusal(req: IncomingMessage, allowedOrigins?: readonly string[]): Refusal | undefined {
  const origin = req.headers.origin;
  if (allowedOrigins && origin !== undefined && !allowedOrigins.includes(origin)) {
    return { status: '403 Forbidden', message: `Origin ${origin.slice(0, 200)} is not allowed\n` };
  }
  if (req.method !== 'GET') return { status: '405 Method Not Allowed', message: 'a WebSocket handshake is a GET request\n' };
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return { status: '400 Bad Request', message: 'Upgrade must be websocket\n' };
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') {
    return { status: '426 Upgrade Required', message: 'unsupported WebSocket version\n', headers: 'Sec-WebSocket-Version: 13, 8\r\n' };
  }
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key.trim())) return { status: '400 Bad Request', message: 'missing or invalid Sec-WebSocket-Key\n' };
  return undefined;
}

/** Answers a request upgradeRefusal found nothing wrong with; `head` went past it already. */
export function acceptUpgrade(req: IncomingMessage, socket: Duplex, subprotocol: string | undefined, extensions?: string): void {
  const key = (req.headers['sec-websocket-key'] as string).trim();
  const accept = createHash('sha1').update(key + ACCEPT_GUID).digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n` +
      (subprotocol ? `Sec-WebSocket-Protocol: ${subprotocol}\r\n` : '') +
      (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
      '\r\n',
  );
}

/** Answers an upgrade request with an HTTP error and closes the socket. */
export function refuseUpgrade(socket: Duplex, refusal: Refusal): void {
  socket.on('error', () => {});
  socket.end(
    `HTTP/1.1 ${refusal.status}\r\nConnection: close\r\n${refusal.headers ?? ''}Content-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(refusal.message)}\r\n\r\n${refusal.message}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}

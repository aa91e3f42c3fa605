// The limits and options of every WebSocket the router serves (/ws, /mqtt, esub's sockets): ws's
// protections are the floor, and the defaults are ws's where ws has one.
import type { CompressionSettings } from './websocket-deflate.ts';
import { DEFAULT_MAX_FRAGMENTS } from './websocket-reader.ts';

export interface WebSocketSettings {
  /** How long a peer has to end the TCP connection after the close handshake (default 5 s). */
  closeTimeoutMs?: number;
  /** How long a client may take to send its whole upgrade request (default 10 s; the HTTP server enforces it). */
  handshakeTimeoutMs?: number;
  /** Most frames one fragmented message may take (default 16384, ws's). */
  maxFragments?: number;
  /** Browser Origins allowed to open a WebSocket (default: any). Requests without Origin are not browsers and pass. */
  allowedOrigins?: string[];
  /** permessage-deflate: off unless configured; then bounded by the message limit. */
  compression?: CompressionSettings | false;
}

export interface WebSocketLimits extends WebSocketSettings {
  /** Largest message accepted from a peer (after inflating), in bytes. */
  maxMessageBytes: number;
  /**
   * Keep-alive interval (default 30 s): pings go out every half interval, and a peer silent through
   * two of them, at least an interval, is dropped (see keepalive.ts).
   */
  keepaliveMs?: number;
  /** Output buffered past which a peer's pings are no longer answered: it is dropped (default 32 MiB). */
  maxBufferedBytes?: number;
}

export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
export { DEFAULT_MAX_FRAGMENTS };

/**
 * The http.Server options that bound the opening handshake: a client that never finishes its
 * upgrade request is dropped after handshakeTimeoutMs (Node checks at connectionsCheckingInterval).
 */
export function handshakeServerOptions(settings: WebSocketSettings = {}): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  const ms = settings.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  return { headersTimeout: ms, requestTimeout: Math.max(ms, 300_000), connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(ms / 4))) };
}

// The seam between WAMP transports (WebSocket, RawSocket) and the WAMP session layer.
import type { Serializer } from './serializers.ts';

export interface WampTransport {
  readonly serializer: Serializer;
  readonly kind: 'websocket' | 'rawsocket';
  readonly remoteAddress: string | undefined;
  /** The identity of the peer's verified TLS client certificate, if it showed one (lib/transport/tls-identity.ts). */
  readonly tlsIdentity: string | undefined;
  /**
   * Encodes and sends; returns the message's encoded bytes, 0 when it was dropped (connection closing).
   * Throws WireError only if `msg` cannot be encoded (a caller bug, not peer input).
   */
  send(msg: unknown[]): number;
  /** Sends a frame already encoded with this.serializer (fan-out encodes once per serializer); returns its bytes, 0 when dropped. */
  sendEncoded(frame: Buffer): number;
  /** Bytes queued but not yet written to the kernel. */
  bufferedBytes(): number;
  /**
   * Graceful close. WebSocket: a close frame with `code` (1000 normal, 1002 protocol error, 1008 policy,
   * 1009 too big); RawSocket: flush, then end. Sends after close() are dropped.
   */
  close(code: number, reason: string): void;
  /** Immediate destroy. */
  terminate(): void;
}

export interface WampTransportHandler {
  /** A decoded message (see Serializer.decodeDeferringArgs) and its encoded size in bytes (for traffic metrics). */
  onMessage(msg: unknown[], bytes: number): void;
  /** Undecodable frame or oversized message: the session layer ABORTs and closes. */
  onProtocolError(message: string): void;
  /** Called exactly once, however the connection ended. */
  onClose(): void;
}

export type AcceptWampTransport = (t: WampTransport) => WampTransportHandler;

export { KEEPALIVE_MS, MAX_BUFFERED_BYTES } from '../transport/keepalive.ts';

export interface WampTransportOptions {
  /** Largest message accepted from a peer, in bytes. */
  maxMessageBytes: number;
  /** Told about exceptions thrown by the handler (a bug in the session layer); the connection is dropped. */
  onError?: (err: unknown) => void;
  /**
   * Keep-alive interval (default 30 s): pings (WebSocket pings, RawSocket PING frames) go out every
   * half interval, and a peer that sends nothing back through two of them, at least an interval, is
   * dropped (see lib/transport/keepalive.ts).
   */
  keepaliveMs?: number;
  /**
   * Output buffered for a peer past which answering its pings would only grow the buffer (it does
   * not read): such a peer is dropped instead (default 32 MiB, the router's default hard send limit).
   */
  maxBufferedBytes?: number;
}

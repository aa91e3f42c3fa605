// What a gate sees of a WebSocket connection, whichever stack serves it (websocket-connection.ts,
// or ws through ws-server.ts): messages out, buffered bytes for the slow-consumer policy, close.
export interface MessageSocket {
  readonly remoteAddress: string | undefined;
  /** Whether sends still go out (no close frame sent or received, socket not gone). */
  readonly isOpen: boolean;
  send(data: Buffer, binary: boolean): void;
  /** Bytes accepted for sending and not yet handed to the OS. */
  bufferedBytes(): number;
  /** Starts the closing handshake (bounded by closeTimeoutMs). */
  close(code: number, reason: string): void;
  /** Drops the connection at once. */
  terminate(): void;
  /** A ping of our own (keep-alive is built in; this is for protocols with their own, like esub's). */
  ping(): void;
  /** Stops reading from the peer (backpressure) until resume(). */
  pause(): void;
  resume(): void;
  readonly isPaused: boolean;
}

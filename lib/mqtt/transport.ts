// The byte pipes a connection runs over: a stream socket (TCP, TLS, or a socket sniffed on the
// shared port) or a WebSocket carrying MQTT in binary messages. Writes are corked for the rest of
// the tick and flushed together (writev on sockets, one WebSocket message for the whole batch).
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

export interface TransportEvents {
  data(chunk: Buffer): void;
  /** A non-binary WebSocket message or a transport-level protocol failure. */
  invalid(message: string): void;
  close(): void;
}

export interface Transport {
  readonly kind: 'tcp' | 'ws';
  readonly remote: string;
  start(events: TransportEvents): void;
  cork(): void;
  write(buf: Buffer): void;
  uncork(): void;
  /** Bytes accepted for sending and not yet handed to the OS. */
  buffered(): number;
  /** Flushes what is queued, then closes. */
  end(): void;
  /** Closes at once, dropping anything unsent. */
  destroy(): void;
}

export class StreamTransport implements Transport {
  readonly kind = 'tcp' as const;
  readonly remote: string;
  private closed = false;

  constructor(private readonly socket: Duplex) {
    const s = socket as Duplex & { remoteAddress?: string; remotePort?: number; setNoDelay?(v: boolean): void };
    this.remote = s.remoteAddress ? `${s.remoteAddress}:${s.remotePort ?? ''}` : 'stream';
    s.setNoDelay?.(true);
  }

  start(events: TransportEvents): void {
    const socket = this.socket;
    socket.on('data', (chunk: Buffer | string) => events.data(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    socket.on('error', () => {
      // reported as 'close' right after; the connection logs why it ended
    });
    socket.on('end', () => {
      if (!this.closed) socket.end();
    });
    socket.on('close', () => {
      this.closed = true;
      events.close();
    });
    if (socket.destroyed) queueMicrotask(() => events.close());
    // A sniffed socket arrives paused (its first bytes handed over separately): flowing starts on
    // the next tick, after the caller has fed those first bytes.
    socket.resume();
  }

  cork(): void {
    this.socket.cork();
  }

  write(buf: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(buf);
  }

  uncork(): void {
    this.socket.uncork();
  }

  buffered(): number {
    return this.socket.writableLength;
  }

  end(): void {
    if (this.socket.writable) this.socket.end();
    else this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export class WebSocketTransport implements Transport {
  readonly kind = 'ws' as const;
  readonly remote: string;
  private batch: Buffer[] | undefined;
  private batchBytes = 0;

  constructor(private readonly ws: WebSocket) {
    const sock = (ws as unknown as { _socket?: { remoteAddress?: string; remotePort?: number } })._socket;
    this.remote = sock?.remoteAddress ? `${sock.remoteAddress}:${sock.remotePort ?? ''}` : 'websocket';
  }

  start(events: TransportEvents): void {
    this.ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      if (!isBinary) {
        events.invalid('text WebSocket message (MQTT needs binary messages)');
        return;
      }
      if (Array.isArray(data)) for (const d of data) events.data(d);
      else events.data(Buffer.isBuffer(data) ? data : Buffer.from(data));
    });
    this.ws.on('error', () => {
      // followed by 'close'
    });
    this.ws.on('close', () => events.close());
    if (this.ws.readyState >= 2) queueMicrotask(() => events.close());
  }

  cork(): void {
    if (!this.batch) this.batch = [];
  }

  write(buf: Buffer): void {
    if (this.batch) {
      this.batch.push(buf);
      this.batchBytes += buf.length;
    } else if (this.ws.readyState === 1) this.ws.send(buf);
  }

  uncork(): void {
    const batch = this.batch;
    this.batch = undefined;
    this.batchBytes = 0;
    if (!batch || batch.length === 0 || this.ws.readyState !== 1) return;
    this.ws.send(batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch));
  }

  buffered(): number {
    return this.ws.bufferedAmount + this.batchBytes;
  }

  end(): void {
    if (this.ws.readyState <= 1) this.ws.close(1000);
  }

  destroy(): void {
    this.ws.terminate();
  }
}

// The byte pipes a connection runs over: a stream socket (TCP, TLS, or a socket sniffed on the
// shared port) or a WebSocket carrying MQTT in binary messages. Writes are corked for the rest of
// the tick and flushed together (writev on sockets, one WebSocket message for the whole batch).
import type { Duplex } from 'node:stream';
import type { MessageSocket } from '../transport/message-socket.ts';
import { tlsIdentityOf } from '../transport/tls-identity.ts';
import type { WebSocketHandler } from '../transport/websocket-connection.ts';

export interface TransportEvents {
  data(chunk: Buffer): void;
  /** A non-binary WebSocket message or a transport-level protocol failure. */
  invalid(message: string): void;
  close(): void;
}

export interface Transport {
  readonly kind: 'tcp' | 'ws';
  readonly remote: string;
  /** The identity of the peer's verified TLS client certificate, if any (lib/transport/tls-identity.ts). */
  readonly tlsIdentity: string | undefined;
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

// Listeners shared by every stream socket (the socket is `this`, its connection's events are on
// it under kEvents) rather than closures of each: two closures and their context were ~150 B of
// every idle connection, the property costs a slot.
const kEvents = Symbol('kitsune.mqtt.transportEvents');
type EventsCarrier = Duplex & { [kEvents]: TransportEvents };

function onStreamData(this: EventsCarrier, chunk: Buffer | string): void {
  this[kEvents].data(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
}

function onStreamClose(this: EventsCarrier): void {
  this[kEvents].close();
}

function ignoreError(): void {
  // reported as 'close' right after; the connection logs why it ended
}

function endToo(this: Duplex): void {
  if (!this.destroyed && !this.writableEnded) this.end();
}

export class StreamTransport implements Transport {
  readonly kind = 'tcp' as const;
  readonly remote: string;
  readonly tlsIdentity: string | undefined;

  constructor(private readonly socket: Duplex) {
    this.tlsIdentity = tlsIdentityOf(socket);
    const s = socket as Duplex & { remoteAddress?: string; remotePort?: number; setNoDelay?(v: boolean): void };
    this.remote = s.remoteAddress ? `${s.remoteAddress}:${s.remotePort ?? ''}` : 'stream';
    s.setNoDelay?.(true);
  }

  start(events: TransportEvents): void {
    const socket = this.socket as EventsCarrier;
    socket[kEvents] = events;
    socket.on('data', onStreamData);
    socket.on('error', ignoreError);
    // A socket that is not half-open (net and tls servers' default) ends its side by itself.
    if ((socket as Duplex & { allowHalfOpen?: boolean }).allowHalfOpen !== false) socket.on('end', endToo);
    socket.on('close', onStreamClose);
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

/**
 * MQTT over WebSocket (lib/transport's stack): every binary message carries bytes of the MQTT
 * stream. The writes of one cork are sent as one message.
 */
export class WebSocketTransport implements Transport, WebSocketHandler {
  readonly kind = 'ws' as const;
  readonly remote: string;
  private events: TransportEvents | undefined;
  private batch: Buffer[] | undefined;
  private batchBytes = 0;

  constructor(
    private readonly socket: MessageSocket,
    readonly tlsIdentity: string | undefined,
  ) {
    this.remote = socket.remoteAddress ?? 'websocket';
  }

  start(events: TransportEvents): void {
    this.events = events;
  }

  // --- WebSocketHandler ---

  onMessage(data: Buffer, binary: boolean): void {
    if (!binary) this.events?.invalid('text WebSocket message (MQTT needs binary messages)');
    else this.events?.data(data);
  }

  onProtocolError(): void {
    // the WebSocket layer closed with its own code (1002, 1007, 1008, 1009); onClose follows
  }

  onClose(): void {
    this.events?.close();
  }

  // --- Transport ---

  cork(): void {
    if (!this.batch) this.batch = [];
  }

  write(buf: Buffer): void {
    if (this.batch) {
      this.batch.push(buf);
      this.batchBytes += buf.length;
    } else this.socket.send(buf, true);
  }

  uncork(): void {
    const batch = this.batch;
    this.batch = undefined;
    this.batchBytes = 0;
    if (!batch || batch.length === 0) return;
    this.socket.send(batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch), true);
  }

  buffered(): number {
    return this.socket.bufferedBytes() + this.batchBytes;
  }

  end(): void {
    this.socket.close(1000, '');
  }

  destroy(): void {
    this.socket.terminate();
  }
}

// Keep-alive for connections whose peer may vanish without a word (a pulled cable, a killed
// laptop): ping every half interval and drop whoever sent nothing, not even a pong, through two
// pings in a row spanning at least an interval, so its session ends and its will runs.
//
// Two rules keep a stall of this process (a long synchronous task, a starved machine) from dropping
// live peers, as esub's psub does: the verdict waits for setImmediate, after the event loop's I/O
// phase (after a stall the timer runs before the sockets are read, and what arrived meanwhile must
// count), and one unanswered ping is never enough (a peer in this process, or one whose pong needs
// a few of our turns, had none while we were stalled).

/** Default ping interval. */
export const KEEPALIVE_MS = 30_000;
/**
 * Default output buffered for a peer past which answering its pings would only grow the buffer (it
 * does not read): such a peer is dropped instead (the router's default hard send limit).
 */
export const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

export interface KeptAlive {
  /** Set by the connection on every frame from the peer; cleared at each tick. */
  heard: boolean;
  /** Ticks in a row without a frame (kept by the KeepaliveSet; start at 0). */
  missed: number;
  /** False while closing: the closing handshake's own timeout applies then. */
  readonly isOpen: boolean;
  ping(): void;
  terminate(): void;
}

/** The open connections of one server, pinged together by one timer. */
export class KeepaliveSet<T extends KeptAlive> {
  readonly open = new Set<T>();
  private readonly timer: NodeJS.Timeout;
  /** performance.now() of the last two ticks. */
  private lastTickAt = -Infinity;
  private tickBeforeAt = -Infinity;
  private sweepScheduled = false;
  /** Whether silence through the ticks being judged spans an interval (set at each tick). */
  private spansInterval = false;

  constructor(private readonly intervalMs: number = KEEPALIVE_MS) {
    this.timer = setInterval(() => this.tick(), Math.max(1, intervalMs / 2));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = performance.now();
    // Two missed ticks mean silence since the sweep of the tick before the last one.
    this.spansInterval = now - this.tickBeforeAt >= this.intervalMs;
    this.tickBeforeAt = this.lastTickAt;
    this.lastTickAt = now;
    if (this.sweepScheduled) return;
    this.sweepScheduled = true;
    setImmediate(() => this.sweep());
  }

  private sweep(): void {
    this.sweepScheduled = false;
    const mayDrop = this.spansInterval;
    for (const c of this.open) {
      if (!c.isOpen) continue;
      if (c.heard) {
        c.heard = false;
        c.missed = 0;
      } else if (++c.missed >= 2 && mayDrop) {
        c.terminate();
        continue;
      }
      c.ping();
    }
  }
}

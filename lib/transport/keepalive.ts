// Keep-alive for connections whose peer may vanish without a word (a pulled cable, a killed
// laptop): ping every interval and drop whoever sent nothing, not even the pong, since the
// previous ping, so its session ends and its will runs.

/** Default ping interval. */
export const KEEPALIVE_MS = 30_000;
/**
 * Default output buffered for a peer past which answering its pings would only grow the buffer (it
 * does not read): such a peer is dropped instead (the router's default hard send limit).
 */
export const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

export interface KeptAlive {
  /** Pings the peer, or drops it if it was silent since the last call. */
  keepalive(): void;
}

/** The open connections of one server, pinged together by one timer. */
export class KeepaliveSet<T extends KeptAlive> {
  readonly open = new Set<T>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs: number = KEEPALIVE_MS) {
    this.timer = setInterval(() => {
      for (const c of this.open) c.keepalive();
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// The logger shape core and gates use; pino satisfies it. Tests may pass the silent one.
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** pino's: lets hot paths skip building a line nobody will see. */
  isLevelEnabled?(level: string): boolean;
}

const noop = (): void => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Whether per-message tracing (debug) is on: read once per gate, never per message. */
export function tracing(logger: Logger): boolean {
  return logger.isLevelEnabled?.('debug') === true;
}

/**
 * At most `perSecond` lines of one kind a client can trigger at will (refused requests), so a
 * client repeating a refused request cannot flood the log; the next line let through after a
 * stretch of dropped ones carries how many were dropped.
 */
export class LogBudget {
  private windowStart = 0;
  private used = 0;
  private dropped = 0;

  constructor(private readonly perSecond = 100) {}

  /** -1: drop this line; otherwise the number of lines dropped since the last one logged. */
  take(now = Date.now()): number {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used >= this.perSecond) {
      this.dropped++;
      return -1;
    }
    this.used++;
    const dropped = this.dropped;
    this.dropped = 0;
    return dropped;
  }
}

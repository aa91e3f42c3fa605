// Query arguments of the hustmq API: parsing and validation. Every bad argument becomes an
// HttpFail naming it; the error boundary answers it as plain text (404 unless said otherwise).
import type { QueuePriority } from '../../lib/index.ts';

/**
 * A request that fails with `status` and a plain-text body saying why. It carries no stack trace:
 * it is an answer, not a bug, and polling workers make "no message ready" a hot path.
 */
export class HttpFail extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

export function fail(message: string, status = 404): HttpFail {
  return new HttpFail(status, message);
}

/** The query string as sent, and its first value for each key (percent-decoded). */
export class Args {
  private readonly values = new Map<string, string>();

  constructor(readonly raw: string) {
    for (const part of raw.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const key = decode(eq < 0 ? part : part.slice(0, eq));
      if (this.values.has(key)) continue;
      this.values.set(key, eq < 0 ? '' : decode(part.slice(eq + 1)));
    }
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  required(key: string): string {
    const v = this.values.get(key);
    if (v === undefined) throw fail(`missing argument '${key}'`);
    return v;
  }
}

function decode(s: string): string {
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const QUEUE_NAME = /^[0-9A-Za-z_:.]{1,64}$/;

export function validQueueName(name: string): boolean {
  return QUEUE_NAME.test(name);
}

/** `queue`: 1-64 characters of [0-9A-Za-z_:.]. */
export function queueArg(args: Args, status = 404): string {
  const q = args.get('queue');
  if (q === undefined) throw fail("missing argument 'queue'", status);
  if (!validQueueName(q)) throw fail("bad argument 'queue': 1-64 characters of [0-9A-Za-z_:.]", status);
  return q;
}

/** `worker`: 5-32 bytes. */
export function workerArg(args: Args): string {
  const w = args.required('worker');
  const n = Buffer.byteLength(w);
  if (n < 5 || n > 32) throw fail("bad argument 'worker': 5-32 bytes");
  return w;
}

/** `priori`: 0, 1 or 2; `fallback` when absent (undefined = required). */
export function prioriArg(args: Args, fallback?: QueuePriority): QueuePriority {
  const p = args.get('priori');
  if (p === undefined) {
    if (fallback === undefined) throw fail("missing argument 'priori'");
    return fallback;
  }
  if (p !== '0' && p !== '1' && p !== '2') throw fail("bad argument 'priori': 0, 1 or 2");
  return Number(p) as QueuePriority;
}

/** `ack`: default true; values starting with 0 or false are false, true/1 are true. */
export function ackArg(args: Args): boolean {
  const a = args.get('ack');
  if (a === undefined || a === 'true' || a === '1') return true;
  if (a.startsWith('0') || a.startsWith('false')) return false;
  throw fail("bad argument 'ack': true or false");
}

/** A decimal integer in [min, max]. */
export function intArg(args: Args, key: string, min: number, max: number): number {
  const v = args.required(key);
  if (!/^\d{1,10}$/.test(v)) throw fail(`bad argument '${key}': an integer in ${min}-${max}`);
  const n = Number(v);
  if (n < min || n > max) throw fail(`bad argument '${key}': an integer in ${min}-${max}`);
  return n;
}

/** An optional decimal integer in [min, max]. */
export function optionalIntArg(args: Args, key: string, min: number, max: number): number | undefined {
  return args.has(key) ? intArg(args, key, min, max) : undefined;
}

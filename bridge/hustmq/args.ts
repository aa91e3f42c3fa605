// Query arguments of the hustmq API: parsing and validation. Every bad argument becomes an
// HttpFail naming it; the error boundary answers it as plain text (404 unless said otherwise, where
// hustmq ha drops the connection or answers ERR).
import type { QueuePriority } from '../../lib/index.ts';
import { fail as httpFail, type HttpFail } from '../http/fail.ts';
import { Query } from '../http/query.ts';

export function fail(message: string, status = 404): HttpFail {
  return httpFail(message, status);
}

/** The query string: the first value of each key, percent-decoded (see bridge/http/query.ts). */
export class Args {
  private readonly q: Query;

  constructor(querystring: string) {
    this.q = new Query(querystring);
  }

  /** The value as text; a value that is not valid percent-encoded UTF-8 is refused. */
  get(key: string): string | undefined {
    if (!this.q.has(key)) return undefined;
    const v = this.q.text(key);
    if (v === undefined) throw fail(`bad argument '${key}': not valid percent-encoded UTF-8`);
    return v;
  }

  /** The value as the exact bytes it encodes (an item is bytes, as nginx unescapes it). */
  bytes(key: string): Buffer | undefined {
    return this.q.bytes(key);
  }

  has(key: string): boolean {
    return this.q.has(key);
  }

  required(key: string): string {
    const v = this.get(key);
    if (v === undefined) throw fail(`missing argument '${key}'`);
    return v;
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

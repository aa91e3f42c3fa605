// Query arguments of the hustdb API, validated: every bad or missing argument is a 400 whose body
// names it (the original drops the connection there), except where the spec says 404.
import type { Context } from 'koa';
import { fail } from '../http/fail.ts';
import { Query } from '../http/query.ts';
import { BUCKETS } from './names.ts';

const TABLE = /^[0-9A-Za-z_:.]{1,64}$/;
const UINT = /^\d{1,15}$/;
const INT = /^-?\d{1,15}$/;
/** Longest key or member name, bytes (a topic level is built from it). */
export const MAX_KEY_BYTES = 1024;
const MAX_U32 = 0xffffffff;

export class HustdbArgs {
  readonly q: Query;

  constructor(ctx: Context) {
    this.q = new Query(ctx.querystring);
  }

  private text(name: string): string | undefined {
    if (!this.q.has(name)) return undefined;
    const v = this.q.text(name);
    if (v === undefined) throw fail(`bad argument '${name}': not valid percent-encoded UTF-8`);
    return v;
  }

  /** `key`: 1 to 1024 bytes. */
  key(name = 'key'): string {
    const k = this.text(name);
    if (k === undefined || k === '') throw fail(`missing argument '${name}'`);
    if (Buffer.byteLength(k) > MAX_KEY_BYTES) throw fail(`bad argument '${name}': longer than ${MAX_KEY_BYTES} bytes`);
    return k;
  }

  /** `tb`: 1-64 characters of [0-9A-Za-z_:.]. */
  tb(): string {
    const t = this.text('tb');
    if (t === undefined || t === '') throw fail("missing argument 'tb'");
    if (!TABLE.test(t)) throw fail("bad argument 'tb': 1-64 characters of [0-9A-Za-z_:.]");
    return t;
  }

  private uint(name: string, max: number): number | undefined {
    const v = this.text(name);
    if (v === undefined) return undefined;
    if (!UINT.test(v) || Number(v) > max) throw fail(`bad argument '${name}': an integer in 0-${max}`);
    return Number(v);
  }

  private requiredUint(name: string, max: number): number {
    const n = this.uint(name, max);
    if (n === undefined) throw fail(`missing argument '${name}'`);
    return n;
  }

  /** `ttl` seconds as ms; undefined when absent or 0 (no expiry). */
  ttlMs(): number | undefined {
    const s = this.uint('ttl', MAX_U32);
    return s ? s * 1000 : undefined;
  }

  /** `ver`: undefined when absent or 0 (unconditional). */
  ver(): number | undefined {
    const v = this.uint('ver', MAX_U32);
    return v ? v : undefined;
  }

  /** `peer`: required; this deployment is the one peer 0 (any other index → 404). */
  peer(): void {
    const p = this.requiredUint('peer', MAX_U32);
    if (p !== 0) throw fail(`no peer ${p}: this deployment is one peer, 0`, 404);
  }

  /** `file`: required listing shard, 0 .. fileCount-1. */
  file(fileCount: number): number {
    return this.requiredUint('file', fileCount - 1);
  }

  offset(): number {
    return this.requiredUint('offset', 100_000_000);
  }

  size(): number {
    return this.requiredUint('size', 1000);
  }

  /** `start`/`end` bucket range, default the whole [0, 1024). */
  buckets(): { start: number; end: number } {
    const start = this.uint('start', BUCKETS) ?? 0;
    const end = this.uint('end', BUCKETS) ?? BUCKETS;
    if (start >= end) throw fail("bad arguments 'start'/'end': need 0 <= start < end <= 1024");
    return { start, end };
  }

  /** `noval`: default true. */
  noval(): boolean {
    const v = this.text('noval');
    if (v === undefined || v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw fail("bad argument 'noval': true or false");
  }

  /** A signed integer argument (`score`, `min`, `max`, `val` of hincrby). */
  int(name: string, required: boolean): number | undefined {
    const v = this.text(name);
    if (v === undefined) {
      if (required) throw fail(`missing argument '${name}'`);
      return undefined;
    }
    if (!INT.test(v)) throw fail(`bad argument '${name}': an integer`);
    return Number(v);
  }

  /** zadd `opt`: 0 set (default), 1 add, -1 subtract. */
  opt(): 'set' | 'add' | 'sub' {
    const v = this.text('opt');
    if (v === undefined || v === '0') return 'set';
    if (v === '1') return 'add';
    if (v === '-1') return 'sub';
    throw fail("bad argument 'opt': 0, 1 or -1");
  }
}

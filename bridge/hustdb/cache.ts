// The cache/* namespace: memory only, never persisted, bounded by bytes with least-recently-used
// eviction. A Map keeps insertion order, so re-inserting on use makes its first key the LRU one.

interface Entry {
  value: Buffer;
  expiresAt?: number;
  bytes: number;
}

/** Rough bookkeeping cost of an entry besides its key and value. */
const OVERHEAD = 64;

export class LruCache {
  private readonly entries = new Map<string, Entry>();
  private used = 0;
  evictions = 0;

  constructor(private readonly maxBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The live entry, marked as most recently used. */
  get(key: string, now = Date.now()): { value: Buffer; expiresAt?: number } | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt !== undefined && e.expiresAt <= now) {
      this.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    return e;
  }

  /** False when the entry alone exceeds the whole budget (nothing changes then). */
  set(key: string, value: Buffer, expiresAt?: number): boolean {
    const bytes = Buffer.byteLength(key) + value.length + OVERHEAD;
    if (bytes > this.maxBytes) return false;
    this.delete(key);
    this.entries.set(key, expiresAt === undefined ? { value, bytes } : { value, bytes, expiresAt });
    this.used += bytes;
    for (const [k, e] of this.entries) {
      if (this.used <= this.maxBytes) break;
      this.entries.delete(k);
      this.used -= e.bytes;
      this.evictions++;
    }
    return true;
  }

  /** Changes the expiry of a live entry; false when absent. */
  expire(key: string, expiresAt: number | undefined): boolean {
    const e = this.get(key);
    if (!e) return false;
    if (expiresAt === undefined) delete e.expiresAt;
    else e.expiresAt = expiresAt;
    return true;
  }

  delete(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    this.entries.delete(key);
    this.used -= e.bytes;
    return true;
  }
}

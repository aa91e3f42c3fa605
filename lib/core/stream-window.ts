// The sliding window of an indexed stream: events carry contiguous indexes si+1..ci (wrapping at
// `wrap`), each with its own expiry. A publish appends at ci+1, or jumps ahead to a given index,
// which restarts the window there (si = idx-1). Expired events leave at the head, moving si on.
// Pure bookkeeping: where the events are stored (history ids) is the caller's business.

export interface WindowEntry {
  idx: number;
  /** ms since epoch */
  expiresAt: number;
  /** History id, once the event is committed; 0 before. */
  id: number;
  /** Settles with the history id when the event is committed (rejects if it was not). */
  committed?: Promise<number>;
  failed?: boolean;
}

export class StreamWindow {
  si = 0;
  ci = 0;
  /** Time of the last publish, ms since epoch. */
  tm = 0;
  private entries: WindowEntry[] = [];
  private head = 0;
  /** Nothing was ever published (or restored) here. */
  private fresh = true;

  constructor(readonly wrap: number) {}

  /** Distance from a to b going forward, in [0, wrap). */
  private dist(a: number, b: number): number {
    return (((b - a) % this.wrap) + this.wrap) % this.wrap;
  }

  next(idx: number): number {
    return (idx + 1) % this.wrap;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  /** True when idx lies in (si, ci]. */
  contains(idx: number): boolean {
    if (!Number.isInteger(idx) || idx < 0 || idx >= this.wrap) return false;
    const d = this.dist(this.si, idx);
    return d > 0 && d <= this.size;
  }

  /** True when idx is ahead of ci (within half the index space), so a publish may jump there. */
  isAhead(idx: number): boolean {
    if (!Number.isInteger(idx) || idx < 0 || idx >= this.wrap) return false;
    const d = this.dist(this.ci, idx);
    return d > 0 && d < this.wrap / 2;
  }

  entry(idx: number): WindowEntry | undefined {
    if (!this.contains(idx)) return undefined;
    return this.entries[this.head + this.dist(this.si, idx) - 1];
  }

  /** Appends at ci+1, or at `jumpTo` (restarting the window there) when it is ahead of ci. */
  append(expiresAt: number, now: number, jumpTo?: number): WindowEntry {
    let idx: number;
    if (jumpTo !== undefined && this.isAhead(jumpTo)) {
      idx = jumpTo;
      this.entries = [];
      this.head = 0;
      this.si = (idx - 1 + this.wrap) % this.wrap;
    } else {
      idx = this.next(this.ci);
    }
    const e: WindowEntry = { idx, expiresAt, id: 0 };
    this.fresh = false;
    this.entries.push(e);
    this.ci = idx;
    this.tm = now;
    return e;
  }

  /** Rebuild from stored events, oldest first: continues the run when idx is ci+1, else restarts at idx. */
  restore(idx: number, expiresAt: number, id: number, timestamp: number): void {
    if (this.fresh || idx !== this.next(this.ci)) {
      this.entries = [];
      this.head = 0;
      this.si = (idx - 1 + this.wrap) % this.wrap;
    }
    this.fresh = false;
    this.entries.push({ idx, expiresAt, id });
    this.ci = idx;
    this.tm = timestamp;
  }

  /** Drops expired (or failed) events at the head; returns how many left. */
  pruneExpired(now: number): number {
    let n = 0;
    while (this.head < this.entries.length) {
      const e = this.entries[this.head] as WindowEntry;
      if (e.expiresAt > now && !e.failed) break;
      this.dropHead();
      n++;
    }
    return n;
  }

  /** Keeps at most `max` events (the newest). */
  trim(max: number): void {
    while (this.size > max) this.dropHead();
  }

  private dropHead(): void {
    const e = this.entries[this.head] as WindowEntry;
    this.entries[this.head++] = undefined as unknown as WindowEntry;
    this.si = e.idx;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

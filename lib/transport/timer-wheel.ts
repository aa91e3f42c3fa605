// Deadlines of many connections on one timer: a wheel of slots of slotMs on the monotonic clock.
// A connection waits in the slot of its next deadline (a Set entry, not a Timeout of its own: a
// timer per connection cost ~200 B of every idle one) and records when it last heard its peer as
// the wheel's `now`, a small integer read on the hot path instead of a clock call.
//
// The verdicts run after the event loop's I/O phase (setImmediate from the timer): after a long
// synchronous stall the timer fires before the sockets are read, and bytes that arrived meanwhile
// must count. And the first sweep after a stall gives no verdict at all (it runs one slot later):
// peers in this process, or answering something we had not flushed, had no turn to speak while we
// were stalled. Never two sweeps in a row, so a loop that is always late still gets its verdicts.

export interface WheelEntry {
  /** The slot this entry waits in; -1 when in none (managed by the wheel, start it at -1). */
  wheelSlot: number;
  /** Its slot came due (`now` is the wheel's): the slot to wait in next, or -1 to leave the wheel. */
  due(now: number): number;
}

/**
 * Default slot length: a deadline is judged two to three slots after it (MQTT's shortest keep-alive
 * limit is 1.5 s); ten ticks a second while anything waits, each touching only the slots due.
 */
export const SLOT_MS = 100;

export class TimerWheel<T extends WheelEntry> {
  /** The current slot: monotonic time in slots, advanced by the timer while anything waits. */
  now: number;
  private readonly slots = new Map<number, Set<T>>();
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Every slot up to this one was swept. */
  private swept: number;
  private lastTickAt: number;
  private sweepScheduled = false;
  private stalled = false;
  private skippedLast = false;

  constructor(readonly slotMs: number = SLOT_MS) {
    this.lastTickAt = performance.now();
    this.now = this.swept = Math.floor(this.lastTickAt / slotMs);
  }

  /**
   * The first slot by which `ms` have surely passed since an event stamped `from` (a `now` read while
   * the timer ran): the stamp is the slot of the tick before the event, which may have come up to a
   * slot later, and the tick itself may be up to a slot into its slot.
   */
  deadline(from: number, ms: number): number {
    return from + Math.ceil(ms / this.slotMs) + 2;
  }

  /** Waits `entry` until `ms` have surely passed since an event stamped `from` (default: from now). */
  addAfter(entry: T, ms: number, from?: number): void {
    if (!this.timer) this.start(); // `now` is fresh only while the timer runs
    this.add(entry, this.deadline(from ?? this.now, ms));
  }

  /** Waits `entry` in `slot` (at least the next one to be swept), instead of any slot it waited in. */
  add(entry: T, slot: number): void {
    this.remove(entry);
    if (!this.timer) this.start();
    if (slot <= this.swept) slot = this.swept + 1;
    let set = this.slots.get(slot);
    if (!set) this.slots.set(slot, (set = new Set()));
    set.add(entry);
    entry.wheelSlot = slot;
    this.size++;
  }

  remove(entry: T): void {
    const slot = entry.wheelSlot;
    if (slot < 0) return;
    entry.wheelSlot = -1;
    const set = this.slots.get(slot);
    if (!set?.delete(entry)) return;
    if (set.size === 0) this.slots.delete(slot);
    if (--this.size === 0) this.stop();
  }

  /** Entries waiting. */
  get waiting(): number {
    return this.size;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private start(): void {
    // After an idle spell: the clock is read afresh, and the pause is no stall.
    this.lastTickAt = performance.now();
    this.now = Math.floor(this.lastTickAt / this.slotMs);
    if (this.swept < this.now - 1) this.swept = this.now - 1; // nothing waited in the slots between
    this.stalled = false;
    this.timer = setInterval(() => this.tick(), this.slotMs);
    this.timer.unref();
  }

  private tick(): void {
    const at = performance.now();
    if (at - this.lastTickAt > 2 * this.slotMs) this.stalled = true;
    this.lastTickAt = at;
    this.now = Math.floor(at / this.slotMs);
    if (this.sweepScheduled) return;
    this.sweepScheduled = true;
    setImmediate(() => this.sweep());
  }

  private sweep(): void {
    this.sweepScheduled = false;
    if (this.stalled && !this.skippedLast) {
      this.stalled = false;
      this.skippedLast = true;
      return;
    }
    this.stalled = false;
    this.skippedLast = false;
    const now = this.now;
    for (let slot = this.swept + 1; slot <= now && this.size > 0; slot++) {
      const set = this.slots.get(slot);
      if (!set) continue;
      for (const entry of set) {
        // Taken out one by one: due() may close other entries, which then leave this set too.
        set.delete(entry);
        this.size--;
        entry.wheelSlot = -1;
        const next = entry.due(now);
        if (next >= 0 && entry.wheelSlot < 0) this.add(entry, next > now ? next : now + 1);
      }
      this.slots.delete(slot);
    }
    this.swept = now;
    if (this.size === 0) this.stop();
  }
}

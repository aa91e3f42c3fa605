// The timer wheel behind the MQTT connect deadline and keep alive (lib/transport/timer-wheel.ts):
// deadlines are never early, an entry can move or leave, the timer stops with the last entry, and
// the first sweep after a stall of the event loop gives no verdict.
import test from 'ava';
import { TimerWheel, type WheelEntry } from '../../lib/transport/timer-wheel.ts';

const SLOT_MS = 20;

class Entry implements WheelEntry {
  wheelSlot = -1;
  calls: number[] = [];
  constructor(private readonly next: (now: number) => number = () => -1) {}
  due(now: number): number {
    this.calls.push(performance.now());
    return this.next(now);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(5);
  }
}

test('an entry is due no earlier than its time, once; the wheel is empty afterwards', async (t) => {
  const wheel = new TimerWheel<Entry>(SLOT_MS);
  const entries = [50, 120, 200].map((ms) => ({ ms, e: new Entry(), at: performance.now() }));
  for (const { ms, e } of entries) wheel.addAfter(e, ms);
  t.is(wheel.waiting, 3);
  await until(() => entries.every(({ e }) => e.calls.length > 0), 5000);
  for (const { ms, e, at } of entries) {
    t.is(e.calls.length, 1);
    t.true((e.calls[0] as number) - at >= ms, `due after ${((e.calls[0] as number) - at).toFixed(0)} ms, asked ${ms}`);
  }
  t.is(wheel.waiting, 0);
});

test('due() can ask for a later slot; remove() takes an entry out before its time', async (t) => {
  const wheel = new TimerWheel<Entry>(SLOT_MS);
  let rounds = 0;
  const again = new Entry((now) => (++rounds < 3 ? now + 2 : -1));
  const removed = new Entry();
  wheel.addAfter(again, 10);
  wheel.addAfter(removed, 40);
  wheel.remove(removed);
  t.is(removed.wheelSlot, -1);
  await until(() => again.calls.length === 3, 5000);
  await sleep(5 * SLOT_MS);
  t.is(again.calls.length, 3, 'not due again once it asked to leave');
  t.is(removed.calls.length, 0);
  t.is(wheel.waiting, 0);
});

test('the first sweep after a stall gives no verdict: what was due waits one more slot', async (t) => {
  const wheel = new TimerWheel<Entry>(SLOT_MS);
  const e = new Entry();
  wheel.addAfter(e, 30);
  const end = performance.now() + 10 * SLOT_MS;
  while (performance.now() < end); // the event loop stalls past the deadline
  const stallEnd = performance.now();
  await until(() => e.calls.length === 1, 5000);
  t.true((e.calls[0] as number) - stallEnd >= SLOT_MS * 0.9, 'judged a slot after the stall, not in the sweep right after it');
});

// Keeps a realm's deliveries in the order the publications were made, although some wait for a
// store commit (retained, conditional, history) and others need none. With nothing waiting (idle), a
// delivery runs at once; otherwise it queues behind the ones waiting.
export class DeliveryOrder {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  /** Runs `deliver` once `commit` has settled and every earlier delivery has run; rejects if the commit does. */
  after<T>(commit: Promise<T>, deliver: (value: T) => void | Promise<void>): Promise<void> {
    this.waiting++;
    const result = this.tail.then(() => commit).then(deliver);
    this.tail = result.then(
      () => void this.waiting--,
      () => void this.waiting--,
    );
    return result;
  }

  /** True when nothing is waiting: a delivery may run at once. */
  get idle(): boolean {
    return this.waiting === 0;
  }
}

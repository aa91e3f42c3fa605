// Waiting in tests: for a condition no event announces, for a while, or blocking the event loop on purpose.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves when `cond` holds, polling every 10 ms; throws after `ms` naming `what`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Blocks this process's event loop (router and clients alike) for `ms`: a stall, as a long GC or a busy handler makes. */
export function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

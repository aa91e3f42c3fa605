// The ceilings coalesce writes per tick, as kitsune's transports do, so the comparison is fair.
import type { Writable } from 'node:stream';

/** Corks a socket at its first write of a tick and uncorks it at the end of the tick. */
export function coalescer(socket: Writable): () => void {
  let corked = false;
  const flush = (): void => {
    corked = false;
    socket.uncork();
  };
  return () => {
    if (corked) return;
    corked = true;
    socket.cork();
    process.nextTick(flush);
  };
}

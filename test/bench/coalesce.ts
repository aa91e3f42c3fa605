// The ceilings coalesce writes as kitsune's transports do, so the comparison is fair: per tick
// (WAMP), or per tick and every `maxWrites` writes (MQTT, see MAX_WRITES_PER_FLUSH).
import type { Writable } from 'node:stream';

/** Corks a socket at its first write of a tick and uncorks it at the end of the tick, or after `maxWrites` writes. */
export function coalescer(socket: Writable, maxWrites = Infinity): () => void {
  let corked = false;
  let held = 0;
  const flush = (): void => {
    if (!corked) return;
    corked = false;
    socket.uncork();
  };
  return () => {
    if (corked) {
      if (++held < maxWrites) return;
      flush();
    }
    corked = true;
    held = 1;
    socket.cork();
    process.nextTick(flush);
  };
}

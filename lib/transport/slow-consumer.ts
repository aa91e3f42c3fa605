// The slow-consumer policy both gates apply to what they send a peer that reads slower than the
// router writes: past the soft limit of buffered bytes, droppable messages (WAMP events, MQTT QoS 0)
// are dropped; past the hard limit the peer is disconnected. Both are counted in the router's
// stats, which /metrics reports, whichever gate the peer came through.

export interface SendBufferLimits {
  sendBufferSoftBytes: number;
  sendBufferHardBytes: number;
}

export interface SlowConsumerCounters {
  droppedEvents: number;
  slowConsumersDisconnected: number;
}

export const SEND = 0;
export const DROP = 1;
export const DISCONNECT = 2;
export type SendVerdict = typeof SEND | typeof DROP | typeof DISCONNECT;

/** What to do with a droppable message for a peer with `buffered` bytes queued; drops and disconnects are counted. */
export function droppableVerdict(buffered: number, limits: SendBufferLimits, counters: SlowConsumerCounters): SendVerdict {
  if (buffered <= limits.sendBufferSoftBytes) return SEND;
  if (buffered > limits.sendBufferHardBytes) {
    counters.slowConsumersDisconnected++;
    return DISCONNECT;
  }
  counters.droppedEvents++;
  return DROP;
}

/** Whether a peer with `buffered` bytes queued is past the hard limit (then counted: disconnect it). */
export function pastHardLimit(buffered: number, limits: SendBufferLimits, counters: SlowConsumerCounters): boolean {
  if (buffered <= limits.sendBufferHardBytes) return false;
  counters.slowConsumersDisconnected++;
  return true;
}

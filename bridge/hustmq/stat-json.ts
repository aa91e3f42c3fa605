// The JSON of /stat and /stat_all, field for field in hustmq ha's order.
import type { QueueStat, StreamStat } from '../../lib/index.ts';

export function queueStatJson(s: QueueStat, minuteMs: number): string {
  return (
    `{"queue":${JSON.stringify(s.queue)},"type":0,"ready":[${s.ready[0]},${s.ready[1]},${s.ready[2]}],"max":${s.max},` +
    `"lock":${s.locked ? 1 : 0},"si":${s.si},"ci":${s.ci},"tm":${Math.floor(s.createdAt / 1000)},"unacked":${s.unacked},` +
    `"timeout":${Math.round(s.timeoutMs / minuteMs)}}`
  );
}

/** A push queue: ready = [ci-si, 0, 0]; lock, max and unacked do not apply; timeout is the node default. */
export function streamStatJson(s: StreamStat, defaultTimeoutMinutes: number): string {
  return (
    `{"queue":${JSON.stringify(s.name)},"type":1,"ready":[${s.size},0,0],"max":0,"lock":0,"si":${s.si},"ci":${s.ci},` +
    `"tm":${Math.floor(s.tm / 1000)},"unacked":0,"timeout":${defaultTimeoutMinutes}}`
  );
}

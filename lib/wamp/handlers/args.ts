// The payload of a message whose Arguments start at element `i`: the decoded values for core and
// other gates, plus the arguments' bytes as received, so a peer of the same serializer gets them
// copied rather than re-encoded.
import { Payload } from '../../core/payload.ts';
import type { Conn } from '../conn.ts';
import * as v from '../validate.ts';

export function argsPayload(c: Conn, msg: unknown[], i: number): Payload {
  const payload = Payload.fromArgs(v.args(msg, i), v.kwargs(msg, i + 1));
  const frame = c.frame;
  const s = c.transport.serializer;
  if (s.passthrough !== undefined && frame !== undefined && msg.length > i && !payload.isEmpty) {
    // An empty ArgumentsKw is dropped, as re-encoding would drop it.
    const count = payload.kwargs === undefined ? 1 : 2;
    const bytes = s.passthrough.tail(frame, i, count);
    if (bytes !== undefined) payload.setEncoded({ format: s.subprotocol, bytes });
  }
  return payload;
}

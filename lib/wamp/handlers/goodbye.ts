// GOODBYE from the client: answer with goodbye_and_out and close.
import type { Conn } from '../conn.ts';
import * as v from '../validate.ts';

export function handleGoodbye(c: Conn, msg: unknown[]): void {
  v.length(msg, 3, 3, 'GOODBYE');
  v.dict(msg, 1, 'GOODBYE.Details');
  v.uri(msg, 2, 'GOODBYE.Reason');
  c.goodbye();
}

// PINGREQ: answer PINGRESP (any packet already counted as keep-alive activity).
import type { Connection } from './connection.ts';

export function handlePingreq(conn: Connection): void {
  conn.send({ cmd: 'pingresp' });
}

// YIELD and ERROR(INVOCATION) from a callee.
import type { Conn } from '../conn.ts';
import { argsPayload } from './args.ts';
import { MessageType } from '../message-types.ts';
import { ProtocolViolation } from '../validate.ts';
import * as v from '../validate.ts';

export function handleYield(c: Conn, msg: unknown[]): void {
  v.length(msg, 3, 5, 'YIELD');
  const invocation = v.requestId(msg, 1, 'YIELD.INVOCATION.Request');
  const options = v.dict(msg, 2, 'YIELD.Options');
  const payload = argsPayload(msg, 3);
  c.session!.yield(invocation, payload, options.progress === true);
}

export function handleError(c: Conn, msg: unknown[]): void {
  v.length(msg, 5, 7, 'ERROR');
  const type = msg[1];
  if (type !== MessageType.INVOCATION) throw new ProtocolViolation(`a client may only send ERROR for INVOCATION, not for type ${String(type)}`);
  const invocation = v.requestId(msg, 2, 'ERROR.Request');
  const details = v.dict(msg, 3, 'ERROR.Details');
  const error = v.uri(msg, 4, 'ERROR.Error');
  const payload = argsPayload(msg, 5);
  c.session!.invocationError(invocation, error, payload, details);
}

// CALL / CANCEL from a caller.
import { callOptions, cancelMode } from '../../core/options.ts';
import type { Conn } from '../conn.ts';
import { argsPayload } from './args.ts';
import { MessageType } from '../message-types.ts';
import * as v from '../validate.ts';

export function handleCall(c: Conn, msg: unknown[]): void {
  v.length(msg, 4, 6, 'CALL');
  const request = v.requestId(msg, 1);
  const options = v.dict(msg, 2, 'CALL.Options');
  const procedure = v.uri(msg, 3, 'CALL.Procedure');
  const payload = argsPayload(msg, 4);
  try {
    c.session!.call(request, procedure, payload, callOptions(options));
  } catch (err) {
    c.sendError(MessageType.CALL, request, err);
  }
}

export function handleCancel(c: Conn, msg: unknown[]): void {
  v.length(msg, 3, 3, 'CANCEL');
  const request = v.requestId(msg, 1);
  const options = v.dict(msg, 2, 'CANCEL.Options');
  try {
    c.session!.cancel(request, cancelMode(options));
  } catch (err) {
    c.sendError(MessageType.CANCEL, request, err);
  }
}

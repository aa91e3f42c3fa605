// REGISTER / UNREGISTER.
import { registerOptions } from '../../core/options.ts';
import type { Conn } from '../conn.ts';
import { MessageType } from '../message-types.ts';
import { uriPattern } from './uri.ts';
import * as v from '../validate.ts';

export function handleRegister(c: Conn, msg: unknown[]): void {
  v.length(msg, 4, 4, 'REGISTER');
  const request = v.requestId(msg, 1);
  const options = v.dict(msg, 2, 'REGISTER.Options');
  const procedure = v.uri(msg, 3, 'REGISTER.Procedure');
  try {
    const opts = registerOptions(options);
    const session = c.session!;
    const reg = session.register(uriPattern(session, procedure, opts.match), opts);
    c.send([MessageType.REGISTERED, request, reg.id]);
  } catch (err) {
    c.sendError(MessageType.REGISTER, request, err);
  }
}

export function handleUnregister(c: Conn, msg: unknown[]): void {
  v.length(msg, 3, 3, 'UNREGISTER');
  const request = v.requestId(msg, 1);
  const registration = v.id(msg, 2, 'UNREGISTER.Registration');
  try {
    c.session!.unregister(registration);
    c.send([MessageType.UNREGISTERED, request]);
  } catch (err) {
    c.sendError(MessageType.UNREGISTER, request, err);
  }
}

// AUTHENTICATE: the answer to our CHALLENGE.
import { ErrorUri } from '../../core/errors.ts';
import type { Conn } from '../conn.ts';
import * as v from '../validate.ts';

export function handleAuthenticate(c: Conn, msg: unknown[]): void {
  v.length(msg, 3, 3, 'AUTHENTICATE');
  const signature = v.uri(msg, 1, 'AUTHENTICATE.Signature');
  v.dict(msg, 2, 'AUTHENTICATE.Extra');
  const pending = c.pendingAuth;
  c.pendingAuth = undefined;
  const result = pending?.verify(signature);
  if (!pending || !result) {
    c.ctx.logger.info({ event: 'auth.refused', protocol: 'wamp', realm: pending?.realm, address: c.transport.remoteAddress, reason: ErrorUri.authenticationFailed }, 'authentication refused');
    c.abort(ErrorUri.authenticationFailed, 'authentication failed');
    return;
  }
  c.welcome(pending.realm, result, pending.sessionId);
}

// AUTHENTICATE: the answer to our CHALLENGE. Checking it may take a while (a hashed ticket runs on
// the thread pool): meanwhile the connection waits in 'authenticating', where any message is a
// protocol violation, and a connection closed in between gets nothing.
import { SecretCheckBusy } from '../../core/auth/secret.ts';
import type { AuthResult } from '../../core/auth/types.ts';
import { ErrorUri } from '../../core/errors.ts';
import type { Conn, PendingAuth } from '../conn.ts';
import * as v from '../validate.ts';

export function handleAuthenticate(c: Conn, msg: unknown[]): void {
  v.length(msg, 3, 3, 'AUTHENTICATE');
  const signature = v.uri(msg, 1, 'AUTHENTICATE.Signature');
  v.dict(msg, 2, 'AUTHENTICATE.Extra');
  const pending = c.pendingAuth;
  c.pendingAuth = undefined;
  if (!pending) return refused(c, undefined, ErrorUri.authenticationFailed, 'authentication failed');
  c.state = 'authenticating';
  pending.verify(signature).then(
    (result) => settle(c, pending, result),
    (err: unknown) => {
      if (c.state !== 'authenticating') return;
      if (err instanceof SecretCheckBusy) {
        c.ctx.router.stats.limitRefusals++;
        return refused(c, pending, ErrorUri.authenticationFailed, err.message);
      }
      c.ctx.logger.error({ err, realm: pending.realm }, 'checking a WAMP authentication failed');
      refused(c, pending, ErrorUri.authenticationFailed, 'authentication could not be checked');
    },
  );
}

function settle(c: Conn, pending: PendingAuth, result: AuthResult | undefined): void {
  if (c.state !== 'authenticating') return; // closed or timed out meanwhile
  if (!result) return refused(c, pending, ErrorUri.authenticationFailed, 'authentication failed');
  c.welcome(pending.realm, result, pending.sessionId, pending.helloDetails);
}

function refused(c: Conn, pending: PendingAuth | undefined, reason: string, message: string): void {
  c.ctx.router.stats.authRefusals++;
  c.ctx.logger.info({ event: 'auth.refused', protocol: 'wamp', realm: pending?.realm, address: c.transport.remoteAddress, reason, message }, 'authentication refused');
  c.abort(reason, message);
}

// HELLO: pick the realm, authenticate (at once or by CHALLENGE), then WELCOME or ABORT.
import { RouterError } from '../../core/errors.ts';
import { randomId } from '../../core/ids.ts';
import { startAuthentication } from '../auth.ts';
import type { Conn } from '../conn.ts';
import { MessageType } from '../message-types.ts';
import * as v from '../validate.ts';

export function handleHello(c: Conn, msg: unknown[]): void {
  v.length(msg, 3, 3, 'HELLO');
  const realmName = v.uri(msg, 1, 'HELLO.Realm');
  const details = v.dict(msg, 2, 'HELLO.Details');
  let realm;
  try {
    realm = c.ctx.router.realm(realmName);
  } catch (err) {
    if (!(err instanceof RouterError)) throw err; // a bug: the connection's error boundary answers it
    c.ctx.logger.info({ event: 'auth.refused', protocol: 'wamp', realm: realmName, address: c.transport.remoteAddress, reason: err.uri }, 'session refused: no such realm');
    c.abort(err.uri, err.message);
    return;
  }
  const sessionId = randomId();
  const step = startAuthentication(realm.config.auth, details, sessionId, c.transport.tlsIdentity);
  if (step.kind === 'refuse') {
    c.ctx.logger.info({ event: 'auth.refused', protocol: 'wamp', realm: realmName, authid: details.authid, address: c.transport.remoteAddress, reason: step.reason }, 'authentication refused');
    c.abort(step.reason, step.message);
  } else if (step.kind === 'welcome') {
    c.welcome(realmName, step.result, undefined, details);
  } else {
    c.pendingAuth = { realm: realmName, sessionId, verify: step.verify };
    c.state = 'challenge';
    c.send([MessageType.CHALLENGE, step.method, step.extra]);
  }
}

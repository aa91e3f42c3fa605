// HELLO: pick the realm, start the login (at once or by CHALLENGE), then WELCOME or ABORT.
import { startLogin } from '../../core/auth/index.ts';
import { RouterError } from '../../core/errors.ts';
import { randomId } from '../../core/ids.ts';
import type { Dict } from '../../core/types.ts';
import type { Conn } from '../conn.ts';
import { MessageType } from '../message-types.ts';
import * as v from '../validate.ts';

/** HELLO.Details.authmethods as strings (anonymous when absent or empty). */
function requestedMethods(details: Dict): string[] {
  const listed = Array.isArray(details.authmethods) ? details.authmethods.filter((m): m is string => typeof m === 'string') : [];
  return listed.length > 0 ? listed : ['anonymous'];
}

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
  const authextra = details.authextra !== null && typeof details.authextra === 'object' && !Array.isArray(details.authextra) ? (details.authextra as Dict) : {};
  const authid = typeof details.authid === 'string' ? details.authid : undefined;
  const step = startLogin({ realm: realmName, auth: realm.config.auth, authid, authextra, sessionId, tlsIdentity: c.transport.tlsIdentity }, requestedMethods(details));
  if (step.kind === 'refuse') {
    c.ctx.router.stats.authRefusals++;
    c.ctx.logger.info({ event: 'auth.refused', protocol: 'wamp', realm: realmName, authid, address: c.transport.remoteAddress, reason: step.reason, message: step.message }, 'authentication refused');
    c.abort(step.reason, step.message);
  } else if (step.kind === 'welcome') {
    c.welcome(realmName, step.result, undefined, details);
  } else {
    c.pendingAuth = { realm: realmName, sessionId, verify: step.verify, helloDetails: details };
    c.state = 'challenge';
    c.send([MessageType.CHALLENGE, step.method, step.extra]);
  }
}

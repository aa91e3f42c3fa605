// CONNECT authentication: `user@realm` picks the realm; the user name must be a principal of the
// realm (its password checked through the realm's authentication methods), or absent for anonymous
// access; an unknown user name is refused unless the realm maps unknown users to anonymous. An
// anonymous client's authid is derived from its client id (stable across reconnects, never a
// principal's name). With use-identity-as-username, a client that showed a verified TLS client
// certificate is the realm's `tls` principal it names instead: its user name only picks the realm.
import { identityLogin, type PasswordOutcome, passwordLogin } from '../core/auth/index.ts';
import { anonymousMqttAuthid } from '../core/auth/principals.ts';
import type { Realm } from '../core/realm.ts';
import type { Router } from '../core/router.ts';
import { RC, V3 } from './codes.ts';

export interface Authenticated {
  realm: Realm;
  authid: string;
  authrole: string;
  authmethod: string;
}

export interface Refused {
  /** v5 CONNACK reason code and v3.1/3.1.1 return code. */
  v5: number;
  v3: number;
  message: string;
  /** Refused for load (too many password checks under way), not for the credentials. */
  busy?: boolean;
}

export function splitUsername(username: string | undefined, defaultRealm: string): { user: string | undefined; realm: string } {
  if (username === undefined) return { user: undefined, realm: defaultRealm };
  const at = username.lastIndexOf('@');
  if (at < 0) return { user: username || undefined, realm: defaultRealm };
  return { user: username.slice(0, at) || undefined, realm: username.slice(at + 1) || defaultRealm };
}

/**
 * `tlsIdentity`: the certificate identity to log in with (only when use-identity-as-username is on).
 * Settles at once unless a password needs checking.
 */
export function authenticate(
  router: Router,
  defaultRealm: string,
  clientId: string,
  username: string | undefined,
  password: Buffer | undefined,
  tlsIdentity: string | undefined,
): Authenticated | Refused | Promise<Authenticated | Refused> {
  const { user, realm: realmName } = splitUsername(username, defaultRealm);
  let realm: Realm;
  try {
    realm = router.realm(realmName);
  } catch {
    return { v5: RC.badUserNameOrPassword, v3: V3.notAuthorized, message: `no realm '${realmName}'` };
  }
  const req = { realm: realmName, auth: realm.config.auth, authid: user, authextra: {}, sessionId: 0, tlsIdentity };
  if (tlsIdentity !== undefined) return answer(realm, identityLogin(req));
  const outcome = passwordLogin(req, password, anonymousMqttAuthid(clientId));
  return outcome instanceof Promise ? outcome.then((o) => answer(realm, o)) : answer(realm, outcome);
}

function answer(realm: Realm, o: PasswordOutcome): Authenticated | Refused {
  if (o.kind === 'ok') return { realm, authid: o.result.authid, authrole: o.result.authrole, authmethod: o.result.authmethod };
  switch (o.why) {
    case 'bad-password':
      return { v5: RC.badUserNameOrPassword, v3: V3.badUserNameOrPassword, message: o.message };
    case 'unknown-user':
      return { v5: RC.badUserNameOrPassword, v3: V3.notAuthorized, message: o.message };
    case 'busy':
      return { v5: RC.serverBusy, v3: V3.serverUnavailable, message: o.message, busy: true };
    case 'anonymous-refused':
    case 'no-password-method':
    case 'unknown-identity':
      return { v5: RC.notAuthorized, v3: V3.notAuthorized, message: o.message };
  }
}

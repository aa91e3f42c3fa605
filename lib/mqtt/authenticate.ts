// CONNECT authentication: `user@realm` picks the realm; ticket principals of the realm check the
// password; anonymous access applies to clients without a (known) username when the realm allows it.
import type { Realm } from '../core/realm.ts';
import type { Router } from '../core/router.ts';
import { RC, V3 } from './codes.ts';

export interface Authenticated {
  realm: Realm;
  authid: string;
  authrole: string;
  authmethod: 'ticket' | 'anonymous' | 'tls';
}

export interface Refused {
  /** v5 CONNACK reason code and v3.1/3.1.1 return code. */
  v5: number;
  v3: number;
  message: string;
}

export function splitUsername(username: string | undefined, defaultRealm: string): { user: string | undefined; realm: string } {
  if (username === undefined) return { user: undefined, realm: defaultRealm };
  const at = username.lastIndexOf('@');
  if (at < 0) return { user: username || undefined, realm: defaultRealm };
  return { user: username.slice(0, at) || undefined, realm: username.slice(at + 1) || defaultRealm };
}

export function authenticate(router: Router, defaultRealm: string, clientId: string, username: string | undefined, password: Buffer | undefined): Authenticated | Refused {
  const { user, realm: realmName } = splitUsername(username, defaultRealm);
  let realm: Realm;
  try {
    realm = router.realm(realmName);
  } catch {
    return { v5: RC.badUserNameOrPassword, v3: V3.notAuthorized, message: `no realm '${realmName}'` };
  }
  const auth = realm.config.auth;
  const principal = user !== undefined ? auth.ticket?.[user] : undefined;
  if (principal) {
    if (password === undefined || password.toString('utf8') !== principal.ticket) {
      return { v5: RC.badUserNameOrPassword, v3: V3.badUserNameOrPassword, message: 'bad user name or password' };
    }
    return { realm, authid: user as string, authrole: principal.role, authmethod: 'ticket' };
  }
  if (auth.anonymous) return { realm, authid: clientId, authrole: auth.anonymous.role, authmethod: 'anonymous' };
  return {
    v5: user !== undefined ? RC.badUserNameOrPassword : RC.notAuthorized,
    v3: V3.notAuthorized,
    message: user !== undefined ? `unknown user '${user}'` : 'anonymous access is not allowed',
  };
}

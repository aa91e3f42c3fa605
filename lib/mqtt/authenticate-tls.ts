// useIdentityAsUsername (mosquitto's use_identity_as_username): a client that showed a verified TLS
// client certificate is the realm's `tls` principal that certificate names; its user name only picks
// the realm (`anything@realm`), and no password is checked — the handshake was the proof. An
// identity the realm does not list is refused, never demoted to anonymous.
import type { Realm } from '../core/realm.ts';
import type { Router } from '../core/router.ts';
import { type Authenticated, type Refused, splitUsername } from './authenticate.ts';
import { RC, V3 } from './codes.ts';

export function authenticateByCertificate(router: Router, defaultRealm: string, identity: string, username: string | undefined): Authenticated | Refused {
  const { realm: realmName } = splitUsername(username, defaultRealm);
  let realm: Realm;
  try {
    realm = router.realm(realmName);
  } catch {
    return { v5: RC.badUserNameOrPassword, v3: V3.notAuthorized, message: `no realm '${realmName}'` };
  }
  const principal = realm.config.auth.tls?.[identity];
  if (!principal) return { v5: RC.notAuthorized, v3: V3.notAuthorized, message: `certificate identity '${identity}' is not a tls principal of realm '${realm.name}'` };
  return { realm, authid: identity, authrole: principal.role, authmethod: 'tls' };
}

// WAMP `tls` authentication (Crossbar's): the client proved who it is during the TLS handshake with a
// certificate our CA signed; the realm's `tls` principals map that certificate's identity to a role.
// No challenge: the proof is already done. A HELLO.authid, if given, must be that identity.
import type { RealmAuthConfig } from '../core/config.ts';
import type { Dict } from '../core/types.ts';

/** The identity to welcome; undefined when this method does not apply (the client's next method is tried). */
export function tlsAuthentication(auth: RealmAuthConfig, details: Dict, tlsIdentity: string | undefined): { authid: string; authrole: string; authmethod: 'tls'; authprovider: 'static' } | undefined {
  if (tlsIdentity === undefined) return undefined;
  const principal = auth.tls?.[tlsIdentity];
  if (!principal) return undefined;
  if (typeof details.authid === 'string' && details.authid !== tlsIdentity) return undefined;
  return { authid: tlsIdentity, authrole: principal.role, authmethod: 'tls', authprovider: 'static' };
}

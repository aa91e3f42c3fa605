// tls (Crossbar's): the client proved who it is in the TLS handshake, with a client certificate the
// listener's CA signed; the realm's `tls` principals map that certificate's identity to a role. No
// challenge: the proof is already done. A requested authid, if given, must be that identity.
import type { AuthMethod } from '../types.ts';

export const tls: AuthMethod = {
  name: 'tls',
  takesPassword: false,
  start(req) {
    const identity = req.tlsIdentity;
    const principals = req.auth.tls;
    if (identity === undefined || principals === undefined || !Object.hasOwn(principals, identity)) return undefined;
    const principal = principals[identity];
    if (principal === undefined) return undefined;
    if (req.authid !== undefined && req.authid !== identity) return undefined;
    return { kind: 'welcome', result: { authid: identity, authrole: principal.role, authmethod: 'tls', authprovider: 'static' } };
  },
};

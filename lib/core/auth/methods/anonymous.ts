// anonymous: the realm's anonymous role, when the realm allows it. A WAMP client may name itself,
// but not after a principal nor with an authid the router reserves for identities it makes up.
import { randomId } from '../../ids.ts';
import { isPrincipal, isReservedAuthid } from '../principals.ts';
import type { AuthMethod } from '../types.ts';

export const anonymous: AuthMethod = {
  name: 'anonymous',
  takesPassword: false,
  start(req) {
    const role = req.auth.anonymous?.role;
    if (role === undefined) return undefined;
    const wanted = req.authid;
    const free = wanted !== undefined && wanted !== '' && !isPrincipal(req.auth, wanted) && !isReservedAuthid(wanted);
    const authid = free ? wanted : `anonymous-${randomId().toString(36)}`;
    return { kind: 'welcome', result: { authid, authrole: role, authmethod: 'anonymous', authprovider: 'static' } };
  },
};

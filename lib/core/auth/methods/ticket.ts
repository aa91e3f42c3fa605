// ticket: the client answers an empty challenge with its password (WAMP-Ticket), or sends the
// password up front (MQTT user name and password, HTTP Basic). The stored ticket may be hashed.
import { parseSecret, verifySecret } from '../secret.ts';
import type { AuthMethod } from '../types.ts';

export const ticket: AuthMethod = {
  name: 'ticket',
  takesPassword: true,
  start(req) {
    const authid = req.authid;
    const principals = req.auth.ticket;
    if (authid === undefined || principals === undefined || !Object.hasOwn(principals, authid)) return undefined;
    const principal = principals[authid];
    if (principal === undefined) return undefined;
    const stored = parseSecret(principal.ticket);
    return {
      kind: 'challenge',
      method: 'ticket',
      extra: {},
      verify: async (answer) => ((await verifySecret(stored, answer)) ? { authid, authrole: principal.role, authmethod: 'ticket', authprovider: 'static' } : undefined),
    };
  },
};

// WAMP authentication methods: anonymous, ticket and wampcra (plain or salted secrets), checked
// against the realm's principals from the config file.
import { createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RealmAuthConfig } from '../core/config.ts';
import { randomId } from '../core/ids.ts';
import type { Dict } from '../core/types.ts';
import { tlsAuthentication } from './auth-tls.ts';

export interface AuthResult {
  authid: string;
  authrole: string;
  authmethod: string;
  authprovider: string;
}

/** The next step of a HELLO: welcome at once, challenge, or refuse. */
export type AuthStep =
  | { kind: 'welcome'; result: AuthResult }
  | { kind: 'challenge'; method: string; extra: Dict; verify(signature: string): AuthResult | undefined }
  | { kind: 'refuse'; reason: string; message: string };

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** autobahn's auth_cra.derive_key: PBKDF2-HMAC-SHA256, base64. */
export function deriveCraKey(secret: string, salt: string, iterations = 1000, keylen = 32): string {
  return pbkdf2Sync(secret, salt, iterations, keylen, 'sha256').toString('base64');
}

export function signCra(key: string, challenge: string): string {
  return createHmac('sha256', key).update(challenge).digest('base64');
}

/** `tlsIdentity`: what the connection's verified client certificate says (for the `tls` method). */
export function startAuthentication(auth: RealmAuthConfig, details: Dict, sessionId: number, tlsIdentity?: string): AuthStep {
  const requested = Array.isArray(details.authmethods) ? details.authmethods.filter((m): m is string => typeof m === 'string') : ['anonymous'];
  const authid = typeof details.authid === 'string' ? details.authid : undefined;
  for (const method of requested.length > 0 ? requested : ['anonymous']) {
    if (method === 'tls') {
      const result = tlsAuthentication(auth, details, tlsIdentity);
      if (result) return { kind: 'welcome', result };
    }
    if (method === 'anonymous' && auth.anonymous) {
      // An anonymous client may name itself, but not after a configured principal.
      const taken = authid !== undefined && (auth.ticket?.[authid] !== undefined || auth.wampcra?.[authid] !== undefined || auth.tls?.[authid] !== undefined);
      const id = authid !== undefined && !taken ? authid : `anonymous-${randomId().toString(36)}`;
      return { kind: 'welcome', result: { authid: id, authrole: auth.anonymous.role, authmethod: 'anonymous', authprovider: 'static' } };
    }
    if (method === 'ticket' && authid && auth.ticket?.[authid]) {
      const principal = auth.ticket[authid];
      return {
        kind: 'challenge',
        method: 'ticket',
        extra: {},
        verify: (sig) => (safeEqual(sig, principal.ticket) ? { authid, authrole: principal.role, authmethod: 'ticket', authprovider: 'static' } : undefined),
      };
    }
    if (method === 'wampcra' && authid && auth.wampcra?.[authid]) {
      const p = auth.wampcra[authid];
      const challenge = JSON.stringify({
        authid,
        authrole: p.role,
        authmethod: 'wampcra',
        authprovider: 'static',
        nonce: randomBytes(16).toString('base64'),
        timestamp: new Date().toISOString(),
        session: sessionId,
      });
      const key = p.salt ? deriveCraKey(p.secret, p.salt, p.iterations, p.keylen) : p.secret;
      const extra: Dict = { challenge };
      if (p.salt) Object.assign(extra, { salt: p.salt, iterations: p.iterations ?? 1000, keylen: p.keylen ?? 32 });
      const expected = signCra(key, challenge);
      return {
        kind: 'challenge',
        method: 'wampcra',
        extra,
        verify: (sig) => (safeEqual(sig, expected) ? { authid, authrole: p.role, authmethod: 'wampcra', authprovider: 'static' } : undefined),
      };
    }
  }
  return { kind: 'refuse', reason: 'wamp.error.no_auth_method', message: `none of the authentication methods [${requested.join(', ')}] is available for this authid on this realm` };
}

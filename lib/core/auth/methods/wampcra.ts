// WAMP-CRA: HMAC-SHA256 of a challenge, keyed with the secret or, with a salt, the PBKDF2 key
// derived from it (autobahn's auth_cra.derive_key). The router needs that key to check the answer,
// so a wampcra principal keeps its `secret` (hashed storage is for ticket passwords).
import { createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Dict } from '../../types.ts';
import { sameSecret } from '../secret.ts';
import type { AuthMethod } from '../types.ts';

/** autobahn's auth_cra.derive_key: PBKDF2-HMAC-SHA256, base64. */
export function deriveCraKey(secret: string, salt: string, iterations = 1000, keylen = 32): string {
  return pbkdf2Sync(secret, salt, iterations, keylen, 'sha256').toString('base64');
}

export function signCra(key: string, challenge: string): string {
  return createHmac('sha256', key).update(challenge).digest('base64');
}

export const wampcra: AuthMethod = {
  name: 'wampcra',
  takesPassword: false,
  start(req) {
    const authid = req.authid;
    const principals = req.auth.wampcra;
    if (authid === undefined || principals === undefined || !Object.hasOwn(principals, authid)) return undefined;
    const p = principals[authid];
    if (p === undefined) return undefined;
    const challenge = JSON.stringify({
      authid,
      authrole: p.role,
      authmethod: 'wampcra',
      authprovider: 'static',
      nonce: randomBytes(16).toString('base64'),
      timestamp: new Date().toISOString(),
      session: req.sessionId,
    });
    const key = p.salt ? deriveCraKey(p.secret, p.salt, p.iterations, p.keylen) : p.secret;
    const extra: Dict = { challenge };
    if (p.salt) Object.assign(extra, { salt: p.salt, iterations: p.iterations ?? 1000, keylen: p.keylen ?? 32 });
    const expected = signCra(key, challenge);
    return {
      kind: 'challenge',
      method: 'wampcra',
      extra,
      verify: async (signature) => (sameSecret(signature, expected) ? { authid, authrole: p.role, authmethod: 'wampcra', authprovider: 'static' } : undefined),
    };
  },
};

// WAMP-cryptosign (Ed25519), as autobahn speaks it: HELLO.authextra.pubkey names the client's key
// (hex), the CHALLENGE carries 32 random bytes (hex), and the answer is the hex of the 64-byte
// signature followed by the challenge. The key must be one of the principal's authorized_keys; without
// an authid, the principal holding that key is the one logging in. Channel binding (tls-unique) and
// router authentication (authextra.challenge) are not offered and are refused by name.
import { createPublicKey, type KeyObject, randomBytes, verify } from 'node:crypto';
import { ErrorUri } from '../../errors.ts';
import type { CryptosignPrincipal } from '../../config.ts';
import type { AuthMethod, AuthStep } from '../types.ts';

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const CHALLENGE_BYTES = 32;
const SIGNATURE_BYTES = 64;

/** Whether a configured key is a raw Ed25519 public key in hex. */
export function isEd25519Hex(key: string): boolean {
  return HEX_KEY.test(key);
}

/** The key object node:crypto verifies with, from the raw 32-byte key (as JWK, which Node builds the SPKI from). */
function publicKey(hex: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') }, format: 'jwk' });
}

function holder(principals: Record<string, CryptosignPrincipal>, authid: string | undefined, pubkey: string): [string, CryptosignPrincipal] | undefined {
  const has = (p: CryptosignPrincipal | undefined): p is CryptosignPrincipal => p !== undefined && p.authorized_keys.some((k) => k.toLowerCase() === pubkey);
  if (authid !== undefined) {
    const p = Object.hasOwn(principals, authid) ? principals[authid] : undefined;
    return has(p) ? [authid, p] : undefined;
  }
  for (const [id, p] of Object.entries(principals)) if (has(p)) return [id, p];
  return undefined;
}

const refuse = (message: string): AuthStep => ({ kind: 'refuse', reason: ErrorUri.authenticationFailed, message });

export const cryptosign: AuthMethod = {
  name: 'cryptosign',
  takesPassword: false,
  start(req) {
    const principals = req.auth.cryptosign;
    if (principals === undefined) return undefined;
    const extra = req.authextra;
    const pubkey = extra.pubkey;
    if (typeof pubkey !== 'string' || !HEX_KEY.test(pubkey)) return refuse('cryptosign needs authextra.pubkey: the Ed25519 public key as 64 hex digits');
    if (extra.channel_binding !== undefined && extra.channel_binding !== null) return refuse(`cryptosign channel binding '${String(extra.channel_binding)}' is not offered; use null`);
    if (extra.challenge !== undefined && extra.challenge !== null) return refuse('cryptosign router authentication (authextra.challenge) is not offered; use null');
    const found = holder(principals, req.authid, pubkey.toLowerCase());
    if (found === undefined) return undefined;
    const [authid, principal] = found;
    const challenge = randomBytes(CHALLENGE_BYTES);
    return {
      kind: 'challenge',
      method: 'cryptosign',
      extra: { challenge: challenge.toString('hex'), channel_binding: null },
      verify: async (answer) => {
        const text = typeof answer === 'string' ? answer : answer.toString('latin1');
        // The signature alone, or (as autobahn sends it) followed by the challenge it signs.
        if (!/^[0-9a-fA-F]*$/.test(text) || (text.length !== 2 * SIGNATURE_BYTES && text.length !== 2 * (SIGNATURE_BYTES + CHALLENGE_BYTES))) return undefined;
        const bytes = Buffer.from(text, 'hex');
        if (bytes.length > SIGNATURE_BYTES && !bytes.subarray(SIGNATURE_BYTES).equals(challenge)) return undefined;
        const ok = verify(null, challenge, publicKey(pubkey), bytes.subarray(0, SIGNATURE_BYTES));
        return ok ? { authid, authrole: principal.role, authmethod: 'cryptosign', authprovider: 'static' } : undefined;
      },
    };
  },
};

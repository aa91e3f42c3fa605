// Logging in to a realm, for every gate: a challenge-response login (WAMP: the methods the client
// lists, in its order) and a password login (MQTT CONNECT, HTTP Basic) through the same methods.
import { ErrorUri } from '../errors.ts';
import { authMethods } from './methods/index.ts';
import { tls } from './methods/tls.ts';
import { isPrincipal } from './principals.ts';
import { SecretCheckBusy } from './secret.ts';
import type { AuthRequest, AuthResult, AuthStep } from './types.ts';

export type { AuthMethod, AuthRequest, AuthResult, AuthStep, Verify } from './types.ts';

/** The first step of the first listed method that applies, or a refusal naming them. */
export function startLogin(req: AuthRequest, methods: string[]): AuthStep {
  for (const name of methods) {
    const step = authMethods.get(name)?.start(req);
    if (step !== undefined) return step;
  }
  return { kind: 'refuse', reason: ErrorUri.noAuthMethod, message: `none of the authentication methods [${methods.join(', ')}] is available for this authid on this realm` };
}

export type PasswordRefusal = 'unknown-user' | 'bad-password' | 'anonymous-refused' | 'no-password-method' | 'busy' | 'unknown-identity';

export type PasswordOutcome = { kind: 'ok'; result: AuthResult } | { kind: 'refused'; why: PasswordRefusal; message: string };

/**
 * A user name and password sent up front. No user name: the anonymous role, if the realm has one.
 * A principal: its password, checked by the first method that takes one. Any other name: refused,
 * unless the realm maps unknown users to anonymous. Anonymous logins get `anonymousAuthid`.
 * Settles at once (no promise) when no secret needs checking.
 */
export function passwordLogin(req: AuthRequest, password: string | Buffer | undefined, anonymousAuthid: string): PasswordOutcome | Promise<PasswordOutcome> {
  const { auth, authid } = req;
  if (authid === undefined || !isPrincipal(auth, authid)) {
    const role = auth.anonymous?.role;
    const admitted = role !== undefined && (authid === undefined || auth.unknownUsers === 'anonymous');
    if (admitted) return { kind: 'ok', result: { authid: anonymousAuthid, authrole: role, authmethod: 'anonymous', authprovider: 'static' } };
    if (authid === undefined) return { kind: 'refused', why: 'anonymous-refused', message: 'anonymous access is not allowed' };
    return { kind: 'refused', why: 'unknown-user', message: `unknown user '${authid}'` };
  }
  for (const method of authMethods.values()) {
    if (!method.takesPassword) continue;
    const step = method.start(req);
    if (step?.kind !== 'challenge') continue;
    if (password === undefined) return badPassword;
    return step.verify(password).then(
      (result): PasswordOutcome => (result ? { kind: 'ok', result } : badPassword),
      (err: unknown): PasswordOutcome => {
        if (err instanceof SecretCheckBusy) return { kind: 'refused', why: 'busy', message: err.message };
        throw err;
      },
    );
  }
  return { kind: 'refused', why: 'no-password-method', message: `'${authid}' has no password login on this realm` };
}

const badPassword: PasswordOutcome = { kind: 'refused', why: 'bad-password', message: 'bad user name or password' };

/**
 * A login with the identity the transport proved (`req.tlsIdentity`, MQTT's use-identity-as-username):
 * the realm's `tls` principal of that name. The user name and password are not looked at, and an
 * identity the realm does not list is refused, never demoted to anonymous.
 */
export function identityLogin(req: AuthRequest): PasswordOutcome {
  const step = tls.start({ ...req, authid: undefined });
  if (step?.kind === 'welcome') return { kind: 'ok', result: step.result };
  return { kind: 'refused', why: 'unknown-identity', message: `certificate identity '${req.tlsIdentity ?? ''}' is not a tls principal of realm '${req.realm}'` };
}

// What an authentication method is: given a login request, welcome at once, challenge (the client's
// answer settles it), refuse, or pass (not available for this request: the next method is tried).
// The steps are protocol-neutral: WAMP maps them onto WELCOME / CHALLENGE / ABORT; a password login
// (MQTT CONNECT, HTTP Basic) answers the challenge of a method that takes a password at once.
import type { RealmAuthConfig } from '../config.ts';
import type { Dict } from '../types.ts';

export interface AuthResult {
  authid: string;
  authrole: string;
  authmethod: string;
  authprovider: string;
}

export interface AuthRequest {
  realm: string;
  auth: RealmAuthConfig;
  /** The authid the client asks for, if any (WAMP HELLO.authid, MQTT user name, Basic user). */
  authid: string | undefined;
  /** WAMP HELLO.Details.authextra ({} elsewhere). */
  authextra: Dict;
  /** The session id the WELCOME will carry (wampcra puts it in its challenge). */
  sessionId: number;
  /**
   * An identity the transport already proved (the subject of a TLS client certificate), for
   * methods that log in with it (TLS, MQTT use-identity-as-username).
   */
  tlsIdentity?: string;
}

/** The answer to a challenge: the identity, or undefined when the answer is wrong. */
export type Verify = (response: string | Buffer) => Promise<AuthResult | undefined>;

export type AuthStep =
  | { kind: 'welcome'; result: AuthResult }
  | { kind: 'challenge'; method: string; extra: Dict; verify: Verify }
  | { kind: 'refuse'; reason: string; message: string };

export interface AuthMethod {
  readonly name: string;
  /**
   * The answer to this method's challenge is a secret the client knows before the challenge (its
   * extra is empty), so a password sent up front can answer it: MQTT and HTTP logins use it.
   */
  readonly takesPassword: boolean;
  /** The first step for this request, or undefined when the method does not apply to it. */
  start(req: AuthRequest): AuthStep | undefined;
}

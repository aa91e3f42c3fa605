// Who an HTTP request acts as, for every bridge. Credentials, in this order:
//   Authorization: Basic user:password   the bridge's own users (its legacy `auth` option) first,
//                                        then the realm's principals (password = ticket, plain or hashed)
//   Authorization: Bearer <ticket>       with `Kitsune-Authid: <principal>` naming whose ticket it is
//   none                                 the realm's anonymous role (or the bridge's configured one)
// Wrong credentials are 401 (never a silent fall back to anonymous), as is no credentials where
// anonymous access is off; too many hashed password checks under way at once is 503. Each identity gets one in-process session, made on first use, so every
// publish, subscribe, call and register is checked against that identity's role like a WAMP client's.
import type { IncomingHttpHeaders } from 'node:http';
import { type Client, ErrorUri, type KitsuneRouter, type Principal, RouterError, sameSecret, SecretCheckBusy } from '../../lib/index.ts';
import { basicCredentials, BASIC_CHALLENGE } from './basic-auth.ts';
import { fail } from './fail.ts';

/** A user of the bridge's own: a password, and the realm principal it acts as (absent: the anonymous role). */
export interface BridgeUser {
  password: string;
  principal?: string;
}

export interface BridgeSessionsOptions {
  realm: string;
  /** The authid of sessions acting without credentials (the bridge's name). */
  name: string;
  /** The role requests without credentials act as; default the realm's anonymous role. */
  anonymousRole?: string;
  /** The bridge's own Basic users, checked before the realm's principals. */
  users?: Record<string, BridgeUser>;
  /** False: requests without credentials are refused (401) even when the realm has an anonymous role. */
  anonymous?: boolean;
  /** Called with each session the bridge makes for an identity, once, before its first request. */
  onSession?: (client: Client) => void;
}

export interface Identity {
  authid: string;
  authrole: string;
}

/** Names the principal a bearer ticket belongs to. */
export const AUTHID_HEADER = 'kitsune-authid';
const BEARER = /^Bearer\s+(\S{1,1024})\s*$/i;

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export class BridgeSessions {
  private readonly clients = new Map<string, Client>();
  private readonly users: Map<string, BridgeUser>;

  constructor(
    private readonly router: KitsuneRouter,
    private readonly opts: BridgeSessionsOptions,
  ) {
    this.users = new Map(Object.entries(opts.users ?? {}));
    for (const [user, u] of this.users) {
      if (u.principal !== undefined && this.principalRole(u.principal) === undefined) {
        throw new Error(`${opts.name} auth user '${user}': no principal '${u.principal}' in realm '${opts.realm}'`);
      }
    }
  }

  /** The role of a configured principal (ticket or wampcra), read now: a reload may change it. */
  private principalRole(authid: string): string | undefined {
    const auth = this.router.realm(this.opts.realm).config.auth;
    if (auth.ticket && Object.hasOwn(auth.ticket, authid)) return auth.ticket[authid]?.role;
    if (auth.wampcra && Object.hasOwn(auth.wampcra, authid)) return auth.wampcra[authid]?.role;
    return undefined;
  }

  /**
   * The identity a request's headers prove; rejects with 401 for wrong or (when `anonymous` is false)
   * missing credentials, 503 when the password cannot be checked now.
   */
  async identify(headers: IncomingHttpHeaders, anonymous = this.opts.anonymous !== false): Promise<Identity> {
    const authorization = header(headers, 'authorization');
    if (authorization === undefined || authorization === '') return this.anonymous(anonymous);
    const basic = basicCredentials(authorization);
    if (basic) return this.byPassword(basic.user, basic.password);
    const bearer = BEARER.exec(authorization);
    if (bearer) {
      const authid = header(headers, AUTHID_HEADER);
      if (!authid) throw fail(`a bearer ticket needs a Kitsune-Authid header naming its principal`, 401, BASIC_CHALLENGE);
      return this.principal(authid, bearer[1] as string);
    }
    throw fail('unsupported Authorization scheme (use Basic or Bearer)', 401, BASIC_CHALLENGE);
  }

  private anonymous(allowed: boolean): Identity {
    const role = this.opts.anonymousRole ?? this.router.realm(this.opts.realm).config.auth.anonymous?.role;
    if (!allowed || role === undefined) throw fail('authentication required', 401, BASIC_CHALLENGE);
    return { authid: this.opts.name, authrole: role };
  }

  private async byPassword(user: string, password: string): Promise<Identity> {
    const own = this.users.get(user);
    if (own) {
      if (!sameSecret(own.password, password)) throw fail('authentication failed', 401, BASIC_CHALLENGE);
      if (own.principal === undefined) return { ...this.anonymous(true), authid: user };
      const role = this.principalRole(own.principal);
      if (role === undefined) throw fail('authentication failed', 401, BASIC_CHALLENGE);
      return { authid: own.principal, authrole: role };
    }
    return this.principal(user, password);
  }

  /** The realm principal `authid` if `password` is its password (the router's login methods). */
  private async principal(authid: string, password: string): Promise<Principal> {
    let p: Principal | undefined;
    try {
      p = await this.router.authenticate(this.opts.realm, authid, password);
    } catch (err) {
      if (err instanceof SecretCheckBusy) throw fail(err.message, 503, { 'Retry-After': '1' });
      throw err;
    }
    if (!p) throw fail('authentication failed', 401, BASIC_CHALLENGE);
    return p;
  }

  /** The session of an identity (one per identity, kept while it lasts). */
  client(identity: Identity): Client {
    const key = `${identity.authrole}\n${identity.authid}`;
    let c = this.clients.get(key);
    if (!c || !c.session.isOpen) {
      c = this.connect(identity);
      const made = c;
      c.onClose = () => {
        if (this.clients.get(key) === made) this.clients.delete(key);
      };
      this.clients.set(key, c);
      this.opts.onSession?.(c);
    }
    return c;
  }

  /** A new session of its own for an identity (e.g. one per parked request); 403 if its role is gone. */
  connect(identity: Identity, transport?: Record<string, unknown>): Client {
    try {
      return this.router.connect(this.opts.realm, { authid: identity.authid, authrole: identity.authrole, protocol: 'http', ...(transport ? { transport } : {}) });
    } catch (err) {
      if (err instanceof RouterError && err.uri === ErrorUri.noSuchRole) throw fail(err.message, 403);
      throw err;
    }
  }

  /** The session a request acts as: identify, then client. */
  async of(req: { headers: IncomingHttpHeaders }, anonymous?: boolean): Promise<Client> {
    return this.client(await this.identify(req.headers, anonymous));
  }

  close(): void {
    for (const c of [...this.clients.values()]) c.close();
    this.clients.clear();
  }
}

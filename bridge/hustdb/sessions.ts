// Who a request acts as. Without `auth`, the realm's anonymous role; with it, the Basic auth user's
// principal and that principal's role. One in-process session per principal, made on first use.
import type { Context } from 'koa';
import type { Client, KitsuneRouter } from '../../lib/index.ts';
import { BASIC_CHALLENGE, basicCredentials, samePassword } from '../http/basic-auth.ts';
import { fail } from '../http/fail.ts';
import { indexListings } from './names.ts';
import type { ResolvedOptions } from './options.ts';

export class Sessions {
  private readonly clients = new Map<string, Client>();
  private readonly roles = new Map<string, string>();
  private readonly anonymousRole: string | undefined;

  constructor(
    private readonly router: KitsuneRouter,
    private readonly opts: ResolvedOptions,
  ) {
    const realm = router.realm(opts.realm).config;
    this.anonymousRole = realm.auth.anonymous?.role;
    for (const [user, u] of Object.entries(opts.auth ?? {})) {
      const role = realm.auth.ticket?.[u.principal]?.role ?? realm.auth.wampcra?.[u.principal]?.role;
      if (role === undefined) throw new Error(`hustdb auth user '${user}': no principal '${u.principal}' in realm '${opts.realm}'`);
      this.roles.set(u.principal, role);
    }
  }

  private client(authid: string, authrole: string): Client {
    let c = this.clients.get(authid);
    if (!c) {
      c = this.router.connect(this.opts.realm, { authid, authrole, protocol: 'http' });
      c.onClose = () => this.clients.delete(authid);
      this.clients.set(authid, c);
      // from the first request on, every write keeps the listing indexes (existing values are indexed in slices)
      indexListings(c).catch(() => undefined);
    }
    return c;
  }

  /** The session this request acts as; 401 without valid credentials when auth is on. */
  of(ctx: Context): Client {
    const auth = this.opts.auth;
    if (!auth) {
      if (this.anonymousRole === undefined) throw fail(`realm '${this.opts.realm}' refuses anonymous access`, 401);
      return this.client('hustdb', this.anonymousRole);
    }
    const cred = basicCredentials(ctx.get('Authorization'));
    const user = cred ? auth[cred.user] : undefined;
    if (!cred || !user || !samePassword(user.password, cred.password)) throw fail('authentication required', 401, BASIC_CHALLENGE);
    return this.client(user.principal, this.roles.get(user.principal) as string);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

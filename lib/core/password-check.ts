// Checks a principal's secret for password-style logins (HTTP Basic and bearer tickets on the
// bridges, the server's own endpoints). The secret is the principal's ticket, or its wampcra
// secret. Constant time: both sides are hashed to equal length first, and an unknown authid still
// costs one comparison, so neither the secret's length nor whether the user exists shows in the time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RealmAuthConfig } from './config.ts';

export interface Principal {
  authid: string;
  authrole: string;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time string equality (for secrets). */
export function sameSecret(expected: string, given: string): boolean {
  return timingSafeEqual(digest(expected), digest(given));
}

/** The principal `authid` when `secret` is its ticket or wampcra secret; undefined otherwise. */
export function checkPassword(auth: RealmAuthConfig, authid: string, secret: string): Principal | undefined {
  const ticket = Object.hasOwn(auth.ticket ?? {}, authid) ? auth.ticket?.[authid] : undefined;
  const cra = Object.hasOwn(auth.wampcra ?? {}, authid) ? auth.wampcra?.[authid] : undefined;
  // both compared whatever the first says: the time does not tell which kind of principal matched
  const byTicket = sameSecret(ticket?.ticket ?? '\u0000no principal', secret) && ticket !== undefined;
  const byCra = sameSecret(cra?.secret ?? '\u0000no principal', secret) && cra !== undefined;
  if (byTicket && ticket) return { authid, authrole: ticket.role };
  if (byCra && cra) return { authid, authrole: cra.role };
  return undefined;
}

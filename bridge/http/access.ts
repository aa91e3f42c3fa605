// Routes that reveal the server's state (metrics, queue statistics) are guarded like the server's
// own /metrics: the embedding server passes its guard (server/http-access.ts) to the bridges.
import type { IncomingMessage } from 'node:http';
import { BASIC_CHALLENGE } from './basic-auth.ts';
import { fail } from './fail.ts';

/**
 * 'ok', or the refusal: 401 (credentials needed or wrong), 403 (this address or principal is not let
 * in), 503 (the credentials cannot be checked now).
 */
export type AccessGuard = (req: IncomingMessage) => Promise<'ok' | 401 | 403 | 503>;

/** Rejects with the guard's refusal as an HTTP answer with a body naming `what`. */
export async function checkAccess(guard: AccessGuard | undefined, req: IncomingMessage, what: string): Promise<void> {
  const verdict = guard ? await guard(req) : 'ok';
  if (verdict === 503) throw fail(`${what}: too many password checks are under way; try again later`, 503, { 'Retry-After': '1' });
  if (verdict === 401) throw fail(`${what} needs the credentials of a principal allowed by http.access`, 401, BASIC_CHALLENGE);
  if (verdict === 403) throw fail(`${what} is not open to this address or principal (see http.access)`, 403);
}

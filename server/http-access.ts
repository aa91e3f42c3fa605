// Who may read the server's own endpoints (/metrics, /healthz, the bridges' metrics and stat_all,
// the dashboard): the addresses listed (default loopback only) or, from anywhere, the listed
// principals of the first realm by HTTP Basic auth (password: the principal's ticket, plain or
// hashed, checked by KitsuneRouter.authenticate).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { basicCredentials, BASIC_CHALLENGE } from '../bridge/http/basic-auth.ts';
import { type KitsuneRouter, SecretCheckBusy } from '../lib/index.ts';

export interface HttpAccessConfig {
  /** IP addresses or CIDR ranges (v4 or v6) let in without credentials (default loopback). */
  addresses?: string[];
  /** authids of the first realm's principals let in, from any address, by Basic auth. */
  principals?: string[];
}

// all of loopback: 127.0.0.0/8 is this host too (tests and local agents bind 127.0.0.x)
export const DEFAULT_ACCESS_ADDRESSES = ['127.0.0.0/8', '::1'];

/**
 * 'ok', or 401 (credentials needed or wrong) / 403 (neither the address nor the principal is listed) /
 * 503 (too many password checks under way).
 */
export type HttpAccess = (req: IncomingMessage) => Promise<'ok' | 401 | 403 | 503>;

/** A problem with one address entry, or undefined (the config check names the entry). */
export function addressProblem(entry: string): string | undefined {
  const [ip, bits, extra] = entry.split('/');
  if (extra !== undefined || !ip || !isIP(ip)) return `"${entry}" is not an IP address or CIDR range`;
  if (bits === undefined) return undefined;
  const max = isIP(ip) === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${entry}": the prefix length must be 0..${max}`;
  return undefined;
}

function blockList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    if (addressProblem(entry)) throw new Error(`http.access.addresses: ${addressProblem(entry)}`);
    const [ip, bits] = entry.split('/') as [string, string | undefined];
    const type = isIP(ip) === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(bits), type);
  }
  return list;
}

/** The remote address as the lists write it: an IPv4-mapped IPv6 address is its IPv4 address. */
function remoteOf(req: IncomingMessage): { ip: string; type: 'ipv4' | 'ipv6' } | undefined {
  let ip = req.socket.remoteAddress;
  if (!ip) return undefined;
  if (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4) ip = ip.slice(7);
  const v = isIP(ip);
  return v === 0 ? undefined : { ip, type: v === 4 ? 'ipv4' : 'ipv6' };
}

/** `onRefused` counts each refusal (a metrics hook). */
export function createHttpAccess(router: KitsuneRouter, realm: string, config: HttpAccessConfig = {}, onRefused: (status: 401 | 403) => void = () => {}): HttpAccess {
  const addresses = blockList(config.addresses ?? DEFAULT_ACCESS_ADDRESSES);
  const principals = new Set(config.principals ?? []);
  const verdict = async (req: IncomingMessage): Promise<'ok' | 401 | 403 | 503> => {
    const remote = remoteOf(req);
    if (remote && addresses.check(remote.ip, remote.type)) return 'ok';
    const cred = basicCredentials(req.headers.authorization);
    if (!cred) return principals.size > 0 ? 401 : 403;
    let who;
    try {
      who = await router.authenticate(realm, cred.user, cred.password);
    } catch (err) {
      if (err instanceof SecretCheckBusy) return 503;
      throw err;
    }
    if (!who) return 401;
    return principals.has(who.authid) ? 'ok' : 403;
  };
  return async (req) => {
    const v = await verdict(req);
    if (v === 401 || v === 403) onRefused(v);
    return v;
  };
}

/** `handler` behind `access`: refusals are plain text naming the endpoint (401 with a Basic challenge). */
export function guarded(access: HttpAccess, name: string, handler: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    access(req)
      .then((verdict) => (verdict === 'ok' ? handler(req, res) : refuse(res, verdict, name)))
      .catch(() => {
        if (res.headersSent) res.destroy();
        else refuse(res, 500, name);
      });
  };
}

const REFUSALS: Record<401 | 403 | 500 | 503, (name: string) => string> = {
  401: (name) => `${name} needs the credentials of a principal listed in http.access.principals\n`,
  403: (name) => `${name} is not open to this address or principal (see http.access)\n`,
  500: (name) => `${name}: the credentials could not be checked\n`,
  503: (name) => `${name}: too many password checks are under way; try again later\n`,
};

function refuse(res: ServerResponse, status: 401 | 403 | 500 | 503, name: string): void {
  const body = REFUSALS[status](name);
  const extra = status === 401 ? BASIC_CHALLENGE : status === 503 ? { 'retry-after': '1' } : {};
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

// HTTP Basic credentials: parsing the Authorization header (secrets are compared by sameSecret,
// lib/core/password-check.ts, in constant time whatever their lengths).

export interface BasicCredentials {
  user: string;
  password: string;
}

/** The credentials of an `Authorization: Basic …` header; undefined when absent or malformed. */
export function basicCredentials(header: string | undefined): BasicCredentials | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="Authentication"' };

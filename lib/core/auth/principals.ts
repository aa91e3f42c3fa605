// The realm's principals, whatever method they log in with, and the names no principal may take.
import { createHash } from 'node:crypto';
import type { RealmAuthConfig } from '../config.ts';

/**
 * Authids of anonymous MQTT clients start with this; principal names may not (the config check
 * refuses them), and an anonymous WAMP client cannot claim one.
 */
export const ANONYMOUS_MQTT_PREFIX = 'mqtt-anon:';

/** Authid prefixes reserved for identities the router makes up. */
export const RESERVED_AUTHID_PREFIXES = [ANONYMOUS_MQTT_PREFIX, 'anonymous-'];

export function isReservedAuthid(authid: string): boolean {
  return RESERVED_AUTHID_PREFIXES.some((p) => authid.startsWith(p));
}

/**
 * The authid of an anonymous MQTT client: derived from its client id, so it is the same on every
 * reconnect (a persistent session resumes: only the same identity may take a client id over), yet
 * it can never equal a principal's name, so a client id cannot pose as a principal.
 */
export function anonymousMqttAuthid(clientId: string): string {
  return ANONYMOUS_MQTT_PREFIX + createHash('sha256').update(clientId).digest('base64url').slice(0, 16);
}

/** Each method's principals by authid (a principal may have several methods). */
function principalMaps(auth: RealmAuthConfig): (Record<string, { role: string }> | undefined)[] {
  return [auth.ticket, auth.wampcra, auth.cryptosign, auth.tls];
}

/** Whether `authid` names a principal of the realm, by any method. */
export function isPrincipal(auth: RealmAuthConfig, authid: string): boolean {
  return principalMaps(auth).some((m) => m !== undefined && Object.hasOwn(m, authid));
}

/** The role of a principal (the first method that knows it), or undefined. */
export function principalRole(auth: RealmAuthConfig, authid: string): string | undefined {
  for (const m of principalMaps(auth)) if (m !== undefined && Object.hasOwn(m, authid)) return m[authid]?.role;
  return undefined;
}

/** Every principal name in the realm's config, with the method that defines it (for config checks). */
export function principalNames(auth: RealmAuthConfig): { method: string; authid: string }[] {
  const out: { method: string; authid: string }[] = [];
  for (const [method, m] of Object.entries({ ticket: auth.ticket, wampcra: auth.wampcra, cryptosign: auth.cryptosign, tls: auth.tls })) {
    for (const authid of Object.keys(m ?? {})) out.push({ method, authid });
  }
  return out;
}

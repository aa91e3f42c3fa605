// Comparisons of JSON-like values, shared by conditional writes (`when`) and subscription filters.
import type { Payload } from './payload.ts';
import type { Dict } from './types.ts';

/** Structural equality (Uint8Array compared by bytes). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!sameValue((a as Dict)[k], (b as Dict)[k])) return false;
  return true;
}

/**
 * The `filter` subscribe option: every field named in the filter must equal the same field of the
 * event's record (its kwargs, else its first positional argument when that is a dictionary).
 */
export function matchesFilter(payload: Payload, filter: Dict): boolean {
  let record: unknown = payload.kwargs;
  if (record === undefined) record = payload.args?.[0];
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return false;
  for (const [field, want] of Object.entries(filter)) {
    if (!sameValue((record as Dict)[field], want)) return false;
  }
  return true;
}

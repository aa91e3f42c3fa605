// Comparisons of JSON-like values, shared by conditional writes (`when`) and subscription filters.
import type { Payload } from './payload.ts';
import type { Dict } from './types.ts';

/** Structural equality (Uint8Array compared by bytes). A loop: either side may nest without limit. */
export function sameValue(a: unknown, b: unknown): boolean {
  const pairs: unknown[] = [a, b];
  while (pairs.length > 0) {
    const y = pairs.pop();
    const x = pairs.pop();
    if (x === y) continue;
    // A BigInt equals the Number of the same integer (an in-process client may write either).
    if (typeof x === 'bigint' || typeof y === 'bigint') {
      if ((typeof x !== 'bigint' && typeof x !== 'number') || (typeof y !== 'bigint' && typeof y !== 'number') || x != y) return false;
      continue;
    }
    if (x instanceof Uint8Array && y instanceof Uint8Array) {
      if (Buffer.compare(x, y) !== 0) return false;
      continue;
    }
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    const kx = Object.keys(x);
    if (kx.length !== Object.keys(y).length) return false;
    for (const k of kx) pairs.push((x as Dict)[k], (y as Dict)[k]);
  }
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

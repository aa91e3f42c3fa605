// esub keys as router procedures. A key becomes ONE URI component of `esub.<component>`:
//
//   component = encodeURIComponent(key) with every '.' also written '%2E'
//
// i.e. UTF-8 percent-encoding of everything except A-Z a-z 0-9 - _ ! ~ * ' ( ). The result never
// holds '.', '#' or whitespace, so it is a valid (loose) WAMP URI component, and decodeURIComponent
// reverses it. UUID keys are unchanged: `/sub/5f0c…` is the procedure `esub.5f0c…`.
// A WAMP client answers an HTTP sub by calling that procedure, and serves reps by registering it.

export const PROCEDURE_PREFIX = 'esub.';

export function keyComponent(key: string): string {
  return encodeURIComponent(key).replace(/\./g, '%2E');
}

export function procedureOf(key: string): string {
  return PROCEDURE_PREFIX + keyComponent(key);
}

/** The key a procedure stands for, or undefined when it is not an esub procedure. */
export function keyOfProcedure(uri: string): string | undefined {
  if (!uri.startsWith(PROCEDURE_PREFIX)) return undefined;
  const comp = uri.slice(PROCEDURE_PREFIX.length);
  if (comp === '' || comp.includes('.')) return undefined;
  try {
    return decodeURIComponent(comp);
  } catch {
    return undefined;
  }
}

/** Why a key is refused, or undefined when it is fine. */
export function keyProblem(key: string, maxBytes: number): string | undefined {
  if (key.length === 0) return 'Invalid key: empty';
  if (Buffer.byteLength(key, 'utf8') > maxBytes) return `Invalid key: longer than ${maxBytes} bytes`;
  try {
    encodeURIComponent(key);
  } catch {
    return 'Invalid key: not valid Unicode';
  }
  return undefined;
}

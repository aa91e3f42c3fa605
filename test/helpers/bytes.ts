// Hand-built frames for tests: bytes, byte lists and UTF-8 strings, concatenated.
export const bytes = (...parts: (number | number[] | string | Uint8Array)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(typeof p === 'number' ? [p] : p))));

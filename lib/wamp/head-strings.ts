// The strings of a message head (URIs, mostly) repeat from one message to the next. Decoding the
// same bytes to the same string object as last time skips the UTF-8 decode and, more, the hashing
// of a fresh string in every Map that looks it up (the topic's level cache, the realm's tables):
// together about 5% of the router's time on a small publication.
//
// A small direct-mapped cache of recent strings, keyed by their bytes.

const SLOTS = 256;
/** Longer strings are decoded every time: rare in a head, and costlier to compare. */
const MAX_BYTES = 128;

const keys: (Buffer | undefined)[] = new Array<Buffer | undefined>(SLOTS).fill(undefined);
const values: string[] = new Array<string>(SLOTS).fill('');

/** `f.toString('utf8', start, end)`, the same string object as the last time these bytes were seen. */
export function headString(f: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n > MAX_BYTES || n === 0) return f.toString('utf8', start, end);
  const slot = (n * 31 + (f[start] as number) * 7 + (f[end - 1] as number) * 3 + (f[start + (n >> 1)] as number)) & (SLOTS - 1);
  const key = keys[slot];
  if (key !== undefined && key.length === n) {
    let i = 0;
    while (i < n && key[i] === f[start + i]) i++;
    if (i === n) return values[slot] as string;
  }
  const s = f.toString('utf8', start, end);
  const copy = Buffer.allocUnsafeSlow(n);
  f.copy(copy, 0, start, end);
  keys[slot] = copy;
  values[slot] = s;
  return s;
}

// A MessagePack validator that builds nothing: it finds where a value ends. The router uses it to
// check a message's arguments without decoding them (see msgpack-frame.ts), so it accepts only
// values that the full decode (msgpackr with our options, then sanitizeDecoded) would give back
// with the same meaning, and leaves the rest to that decode:
// - no extension types (msgpackr turns the timestamp into a Date and refuses others) and no 0xc1;
// - map keys are strings, and never "__proto__" (msgpackr stringifies other keys and renames that one);
// - strings are valid UTF-8 (msgpackr would put replacement characters in);
// - containers nest at most maxDepth deep (wire-values.ts).
import { isUtf8 } from 'node:buffer';
import { maxDepth } from './wire-values.ts';

/** End of the value at `i`, or -1 if there is none there or it is one of those left to the full decode. */
export function skipValue(f: Uint8Array, i: number, depth: number): number {
  const c = f[i];
  if (c === undefined) return -1;
  if (c < 0x80 || c >= 0xe0) return i + 1; // fixint
  if (c < 0x90) return skipMap(f, i + 1, c & 0x0f, depth);
  if (c < 0xa0) return skipArray(f, i + 1, c & 0x0f, depth);
  if (c < 0xc0) return skipString(f, i + 1, c & 0x1f);
  switch (c) {
    case 0xc0: // nil
    case 0xc2: // false
    case 0xc3: // true
      return i + 1;
    case 0xc4: // bin 8
      return within(f, i + 2, f[i + 1]);
    case 0xc5:
      return within(f, i + 3, u16(f, i + 1));
    case 0xc6:
      return within(f, i + 5, u32(f, i + 1));
    case 0xcc: // uint 8, int 8
    case 0xd0:
      return within(f, i + 2, 0);
    case 0xcd:
    case 0xd1:
      return within(f, i + 3, 0);
    case 0xca: // float 32
    case 0xce:
    case 0xd2:
      return within(f, i + 5, 0);
    case 0xcb: // float 64
    case 0xcf:
    case 0xd3:
      return within(f, i + 9, 0);
    case 0xd9: // str 8
      return f.length > i + 1 ? skipString(f, i + 2, f[i + 1] as number) : -1;
    case 0xda:
      return f.length > i + 2 ? skipString(f, i + 3, u16(f, i + 1)) : -1;
    case 0xdb:
      return f.length > i + 4 ? skipString(f, i + 5, u32(f, i + 1)) : -1;
    case 0xdc: // array 16
      return f.length > i + 2 ? skipArray(f, i + 3, u16(f, i + 1), depth) : -1;
    case 0xdd:
      return f.length > i + 4 ? skipArray(f, i + 5, u32(f, i + 1), depth) : -1;
    case 0xde: // map 16
      return f.length > i + 2 ? skipMap(f, i + 3, u16(f, i + 1), depth) : -1;
    case 0xdf:
      return f.length > i + 4 ? skipMap(f, i + 5, u32(f, i + 1), depth) : -1;
    default: // 0xc1 and the extension types
      return -1;
  }
}

/** The length of the array whose header is at `i`, or -1 if no array starts there. */
export const arrayLength = (f: Uint8Array, i: number): number => containerLength(f, i, 0x90, 0xdc, 0xdd);

/** The number of pairs of the map whose header is at `i`, or -1 if no map starts there. */
export const mapLength = (f: Uint8Array, i: number): number => containerLength(f, i, 0x80, 0xde, 0xdf);

/** The length in a header at `i` of the fix form (`fix` to `fix` + 15), the 16-bit or the 32-bit one. */
function containerLength(f: Uint8Array, i: number, fix: number, type16: number, type32: number): number {
  const c = f[i] as number;
  if (c >= fix && c < fix + 16) return c & 0x0f;
  if (c === type16 && f.length > i + 2) return u16(f, i + 1);
  if (c === type32 && f.length > i + 4) return u32(f, i + 1);
  return -1;
}

export const u16 = (f: Uint8Array, i: number): number => ((f[i] as number) << 8) | (f[i + 1] as number);

export const u32 = (f: Uint8Array, i: number): number =>
  (f[i] as number) * 0x1000000 + (((f[i + 1] as number) << 16) | ((f[i + 2] as number) << 8) | (f[i + 3] as number));

/** `start + length` if the frame holds it, else -1. */
function within(f: Uint8Array, start: number, length: number | undefined): number {
  const end = start + (length as number);
  return end <= f.length ? end : -1;
}

/** `i` is where the string's bytes start. */
function skipString(f: Uint8Array, i: number, length: number): number {
  const end = i + length;
  if (end > f.length) return -1;
  for (let k = i; k < end; k++) {
    if ((f[k] as number) >= 0x80) return isUtf8(f.subarray(i, end)) ? end : -1;
  }
  return end;
}

/** `i` is just after the header; `depth` is the array's own. */
function skipArray(f: Uint8Array, i: number, count: number, depth: number): number {
  if (depth >= maxDepth) return -1;
  for (let k = 0; k < count && i >= 0; k++) i = skipValue(f, i, depth + 1);
  return i;
}

const PROTO = Buffer.from('__proto__');

/** `i` is just after the header; `depth` is the map's own. */
function skipMap(f: Uint8Array, i: number, count: number, depth: number): number {
  if (depth >= maxDepth) return -1;
  for (let k = 0; k < count && i >= 0; k++) {
    const c = f[i] as number;
    // Keys must be strings: fixstr, str 8, str 16 or str 32.
    if (!((c >= 0xa0 && c < 0xc0) || (c >= 0xd9 && c <= 0xdb))) return -1;
    const keyStart = i + (c < 0xc0 ? 1 : c === 0xd9 ? 2 : c === 0xda ? 3 : 5);
    i = skipValue(f, i, depth + 1);
    if (i < 0 || (i - keyStart === PROTO.length && PROTO.equals(f.subarray(keyStart, i)))) return -1;
    i = skipValue(f, i, depth + 1);
  }
  return i;
}

// A MessagePack validator that builds nothing: it finds where a value ends. The router uses it to
// check a message's arguments without decoding them (see msgpack-frame.ts), so it accepts only
// values that the full decode (msgpackr with our options, then sanitizeDecoded) would give back
// with the same meaning, and leaves the rest to that decode:
// - no extension types (msgpackr turns the timestamp into a Date and refuses others) and no 0xc1;
// - map keys are strings, and never "__proto__" (msgpackr stringifies other keys and renames that one);
// - strings are valid UTF-8 (msgpackr would put replacement characters in);
// - containers nest at most maxDepth deep (wire-values.ts).
import { isUtf8 } from 'node:buffer';
import { maxDepth, NESTING_DEPTH_CEILING } from './wire-values.ts';

// The containers enclosing the innermost open one, as they were when it opened (skipValue is
// synchronous, so one stack serves every call): what each is (ARRAY, MAP_KEY, MAP_VALUE: what its
// next item is) and how many items (arrays) or pairs (maps) it still holds.
const openKinds = new Uint8Array(NESTING_DEPTH_CEILING + 1);
const openLeft = new Float64Array(NESTING_DEPTH_CEILING + 1);
const ARRAY = 1;
const MAP_KEY = 2;
const MAP_VALUE = 3;

/**
 * End of the value at `i`, or -1 if there is none there or it is one of those left to the full
 * decode. `depth` is that of a container starting at `i`; containers at maxDepth or deeper are
 * refused. A loop over an explicit stack of the open containers, not recursion: nesting is
 * client-controlled.
 */
export function skipValue(f: Uint8Array, i: number, depth: number): number {
  let top = 0; // containers open
  let kind = 0; // the innermost one's (0: none)
  let left = 0; // its items or pairs still to come
  for (;;) {
    const c = f[i];
    if (c === undefined) return -1;
    let keyStart = -1;
    if (kind === MAP_KEY) {
      // Keys must be strings: fixstr, str 8, str 16 or str 32.
      if (!((c >= 0xa0 && c < 0xc0) || (c >= 0xd9 && c <= 0xdb))) return -1;
      keyStart = i + (c < 0xc0 ? 1 : c === 0xd9 ? 2 : c === 0xda ? 3 : 5);
    }
    // A container's header: its item (array) or pair (map) count, and where they start.
    let isMap = 0;
    let items = -1;
    let end: number;
    if (c < 0x80 || c >= 0xe0) end = i + 1; // fixint
    else if (c < 0x90) {
      isMap = 1;
      items = c & 0x0f;
      end = i + 1;
    } else if (c < 0xa0) {
      items = c & 0x0f;
      end = i + 1;
    }
    else if (c < 0xc0) end = skipString(f, i + 1, c & 0x1f);
    else {
      switch (c) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          end = i + 1;
          break;
        case 0xc4: // bin 8
          end = within(f, i + 2, f[i + 1]);
          break;
        case 0xc5:
          end = within(f, i + 3, u16(f, i + 1));
          break;
        case 0xc6:
          end = within(f, i + 5, u32(f, i + 1));
          break;
        case 0xcc: // uint 8, int 8
        case 0xd0:
          end = within(f, i + 2, 0);
          break;
        case 0xcd:
        case 0xd1:
          end = within(f, i + 3, 0);
          break;
        case 0xca: // float 32
        case 0xce:
        case 0xd2:
          end = within(f, i + 5, 0);
          break;
        case 0xcb: // float 64
        case 0xcf:
        case 0xd3:
          end = within(f, i + 9, 0);
          break;
        case 0xd9: // str 8
          end = f.length > i + 1 ? skipString(f, i + 2, f[i + 1] as number) : -1;
          break;
        case 0xda:
          end = f.length > i + 2 ? skipString(f, i + 3, u16(f, i + 1)) : -1;
          break;
        case 0xdb:
          end = f.length > i + 4 ? skipString(f, i + 5, u32(f, i + 1)) : -1;
          break;
        case 0xdc: // array 16
          if (f.length <= i + 2) return -1;
          items = u16(f, i + 1);
          end = i + 3;
          break;
        case 0xdd:
          if (f.length <= i + 4) return -1;
          items = u32(f, i + 1);
          end = i + 5;
          break;
        case 0xde: // map 16
          if (f.length <= i + 2) return -1;
          isMap = 1;
          items = u16(f, i + 1);
          end = i + 3;
          break;
        case 0xdf:
          if (f.length <= i + 4) return -1;
          isMap = 1;
          items = u32(f, i + 1);
          end = i + 5;
          break;
        default: // 0xc1 and the extension types
          return -1;
      }
    }
    if (end < 0) return -1;
    if (keyStart >= 0 && end - keyStart === PROTO.length && PROTO.equals(f.subarray(keyStart, end))) return -1;
    i = end;
    if (items >= 0) {
      if (depth + top >= maxDepth) return -1;
      if (items > 0) {
        if (top > 0) {
          openKinds[top - 1] = kind;
          openLeft[top - 1] = left;
        }
        top++;
        kind = isMap === 1 ? MAP_KEY : ARRAY;
        left = items;
        continue;
      }
    }
    // A value ended at i: count it off its container, and a full container off its own (and so on up).
    for (;;) {
      if (top === 0) return i;
      if (kind === MAP_KEY) {
        kind = MAP_VALUE;
        break;
      }
      if (--left > 0) {
        if (kind === MAP_VALUE) kind = MAP_KEY;
        break;
      }
      if (--top > 0) {
        kind = openKinds[top - 1] as number;
        left = openLeft[top - 1] as number;
      }
    }
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

const PROTO = Buffer.from('__proto__');

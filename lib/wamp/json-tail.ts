// Where the arguments are in a received frame. A message's Arguments and ArgumentsKw are its last
// elements, so the bytes from the first of them on are the arguments exactly as the sender encoded
// them. A router that sends them on to a peer of the same serializer can
// copy those bytes instead of re-encoding the values (what most of an EVENT or RESULT costs).
//
// The frame has already been decoded (and so validated) as a whole; the scanner only finds
// boundaries. It still checks bounds, and refuses (undefined) what a receiver could choke on that
// decoding let through: invalid UTF-8 (decoded with replacement characters). The JSON serializer
// refuses more before asking (binary values, infinite numbers: see serializers.ts). What does pass
// through as written: spacing, escapes, number spelling, duplicate keys (a receiver's parser picks
// one, as ours did), integers beyond 2^53 (exact for JSON peers, rounded for the others).
//
// JSON only: MessagePack's encoder is fast enough that cutting out and checking the arguments (their
// strings must be valid UTF-8 too) cost more than encoding them again, measured on payloads from
// 60 bytes to 4 KiB; for JSON the copy wins from the smallest EVENT (1.19 -> 1.11 us per decode and
// encode) and by 1.7-2.4x on a 20-key dictionary, a 4 KiB string or 100 numbers.
import { isUtf8 } from 'node:buffer';

const isSpace = (b: number | undefined): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

function skipSpace(f: Uint8Array, i: number): number {
  while (i < f.length && isSpace(f[i])) i++;
  return i;
}

/** The last non-space position at or before `i` (not before `floor`). */
function skipSpaceBack(f: Uint8Array, i: number, floor: number): number {
  while (i > floor && isSpace(f[i])) i--;
  return i;
}

/** End of the JSON value starting at `i`, or -1. */
function skipJsonValue(f: Uint8Array, i: number): number {
  const n = f.length;
  const c = f[i];
  if (c === 0x22) {
    for (i++; i < n; i++) {
      const d = f[i];
      if (d === 0x5c) i++;
      else if (d === 0x22) return i + 1;
    }
    return -1;
  }
  if (c === 0x5b || c === 0x7b) {
    let depth = 0;
    while (i < n) {
      const d = f[i];
      if (d === 0x22) {
        i = skipJsonValue(f, i);
        if (i < 0) return -1;
        continue;
      }
      if (d === 0x5b || d === 0x7b) depth++;
      else if ((d === 0x5d || d === 0x7d) && --depth === 0) return i + 1;
      i++;
    }
    return -1;
  }
  // number, true, false, null
  while (i < n) {
    const d = f[i];
    if (d === 0x2c || d === 0x5d || d === 0x7d || isSpace(d)) break;
    i++;
  }
  return i;
}

/** The JSON text of `count` elements from `index` of the array in `frame` (the last ones, or only the first). */
export function jsonTail(frame: Buffer, index: number, count: number): Buffer | undefined {
  let i = skipSpace(frame, 0);
  if (frame[i] !== 0x5b) return undefined;
  i++;
  for (let k = 0; k < index; k++) {
    i = skipJsonValue(frame, skipSpace(frame, i));
    if (i < 0) return undefined;
    i = skipSpace(frame, i);
    if (frame[i] !== 0x2c) return undefined;
    i++;
  }
  const start = skipSpace(frame, i);
  // Found from the end, without walking the arguments: the closing bracket, and before it (when
  // only Arguments are wanted but an ArgumentsKw follows) that dictionary, which is then empty.
  // Arguments is a list, so a last element ending in '}' is the dictionary.
  const bracket = skipSpaceBack(frame, frame.length - 1, start);
  if (frame[bracket] !== 0x5d || bracket <= start) return undefined;
  let end = skipSpaceBack(frame, bracket - 1, start) + 1;
  if (count === 1 && frame[end - 1] === 0x7d) {
    const open = skipSpaceBack(frame, end - 2, start);
    const comma = skipSpaceBack(frame, open - 1, start);
    if (frame[open] !== 0x7b || frame[comma] !== 0x2c) return undefined;
    end = skipSpaceBack(frame, comma - 1, start) + 1;
  }
  if (end <= start) return undefined;
  const tail = frame.subarray(start, end);
  if (!isUtf8(tail)) return undefined;
  // A frame is often a view into a 64 KiB socket read; a payload kept for long (a retained event,
  // a queued MQTT message) must not hold all of that.
  return tail.length * 2 < tail.buffer.byteLength ? Buffer.from(tail) : tail;
}

// A check of a whole MessagePack frame before msgpackr decodes it (the frames msgpack-frame.ts does
// not take): one pass in a loop with an explicit stack, building nothing. Even with records,
// structured clone and bundled strings switched off, msgpackr's decoder still takes record
// definitions (after which small integers decode as objects), bundled strings, Sets, typed arrays,
// Error and RegExp objects, BigInts of any size and `undefined` from extensions. What passes here:
// - nil, booleans, integers, floats, strings, binary, arrays and maps;
// - the timestamp extension (type -1, 4, 8 or 12 bytes), which becomes a Date as before, and
//   msgpackr's `undefined` (fixext 1 of type 0, which msgpackr's default packer writes, e.g. wampy's);
// - containers nested at most maxDepth deep, every length within the frame, nothing after the value.
// Anything else throws a WireError.
import { u16, u32 } from './msgpack-scan.ts';
import { WireError, maxDepth, tooDeepError, unsupportedError } from './wire-values.ts';

/** Items left in each open container (a map's count is doubled). */
let left = new Float64Array(64);

const TIMESTAMP = 0xff;

function truncated(): never {
  throw new WireError('invalid msgpack: truncated or malformed frame');
}

/** Throws a WireError unless `f` holds exactly one MessagePack value that passes (see the file comment). */
export function checkMsgpack(f: Uint8Array): void {
  if (left.length < maxDepth) left = new Float64Array(maxDepth);
  const end = f.length;
  let depth = 0;
  let i = 0;
  for (;;) {
    if (i >= end) truncated();
    const c = f[i] as number;
    let items = -1; // set for a container
    if (c < 0x80 || c >= 0xe0) i += 1; // fixint
    else if (c < 0x90) (items = (c & 0x0f) * 2), (i += 1);
    else if (c < 0xa0) (items = c & 0x0f), (i += 1);
    else if (c < 0xc0) i += 1 + (c & 0x1f);
    else {
      switch (c) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          i += 1;
          break;
        case 0xc4: // bin 8, str 8
        case 0xd9:
          if (i + 2 > end) truncated();
          i += 2 + (f[i + 1] as number);
          break;
        case 0xc5:
        case 0xda:
          if (i + 3 > end) truncated();
          i += 3 + u16(f, i + 1);
          break;
        case 0xc6:
        case 0xdb:
          if (i + 5 > end) truncated();
          i += 5 + u32(f, i + 1);
          break;
        case 0xcc:
        case 0xd0:
          i += 2;
          break;
        case 0xcd:
        case 0xd1:
          i += 3;
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          i += 5;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          i += 9;
          break;
        case 0xdc: // array 16, 32
          if (i + 3 > end) truncated();
          items = u16(f, i + 1);
          i += 3;
          break;
        case 0xdd:
          if (i + 5 > end) truncated();
          items = u32(f, i + 1);
          i += 5;
          break;
        case 0xde: // map 16, 32
          if (i + 3 > end) truncated();
          items = u16(f, i + 1) * 2;
          i += 3;
          break;
        case 0xdf:
          if (i + 5 > end) truncated();
          items = u32(f, i + 1) * 2;
          i += 5;
          break;
        case 0xd4:
          if (f[i + 1] !== 0 || f[i + 2] !== 0) throw unsupportedError(`MessagePack extension type ${f[i + 1] ?? '?'}`);
          i += 3;
          break;
        case 0xd6: // fixext 4, fixext 8, ext 8 with 12 bytes: the timestamp's three forms
          i = timestamp(f, i + 1, 4);
          break;
        case 0xd7:
          i = timestamp(f, i + 1, 8);
          break;
        case 0xc7:
          if (f[i + 1] !== 12) throw unsupportedError(`MessagePack extension type ${f[i + 2] ?? '?'}`);
          i = timestamp(f, i + 2, 12);
          break;
        default: // 0xc1, the other extension forms (fixext 2, 16, ext 16, 32)
          throw unsupportedError(c === 0xc1 ? 'MessagePack byte 0xc1' : `MessagePack extension type ${f[i + (c >= 0xd4 ? 1 : c === 0xc8 ? 3 : 5)] ?? '?'}`);
      }
    }
    if (i > end) truncated();
    if (items >= 0) {
      if (depth >= maxDepth) throw tooDeepError();
      // each item takes at least one byte: no promise of more items than bytes left
      if (items > end - i) truncated();
      if (items > 0) {
        left[depth++] = items;
        continue;
      }
    }
    // One value done: close every container it completes.
    for (;;) {
      if (depth === 0) {
        if (i !== end) throw new WireError('invalid msgpack: bytes after the message');
        return;
      }
      const n = left[depth - 1] as number;
      if (n > 1) {
        left[depth - 1] = n - 1;
        break;
      }
      depth--;
    }
  }
}

/** The end of a timestamp extension whose type byte is at `i` and data `length` bytes long. */
function timestamp(f: Uint8Array, i: number, length: number): number {
  if (f[i] !== TIMESTAMP) throw unsupportedError(`MessagePack extension type ${f[i] ?? '?'}`);
  return i + 1 + length;
}

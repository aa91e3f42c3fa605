// A check of a whole CBOR frame before cbor-x decodes it: one pass over the bytes, in a loop with an
// explicit stack (no recursion), that builds nothing. cbor-x accepts far more than WAMP values: value
// sharing (tags 28/29, which turn a 154-byte frame into a structure whose tree walk doubles per
// level), packed values and record definitions, Sets, Maps, typed arrays, Error and RegExp objects,
// and lengths it would allocate before reading. What passes here is plain data:
// - integers, floats, byte and text strings (definite length: cbor-x has no indefinite strings),
//   arrays and maps (also indefinite-length), false, true, null, undefined;
// - tags 0 (date string) and 1 (epoch date) become Dates as before; 2/3 (bignums) only up to 16 bytes
//   (cbor-x builds a BigInt byte by byte, quadratic in the length); 64 (a Uint8Array) on a byte
//   string; 55799 (self-described CBOR) on anything;
// - containers nest at most maxDepth deep, and every length fits in what is left of the frame.
// Everything else, e.g. simple values other than those four (cbor-x reads them as packed-value
// references), throws a WireError.
import { WireError, maxDepth, tooDeepError, unsupportedError } from './wire-values.ts';

/** Items left in each open container (a map's count is doubled); -1 for an indefinite-length one. */
let left = new Float64Array(64);

const BREAK = 0xff;
/** Longest bignum accepted: 2^128 is far past what a Number (which it becomes) holds exactly. */
const MAX_BIGNUM_BYTES = 16;

function truncated(): never {
  throw new WireError('invalid cbor: truncated or malformed frame');
}

/** Throws a WireError unless `f` holds exactly one CBOR item that passes (see the file comment). */
export function checkCbor(f: Uint8Array): void {
  if (left.length < maxDepth) left = new Float64Array(maxDepth);
  const end = f.length;
  let depth = 0; // open containers
  let i = 0;
  /** The tag just read, if the next item is its content; -1 otherwise. */
  let tag = -1;
  for (;;) {
    if (i >= end) truncated();
    const head = f[i] as number;
    if (head === BREAK) {
      if (tag >= 0 || depth === 0 || left[depth - 1] !== -1) truncated();
      i++;
      depth--;
    } else {
      const major = head >> 5;
      const info = head & 0x1f;
      i++;
      // The argument: a count, a length or a value.
      let arg = info;
      if (info >= 24 && info <= 27) {
        const n = 1 << (info - 24);
        if (i + n > end) truncated();
        arg = 0;
        for (let k = 0; k < n; k++) arg = arg * 256 + (f[i + k] as number);
        if (major !== 7) i += n;
      } else if (info >= 28 && (info !== 31 || (major !== 4 && major !== 5))) {
        truncated(); // reserved, or an indefinite length cbor-x does not take
      }
      if (tag >= 0) {
        checkTagContent(tag, major, info, arg);
        tag = -1;
      }
      switch (major) {
        case 0:
        case 1:
          break;
        case 2:
        case 3:
          if (arg > end - i) truncated();
          i += arg;
          break;
        case 4:
        case 5:
          if (depth >= maxDepth) throw tooDeepError();
          if (info === 31) left[depth++] = -1;
          else {
            const items = major === 5 ? arg * 2 : arg;
            // each item takes at least one byte: no promise of more items than bytes left
            if (items > end - i) truncated();
            if (items > 0) left[depth++] = items;
            else break;
          }
          continue; // the container's first item, or its break, comes next
        case 6:
          if (arg !== 0 && arg !== 1 && arg !== 2 && arg !== 3 && arg !== 64 && arg !== 55799) throw unsupportedError(`CBOR tag ${arg}`);
          tag = arg;
          continue;
        default: // 7
          if (info === 25 || info === 26 || info === 27) i += 1 << (info - 24);
          else if (info < 20 || info > 23) throw unsupportedError(`CBOR simple value ${info === 24 ? arg : info}`);
      }
    }
    // One item done: close every container it completes.
    for (;;) {
      if (depth === 0) {
        if (i !== end) throw new WireError('invalid cbor: bytes after the message');
        return;
      }
      const n = left[depth - 1] as number;
      if (n === -1) break;
      if (n > 1) {
        left[depth - 1] = n - 1;
        break;
      }
      depth--;
    }
  }
}

/** Refuses a tag whose content is not what the tag is for. */
function checkTagContent(tag: number, major: number, info: number, arg: number): void {
  const ok =
    tag === 55799 ||
    (tag === 0 && major === 3) ||
    (tag === 1 && (major === 0 || major === 1 || (major === 7 && info >= 25 && info <= 27))) ||
    ((tag === 2 || tag === 3) && major === 2 && info !== 31 && arg <= MAX_BIGNUM_BYTES) ||
    (tag === 64 && major === 2);
  if (!ok) throw unsupportedError(`content of CBOR tag ${tag}`);
}

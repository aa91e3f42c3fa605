// A JSON validator over bytes that builds nothing: it finds where a value ends, and accepts exactly
// what JSON.parse accepts (RFC 8259; V8 adds nothing and also takes lone surrogate escapes), with
// our nesting limit on top. The router uses it to check a message's arguments without decoding
// them (see json-frame.ts).
//
// Bytes of 0x80 and above are taken as they are: the text JSON.parse sees is their UTF-8 decoding,
// where invalid sequences become U+FFFD and never swallow the ASCII structure around them.
import { maxDepth, NESTING_DEPTH_CEILING } from './wire-values.ts';

/**
 * True if `text` opens more than maxDepth lists and objects at once (strings skipped). Run before a
 * full JSON.parse, which would otherwise build all of a 16 MiB "[[[[…" before the depth check
 * refuses it. Malformed text may get either answer: JSON.parse judges it.
 */
export function nestsTooDeep(text: string): boolean {
  const limit = maxDepth;
  const n = text.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** What the last scans met that a plain pass-through must not ignore. Reset by the caller. */
export const seen = {
  /** A "\u0000" escape: WAMP's marker of a binary value (a string starting with NUL). */
  nul: false,
  /** A number that may be beyond the float64 range (JSON.parse makes it infinite). */
  huge: false,
  /** Any backslash escape in a string. */
  escape: false,
  /** An integer literal of more than 15 digits, which may be beyond 2^53 (JSON.parse would round it). */
  longInteger: false,
};

// Byte classes as tables: the tight loops below measured 1.3-1.5x faster on a 2 KiB payload than with
// comparisons (an index past the end reads undefined, which is in no class).
const DIGIT = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) DIGIT[c] = 1;
/** Bytes that may stand for themselves inside a string: not '"', '\\' or a control character. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 256; c++) PLAIN[c] = c === 0x22 || c === 0x5c ? 0 : 1;

const isDigit = (c: number | undefined): boolean => DIGIT[c as number] === 1;

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/** The first position at or after `i` that is not JSON whitespace. */
export function skipSpace(f: Uint8Array, i: number): number {
  for (;;) {
    const c = f[i];
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/**
 * What each container enclosing the innermost open one is (scanValue is synchronous, so one stack
 * serves every call).
 */
const openKinds = new Uint8Array(NESTING_DEPTH_CEILING + 1);
const ARRAY = 1;
const OBJECT = 2;

/**
 * End of the JSON value at `i` (no leading space), or -1 if there is none there. `depth` is that of
 * a container starting at `i`; containers at maxDepth or deeper are refused. A loop over an
 * explicit stack of the open containers, not recursion: nesting is client-controlled.
 */
export function scanValue(f: Uint8Array, i: number, depth: number): number {
  let top = 0; // containers open
  let kind = 0; // the innermost one's (0: none)
  for (;;) {
    // A value starts at i: the whole value, or a container's first member, or its end if empty.
    const c = f[i];
    if (c === 0x5b || c === 0x7b) {
      if (depth + top >= maxDepth) return -1;
      i = skipSpace(f, i + 1);
      if (f[i] !== (c === 0x5b ? 0x5d : 0x7d)) {
        if (top > 0) openKinds[top - 1] = kind;
        top++;
        kind = c === 0x5b ? ARRAY : OBJECT;
        if (kind === OBJECT && (i = scanKey(f, i)) < 0) return -1;
        continue;
      }
      i++; // empty
    } else if ((i = scanScalar(f, i, c)) < 0) {
      return -1;
    }
    // A value ended at i: the next member of its container, or the container's end (and so on up).
    for (;;) {
      if (top === 0) return i;
      i = skipSpace(f, i);
      const d = f[i];
      if (d === 0x2c) {
        i = skipSpace(f, i + 1);
        if (kind === OBJECT && (i = scanKey(f, i)) < 0) return -1;
        break;
      }
      if (d !== (kind === ARRAY ? 0x5d : 0x7d)) return -1;
      i++;
      if (--top > 0) kind = openKinds[top - 1] as number;
    }
  }
}

/** A string, number, true, false or null at `i` (its first byte `c`): its end, or -1. */
function scanScalar(f: Uint8Array, i: number, c: number | undefined): number {
  if (c === 0x22) return scanString(f, i + 1);
  if (c === 0x74) return f[i + 1] === 0x72 && f[i + 2] === 0x75 && f[i + 3] === 0x65 ? i + 4 : -1; // true
  if (c === 0x66) return f[i + 1] === 0x61 && f[i + 2] === 0x6c && f[i + 3] === 0x73 && f[i + 4] === 0x65 ? i + 5 : -1; // false
  if (c === 0x6e) return f[i + 1] === 0x75 && f[i + 2] === 0x6c && f[i + 3] === 0x6c ? i + 4 : -1; // null
  return scanNumber(f, i);
}

/** An object member's key and colon at `i`: where its value starts (spaces skipped), or -1. */
function scanKey(f: Uint8Array, i: number): number {
  if (f[i] !== 0x22) return -1;
  i = scanString(f, i + 1);
  if (i < 0) return -1;
  i = skipSpace(f, i);
  if (f[i] !== 0x3a) return -1;
  return skipSpace(f, i + 1);
}

/** `i` is just after the opening quote. */
function scanString(f: Uint8Array, i: number): number {
  for (;;) {
    while (PLAIN[f[i] as number] === 1) i++;
    const c = f[i];
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      seen.escape = true;
      const e = f[i + 1];
      if (e === 0x75) {
        if (!isHex(f[i + 2]) || !isHex(f[i + 3]) || !isHex(f[i + 4]) || !isHex(f[i + 5])) return -1;
        if (f[i + 2] === 0x30 && f[i + 3] === 0x30 && f[i + 4] === 0x30 && f[i + 5] === 0x30) seen.nul = true;
        i += 6;
      } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2;
      } else {
        return -1;
      }
    } else {
      return -1; // a control character, or the end of the frame
    }
  }
}

/** Integer literals of up to this many digits are below 2^53. */
const SAFE_DIGITS = 15;

// Doubles overflow only past about 1.8e308: without an exponent that takes more than 300 digits.
const SURELY_FINITE_DIGITS = 300;

function scanNumber(f: Uint8Array, i: number): number {
  const start = i;
  if (f[i] === 0x2d) i++;
  const lead = f[i];
  const digitsStart = i;
  if (lead === 0x30) i++;
  else if (lead !== undefined && lead >= 0x31 && lead <= 0x39) while (isDigit(f[++i]));
  else return -1;
  if (i - digitsStart > SAFE_DIGITS && f[i] !== 0x2e && f[i] !== 0x65 && f[i] !== 0x45) seen.longInteger = true;
  if (f[i] === 0x2e) {
    if (!isDigit(f[++i])) return -1;
    while (isDigit(f[++i]));
  }
  let exponent = false;
  if (f[i] === 0x65 || f[i] === 0x45) {
    exponent = true;
    i++;
    if (f[i] === 0x2b || f[i] === 0x2d) i++;
    if (!isDigit(f[i])) return -1;
    while (isDigit(f[++i]));
  }
  if ((exponent || i - start > SURELY_FINITE_DIGITS) && !Number.isFinite(Number(Buffer.from(f.buffer, f.byteOffset + start, i - start).toString('latin1')))) {
    seen.huge = true;
  }
  return i;
}

// JSON text ⇄ values with integers kept exact. JSON.parse turns an integer literal beyond 2^53 into
// the nearest double (1558266424841951553 becomes 1558266424841951500) and JSON.stringify throws on
// a BigInt. The router keeps such integers as BigInt, within the 64-bit range that MessagePack and
// CBOR integers carry, so every serializer and MQTT pass them on unchanged.
//
// The functions here are the slow paths: callers use JSON.parse / JSON.stringify first and come
// here only when a value needs it (a literal of 16 digits or more, a BigInt in the tree).
import type { Dict } from './dict.ts';

const TWO_53 = 2n ** 53n;
const MIN_INT64 = -(2n ** 63n);
const MAX_UINT64 = 2n ** 64n - 1n;

/**
 * An integer as the router keeps it: a Number up to ±2^53 (ids, counts, everything ordinary), a
 * BigInt beyond that as far as -2^63 .. 2^64 - 1, and past that range a Number again (rounded, as
 * no binary serializer could carry it as an integer).
 */
export function exactInteger(n: bigint): number | bigint {
  return (n > TWO_53 && n <= MAX_UINT64) || (n < -TWO_53 && n >= MIN_INT64) ? n : Number(n);
}

/** Integer literals of up to this many digits are below 2^53 (9007199254740992 has 16). */
const SAFE_DIGITS = 15;
/** 2^64 - 1 has 20 digits: longer literals are past the range anyway (and BigInt() of them costs). */
const MAX_DIGITS = 20;

/**
 * True if `text` may hold an integer literal beyond 2^53: it has a run of more than SAFE_DIGITS
 * digits (strings are not skipped). Every such run covers one of the positions probed, 16 apart,
 * so a text without digits costs a sixteenth of a pass.
 */
export function mayHoldBigInteger(text: string): boolean {
  const n = text.length;
  const run = SAFE_DIGITS + 1;
  for (let i = SAFE_DIGITS; i < n; i += run) {
    if (!isDigit(text.charCodeAt(i))) continue;
    let start = i;
    while (start > 0 && isDigit(text.charCodeAt(start - 1))) start--;
    let end = i + 1;
    while (end - start < run && isDigit(text.charCodeAt(end))) end++;
    if (end - start >= run) return true;
  }
  return false;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** JSON.parse, with integers beyond 2^53 exact (see exactInteger). Throws what JSON.parse throws. */
export function parseJson(text: string): unknown {
  const v: unknown = JSON.parse(text);
  return mayHoldBigInteger(text) ? parseJsonExact(text) : v;
}

// The readers below return a value and leave in `pos` where it ended.
let pos = 0;
/** Set by stringEnd: the string holds a backslash escape. */
let escaped = false;

function syntaxError(text: string, i: number): never {
  throw new SyntaxError(`unexpected ${i < text.length ? JSON.stringify(text[i]) : 'end'} at position ${i} of JSON text`);
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/** End of the string literal whose opening quote is at `i`; sets `escaped` if it holds a backslash. */
function stringEnd(text: string, i: number): number {
  escaped = false;
  for (i++; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      escaped = true;
      i++;
    }
  }
  return syntaxError(text, i);
}

function readString(text: string, i: number): string {
  const end = stringEnd(text, i);
  // JSON.parse decodes escapes exactly as it would in place (lone surrogates included).
  const s = escaped ? (JSON.parse(text.slice(i, end)) as string) : text.slice(i + 1, end - 1);
  pos = end;
  return s;
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

function readNumber(text: string, i: number): number | bigint {
  let end = i;
  let integer = true;
  for (let c = text.charCodeAt(end); isNumberChar(c); c = text.charCodeAt(++end)) {
    if (c === 0x2e || c === 0x65 || c === 0x45) integer = false;
  }
  if (end === i) syntaxError(text, i);
  pos = end;
  const literal = text.slice(i, end);
  const digits = end - i - (text.charCodeAt(i) === 0x2d ? 1 : 0);
  const n = integer && digits > SAFE_DIGITS && digits <= MAX_DIGITS ? exactInteger(BigInt(literal)) : Number(literal);
  if (typeof n === 'number' && Number.isNaN(n)) syntaxError(text, i);
  return n;
}

/** Sets o[key] as JSON.parse would: "__proto__" becomes an own property, not the prototype. */
function setKey(o: Dict, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  else o[key] = value;
}

/**
 * JSON.parse with integer literals beyond 2^53 as exactInteger gives them. For text that JSON.parse
 * accepts (callers have checked it); other text throws a SyntaxError. A loop with an explicit stack:
 * the text's nesting is not limited here.
 */
export function parseJsonExact(text: string): unknown {
  /** Open containers, innermost last, and for each open object the key whose value comes next. */
  const open: (unknown[] | Dict)[] = [];
  const keys: string[] = [];
  let i = skipSpace(text, 0);
  for (;;) {
    // A value starts at i.
    let value: unknown;
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      const isArray = c === 0x5b;
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) === (isArray ? 0x5d : 0x7d)) {
        value = isArray ? [] : {};
        pos = i + 1;
      } else {
        open.push(isArray ? [] : {});
        if (!isArray) i = readKey(text, i, keys);
        continue;
      }
    } else if (c === 0x22) value = readString(text, i);
    else if (text.startsWith('true', i)) (value = true), (pos = i + 4);
    else if (text.startsWith('false', i)) (value = false), (pos = i + 5);
    else if (text.startsWith('null', i)) (value = null), (pos = i + 4);
    else value = readNumber(text, i);
    i = pos;
    // Put the value in its container; close every container it completes.
    for (;;) {
      const top = open[open.length - 1];
      if (top === undefined) {
        i = skipSpace(text, i);
        if (i !== text.length) syntaxError(text, i);
        return value;
      }
      const isArray = Array.isArray(top);
      if (isArray) top.push(value);
      else setKey(top, keys.pop() as string, value);
      i = skipSpace(text, i);
      const d = text.charCodeAt(i);
      if (d === 0x2c) {
        i = skipSpace(text, i + 1);
        if (!isArray) i = readKey(text, i, keys);
        break;
      }
      if (d !== (isArray ? 0x5d : 0x7d)) syntaxError(text, i);
      i++;
      value = open.pop();
    }
  }
}

/** Reads `"key" :` at `i` onto `keys`; returns where the value starts. */
function readKey(text: string, i: number, keys: string[]): number {
  if (text.charCodeAt(i) !== 0x22) syntaxError(text, i);
  keys.push(readString(text, i));
  i = skipSpace(text, pos);
  if (text.charCodeAt(i) !== 0x3a) syntaxError(text, i);
  return skipSpace(text, i + 1);
}

/** JSON.stringify, writing BigInt as its bare integer literal (and binary as stringifyJsonExact does). */
export function stringifyJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    // JSON.stringify cannot write a BigInt; stringifyJsonExact throws again on anything else (a cycle).
    return stringifyJsonExact(value);
  }
}

function binaryString(v: Uint8Array): string {
  return '\u0000' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

/** What JSON.stringify writes for `v` once toJSON and binary are applied: the value to walk, or undefined to leave out. */
function jsonValue(v: unknown, key: string): unknown {
  if (v instanceof Uint8Array) return binaryString(v);
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(k: string): unknown }).toJSON(key);
  if (v instanceof Number || v instanceof String || v instanceof Boolean) return v.valueOf();
  return typeof v === 'function' || typeof v === 'symbol' ? undefined : v;
}

interface Frame {
  container: unknown[] | Dict;
  /** Object keys; undefined for an array. */
  keys: string[] | undefined;
  next: number;
  written: number;
}

/**
 * JSON.stringify for a tree that holds BigInts: each is written as its integer literal. Binary
 * values become WAMP's "\u0000" + base64 strings. A loop with an explicit stack; a cycle throws a
 * TypeError as JSON.stringify's does.
 */
export function stringifyJsonExact(root: unknown): string | undefined {
  const stack: Frame[] = [];
  const onStack = new Set<object>();
  let out = '';
  /** Writes a leaf, or opens a container (pushed on the stack). */
  const emit = (v: unknown): void => {
    if (typeof v === 'bigint') out += v.toString();
    else if (v !== null && typeof v === 'object') {
      if (onStack.has(v)) throw new TypeError('Converting circular structure to JSON');
      onStack.add(v);
      const isArray = Array.isArray(v);
      stack.push({ container: v as Dict, keys: isArray ? undefined : Object.keys(v), next: 0, written: 0 });
      out += isArray ? '[' : '{';
    } else out += JSON.stringify(v);
  };
  const first = jsonValue(root, '');
  if (first === undefined) return undefined;
  emit(first);
  for (let top = stack[stack.length - 1]; top !== undefined; top = stack[stack.length - 1]) {
    const { container, keys } = top;
    if (keys === undefined) {
      const a = container as unknown[];
      if (top.next < a.length) {
        const k = top.next++;
        if (k > 0) out += ',';
        const v = jsonValue(a[k], String(k));
        if (v === undefined) out += 'null';
        else emit(v);
        continue;
      }
      out += ']';
    } else {
      if (top.next < keys.length) {
        const k = keys[top.next++] as string;
        const v = jsonValue((container as Dict)[k], k);
        if (v === undefined) continue;
        if (top.written++ > 0) out += ',';
        out += JSON.stringify(k) + ':';
        emit(v);
        continue;
      }
      out += '}';
    }
    onStack.delete(container);
    stack.pop();
  }
  return out;
}

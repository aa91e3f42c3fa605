// Decoding a JSON PUBLISH, CALL, YIELD or ERROR without decoding its arguments. The router reads
// only a message's head (type, ids, options, URI); the Arguments and ArgumentsKw are checked with the
// scanner of json-scan.ts and kept as the sender's text, which a JSON receiver gets copied into its
// EVENT, INVOCATION or RESULT. Their values are built only if someone asks: a peer of another
// serializer, an in-process client, an MQTT subscriber. Decoding a PUBLISH and encoding its EVENT
// measured 1.28 -> 0.85 us for 82 bytes and 14.1 -> 7.5 us for 2 KiB, where JSON.parse had been
// more than half of the router's work.
//
// Anything unusual returns undefined, and the caller decodes the whole frame as before: so the
// result, and every error, is what JSON.parse would give. That covers frames with binary values
// ("\u0000" + base64: a sender's sloppy base64 must reach strict receivers canonical) or numbers
// beyond float64 (strict parsers reject them; encoding again writes null), arguments of the wrong
// type (the handler reports it), and arguments that are not valid UTF-8 (receivers get them
// re-encoded, with replacement characters, rather than bytes they could choke on).
//
// What does pass through as written: spacing, escapes, number spelling, duplicate keys (a receiver's
// parser picks one, as ours would), integers beyond 2^53. Where the scanner saw an integer literal
// long enough to be one, the values are decoded exactly (BigInt), so other peers get it unchanged too.
import { parseJsonExact, stringifyJson } from '../core/json-exact.ts';
import type { Dict } from '../core/types.ts';
import { ARGS_INDEX, DeferredArgs, isEmptyDict, isId } from './deferred-args.ts';
import { headString } from './head-strings.ts';
import { scanValue, seen, skipSpace } from './json-scan.ts';
import { prepareJson } from './wire-values.ts';

/** Arguments (and ArgumentsKw) of a decoded JSON message, still encoded: see the file comment. */
export class JsonArgs extends DeferredArgs {
  constructor(
    readonly format: string,
    /** The Arguments list, then the ArgumentsKw dictionary if it is not empty: never both empty. */
    readonly text: string,
    readonly byteLength: number,
    /** The text holds an integer literal that JSON.parse may round. */
    readonly longInteger: boolean,
  ) {
    super();
  }

  decode(): { args: unknown[] | undefined; kwargs: Dict | undefined } {
    const text = `[${this.text}]`;
    const [args, kwargs] = (this.longInteger ? parseJsonExact(text) : JSON.parse(text)) as [unknown[], Dict | undefined];
    return { args: args.length > 0 ? args : undefined, kwargs };
  }

  protected frameAfter(head: unknown[]): Buffer {
    return encodeWithArgs(head, this);
  }
}

/**
 * The message in `frame` with a JsonArgs in place of its Arguments and ArgumentsKw (the same
 * object at both indexes), or with no deferral when they are empty; undefined when the frame is
 * not a plain one of the four types (see the file comment).
 */
export function decodeDeferringArgs(frame: Buffer, format: string): unknown[] | undefined {
  let i = skipSpace(frame, 0);
  if (frame[i] !== 0x5b) return undefined;
  i = skipSpace(frame, i + 1);
  const type = smallInteger(frame, i);
  const headLength = ARGS_INDEX[type];
  if (headLength === undefined) return undefined;
  i += type < 10 ? 1 : 2;
  seen.nul = false;
  seen.huge = false;
  const msg: unknown[] = [type];
  for (let k = 1; k < headLength; k++) {
    i = skipSpace(frame, i);
    if (frame[i] !== 0x2c) return undefined;
    const start = skipSpace(frame, i + 1);
    seen.escape = false;
    seen.longInteger = false;
    i = scanValue(frame, start, 1);
    if (i < 0) return undefined;
    // An id beyond 2^53 stays a BigInt, which the handler refuses as it should.
    msg.push(seen.longInteger ? parseJsonExact(frame.toString('utf8', start, i)) : headValue(frame, start, i));
  }
  seen.longInteger = false;
  i = skipSpace(frame, i);
  let argsStart = -1;
  let argsEnd = -1;
  let kwStart = -1;
  let kwEnd = -1;
  if (frame[i] === 0x2c) {
    argsStart = skipSpace(frame, i + 1);
    if (frame[argsStart] !== 0x5b) return undefined;
    argsEnd = scanValue(frame, argsStart, 1);
    if (argsEnd < 0) return undefined;
    i = skipSpace(frame, argsEnd);
    if (frame[i] === 0x2c) {
      kwStart = skipSpace(frame, i + 1);
      if (frame[kwStart] !== 0x7b) return undefined;
      kwEnd = scanValue(frame, kwStart, 1);
      if (kwEnd < 0) return undefined;
      i = skipSpace(frame, kwEnd);
    }
  }
  if (frame[i] !== 0x5d || skipSpace(frame, i + 1) !== frame.length || seen.nul || seen.huge) return undefined;
  if (argsStart < 0) return msg;
  const argsEmpty = frame[skipSpace(frame, argsStart + 1)] === 0x5d;
  const kwEmpty = kwStart < 0 || frame[skipSpace(frame, kwStart + 1)] === 0x7d;
  if (argsEmpty && kwEmpty) {
    msg.push([]);
    if (kwStart >= 0) msg.push({});
    return msg;
  }
  // Kept as a string: it owns its memory (a frame is often a view into a 64 KiB socket read that a
  // retained event must not pin), and decoding checks the UTF-8 on the way. A replacement character
  // means invalid UTF-8, or rarely a real U+FFFD: either way the slow path sorts it out.
  const end = kwEmpty ? argsEnd : kwEnd;
  const text = frame.toString('utf8', argsStart, end);
  if (text.includes('\uFFFD')) return undefined;
  const deferred = new JsonArgs(format, text, end - argsStart, seen.longInteger);
  msg.push(deferred);
  if (kwStart >= 0) msg.push(deferred);
  return msg;
}

/** A one- or two-digit message type at `i`, or -1. */
function smallInteger(f: Uint8Array, i: number): number {
  const a = (f[i] ?? 0) - 0x30;
  if (a < 1 || a > 9) return -1;
  const b = (f[i + 1] ?? 0) - 0x30;
  if (b < 0 || b > 9) return a;
  const c = (f[i + 2] ?? 0) - 0x30;
  return c >= 0 && c <= 9 ? -1 : a * 10 + b;
}

/** A head element the scanner accepted between `start` and `end`: common shapes without JSON.parse. */
function headValue(f: Buffer, start: number, end: number): unknown {
  const c = f[start] as number;
  if (c === 0x22 && !seen.escape) return headString(f, start + 1, end - 1);
  if (c === 0x7b && end - start === 2) return {};
  // Up to 16 digits the running value is exact until the last step, which rounds once, as JSON.parse does.
  if (c >= 0x30 && c <= 0x39 && end - start <= 16) {
    let n = 0;
    for (let k = start; k < end; k++) {
      const d = (f[k] as number) - 0x30;
      if (d < 0 || d > 9) return JSON.parse(f.toString('utf8', start, end));
      n = n * 10 + d;
    }
    return n;
  }
  return JSON.parse(f.toString('utf8', start, end));
}

/**
 * `head` followed by arguments in JSON text, as one JSON frame. Head elements that are ids or empty
 * dictionaries (most of an EVENT's or RESULT's head) are written by hand: JSON.stringify spent most
 * of its time on printing the two 53-bit ids of an EVENT. Throws what stringifyJson throws.
 */
export function encodeWithArgs(head: unknown[], args: JsonArgs): Buffer {
  let size = 2 + head.length + args.byteLength; // brackets, a comma after each head element
  let texts: (string | undefined)[] | undefined;
  for (let k = 0; k < head.length; k++) {
    const x = head[k];
    if (isId(x)) size += digitCount(x);
    else if (isEmptyDict(x)) size += 2;
    else {
      const text = stringifyJson(prepareJson(x)) ?? 'null';
      (texts ??= [])[k] = text;
      size += Buffer.byteLength(text);
    }
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = 0x5b;
  let pos = 1;
  for (let k = 0; k < head.length; k++) {
    const x = head[k];
    const text = texts?.[k];
    if (text !== undefined) pos += out.write(text, pos);
    else if (isId(x)) pos = writeId(out, pos, x);
    else {
      out[pos++] = 0x7b;
      out[pos++] = 0x7d;
    }
    out[pos++] = 0x2c;
  }
  out.write(args.text, pos);
  out[size - 1] = 0x5d;
  return out;
}

function digitCount(n: number): number {
  let d = 1;
  for (let p = 10; p <= n; p *= 10) d++;
  return d;
}

/** Writes a safe non-negative integer in decimal, in two halves small enough for integer arithmetic. */
function writeId(out: Buffer, pos: number, n: number): number {
  const high = Math.floor(n / 1e8);
  let low = n - high * 1e8;
  const end = pos + digitCount(n);
  let k = end;
  if (high > 0) {
    for (let d = 0; d < 8; d++) {
      const q = (low / 10) | 0;
      out[--k] = 0x30 + low - q * 10;
      low = q;
    }
    low = high;
  }
  do {
    const q = (low / 10) | 0;
    out[--k] = 0x30 + low - q * 10;
    low = q;
  } while (low > 0);
  return end;
}

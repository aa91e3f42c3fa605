// Decoding a MessagePack PUBLISH, CALL, YIELD or ERROR without decoding its arguments, the
// counterpart of json-frame.ts. The head is read by hand (ids, empty dictionaries and plain strings;
// anything else through msgpackr); the Arguments and ArgumentsKw are checked with msgpack-scan.ts and
// kept as the sender's bytes, which a MessagePack receiver gets copied behind its own head.
//
// Anything unusual returns undefined and the caller decodes the whole frame as before, so the result
// and every error is the full decode's: extension types, non-string map keys, invalid UTF-8 (see
// msgpack-scan.ts), arguments of the wrong type, trailing bytes.
//
// What does pass through as written: float32 values, integer widths, integers beyond 2^53 (which
// decode to BigInt when another peer needs the values), duplicate map keys.
import type { Dict } from '../core/types.ts';
import { packr } from './binary-encoders.ts';
import { ARGS_INDEX, DeferredArgs, isEmptyDict, isId } from './deferred-args.ts';
import { headString } from './head-strings.ts';
import { arrayLength, mapLength, skipValue, u16, u32 } from './msgpack-scan.ts';
import { prepareBinaryFormat, sanitizeDecoded } from './wire-values.ts';

/** Arguments (and ArgumentsKw) of a decoded MessagePack message, still encoded. */
export class MsgpackArgs extends DeferredArgs {
  constructor(
    readonly format: string,
    /** The Arguments array, then the ArgumentsKw map if it is not empty: never both empty. */
    readonly bytes: Buffer,
    /** How many values `bytes` holds: 1 or 2. */
    readonly count: number,
  ) {
    super();
  }

  decode(): { args: unknown[] | undefined; kwargs: Dict | undefined } {
    const [args, kwargs] = sanitizeDecoded(packr.unpackMultiple(this.bytes), 0) as [unknown[], Dict | undefined];
    return { args: args.length > 0 ? args : undefined, kwargs };
  }

  protected frameAfter(head: unknown[]): Buffer {
    return encodeWithArgs(head, this);
  }
}

/**
 * The message in `frame` with a MsgpackArgs in place of its Arguments and ArgumentsKw (the same
 * object at both indexes), or with no deferral when they are empty; undefined when the frame is
 * not a plain one of the four types (see the file comment).
 */
export function decodeDeferringArgs(frame: Buffer, format: string): unknown[] | undefined {
  const count = arrayLength(frame, 0);
  let i = frame[0] === 0xdc ? 3 : frame[0] === 0xdd ? 5 : 1;
  const type = frame[i++] as number;
  const headLength = ARGS_INDEX[type];
  if (headLength === undefined || count < headLength || count > headLength + 2) return undefined;
  const msg: unknown[] = [type];
  for (let k = 1; k < headLength; k++) {
    const start = i;
    i = skipValue(frame, start, 1);
    if (i < 0) return undefined;
    msg.push(headValue(frame, start, i));
  }
  if (count === headLength) return i === frame.length ? msg : undefined;
  const hasKw = count === headLength + 2;
  const argsStart = i;
  const argsCount = arrayLength(frame, argsStart);
  if (argsCount < 0) return undefined;
  const argsEnd = skipValue(frame, argsStart, 1);
  if (argsEnd < 0) return undefined;
  let end = argsEnd;
  let kwCount = 0;
  if (hasKw) {
    kwCount = mapLength(frame, argsEnd);
    if (kwCount < 0) return undefined;
    end = skipValue(frame, argsEnd, 1);
  }
  if (end !== frame.length) return undefined;
  if (argsCount === 0 && kwCount === 0) {
    msg.push([]);
    if (hasKw) msg.push({});
    return msg;
  }
  // Copied: it must own its memory (a frame is often a view into a larger socket read that a
  // retained event must not pin).
  const withKw = kwCount > 0;
  const deferred = new MsgpackArgs(format, Buffer.from(frame.subarray(argsStart, withKw ? end : argsEnd)), withKw ? 2 : 1);
  msg.push(deferred);
  if (hasKw) msg.push(deferred);
  return msg;
}

/** A head element the scanner accepted between `start` and `end`: common shapes without msgpackr. */
function headValue(f: Buffer, start: number, end: number): unknown {
  const c = f[start] as number;
  if (c < 0x80) return c;
  if (c === 0x80) return {};
  // Strings the scanner passed are valid UTF-8, which msgpackr decodes to the same text.
  if (c >= 0xa0 && c < 0xc0) return headString(f, start + 1, end);
  if (c === 0xd9) return headString(f, start + 2, end);
  if (c === 0xcc) return f[start + 1];
  if (c === 0xcd) return u16(f, start + 1);
  if (c === 0xce) return u32(f, start + 1);
  // uint 64 and non-negative int 64: a Number up to 2^53, beyond it a BigInt (as msgpackr's 'auto')
  if (c === 0xcf || (c === 0xd3 && (f[start + 1] as number) < 0x80)) {
    const high = u32(f, start + 1);
    const low = u32(f, start + 5);
    return high < 0x200000 || (high === 0x200000 && low === 0) ? high * 0x100000000 + low : f.readBigUInt64BE(start + 1);
  }
  return sanitizeDecoded(packr.unpack(f.subarray(start, end)), 1);
}

/**
 * `head` followed by arguments already in MessagePack, as one frame. Ids and empty dictionaries (most
 * of an EVENT's or RESULT's head) are written by hand, the rest by msgpackr.
 */
export function encodeWithArgs(head: unknown[], args: MsgpackArgs): Buffer {
  const elements = head.length + args.count;
  let size = (elements < 16 ? 1 : 3) + args.bytes.length;
  let packed: (Buffer | undefined)[] | undefined;
  for (let k = 0; k < head.length; k++) {
    const x = head[k];
    if (isId(x)) size += uintSize(x);
    else if (isEmptyDict(x)) size += 1;
    else {
      const b = packr.pack(prepareBinaryFormat(x));
      (packed ??= [])[k] = b;
      size += b.length;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  if (elements < 16) out[pos++] = 0x90 | elements;
  else {
    out[pos++] = 0xdc;
    pos = out.writeUInt16BE(elements, pos);
  }
  for (let k = 0; k < head.length; k++) {
    const x = head[k];
    const b = packed?.[k];
    if (b !== undefined) pos += b.copy(out, pos);
    else if (isId(x)) pos = writeUint(out, pos, x);
    else out[pos++] = 0x80;
  }
  args.bytes.copy(out, pos);
  return out;
}

function uintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n <= 0xffffffff ? 5 : 9;
}

/**
 * A safe non-negative integer in the smallest MessagePack form, as msgpackr writes it (which takes
 * int 64 rather than uint 64 beyond 32 bits, for the BigInt that prepareBinaryFormat makes).
 */
function writeUint(out: Buffer, pos: number, n: number): number {
  if (n < 0x80) {
    out[pos] = n;
    return pos + 1;
  }
  if (n < 0x100) {
    out[pos] = 0xcc;
    out[pos + 1] = n;
    return pos + 2;
  }
  if (n < 0x10000) {
    out[pos] = 0xcd;
    return out.writeUInt16BE(n, pos + 1);
  }
  if (n <= 0xffffffff) {
    out[pos] = 0xce;
    return out.writeUInt32BE(n, pos + 1);
  }
  out[pos] = 0xd3;
  const high = Math.floor(n / 0x100000000);
  out.writeUInt32BE(high, pos + 1);
  return out.writeUInt32BE(n - high * 0x100000000, pos + 5);
}

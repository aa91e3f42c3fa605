// WebSocket frames as a client sends them (RFC 6455 section 5), built by hand so tests can also
// build the wrong ones: unmasked, RSV bits set, over-long length forms.
import { randomBytes } from 'node:crypto';

export interface FrameHeaderOptions {
  fin?: boolean;
  /** The three RSV bits as a number: 4 is RSV1. */
  rsv?: number;
  /** The masking key; none: an unmasked frame. */
  key?: Buffer;
  /** The 16- or 64-bit length form even when a shorter one would do. */
  lengthForm?: 16 | 64;
}

/** A frame header announcing `length` payload bytes (7-, 16- or 64-bit length), with the masking key. */
export function frameHeader(opcode: number, length: number, { fin = true, rsv = 0, key, lengthForm }: FrameHeaderOptions = {}): Buffer {
  const b0 = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  const m = key ? 0x80 : 0;
  const form = length >= 0x10000 || lengthForm === 64 ? 64 : length >= 126 || lengthForm === 16 ? 16 : 7;
  let h: Buffer;
  if (form === 7) h = Buffer.from([b0, m | length]);
  else if (form === 16) {
    h = Buffer.from([b0, m | 126, 0, 0]);
    h.writeUInt16BE(length, 2);
  } else {
    h = Buffer.from([b0, m | 127, 0, 0, 0, 0, 0, 0, 0, 0]);
    h.writeBigUInt64BE(BigInt(length), 2);
  }
  return key ? Buffer.concat([h, key]) : h;
}

/** A random masking key with no zero byte, so every payload byte is really changed by it. */
export function maskingKey(): Buffer {
  return randomBytes(4).map((b) => b || 0x5a) as Buffer;
}

export interface ClientFrameOptions extends Omit<FrameHeaderOptions, 'key'> {
  /** false: an unmasked frame (which a server must refuse). */
  mask?: boolean;
  /** The masking key (default: a random one). */
  key?: Buffer;
}

/** A client frame: `payload` masked with `key` or a random key, unless mask is false. */
export function maskedFrame(opcode: number, payload: Buffer | string, { mask = true, key, ...header }: ClientFrameOptions = {}): Buffer {
  const body = Buffer.from(payload);
  const k = mask ? (key ?? maskingKey()) : undefined;
  if (k) for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (k[i & 3] as number);
  return Buffer.concat([frameHeader(opcode, body.length, { ...header, key: k }), body]);
}

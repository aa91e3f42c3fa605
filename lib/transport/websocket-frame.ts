// WebSocket framing for what the router sends (server to client frames are never masked), and the
// frame vocabulary of RFC 6455 that the reader shares.

export const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Status codes a close frame may carry (RFC 6455 section 7.4). */
export function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/**
 * Messages below this size are framed in one buffer with their header and written at once; larger
 * ones are written as a header and the payload, two buffers rather than a copy of the payload.
 */
export const FRAME_BELOW = 1024;

/** A final frame of `opcode` holding a payload under FRAME_BELOW bytes, in one buffer. */
export function webSocketFrame(opcode: number, payload: Uint8Array): Buffer {
  const len = payload.length;
  const headerLength = len < 126 ? 2 : 4;
  const out = Buffer.allocUnsafe(headerLength + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = len;
  else {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  }
  out.set(payload, headerLength);
  return out;
}

/** The header of a final frame of `opcode` whose payload of `length` bytes follows it. */
export function webSocketHeader(opcode: number, length: number): Buffer {
  if (length < 126) return Buffer.from([0x80 | opcode, length]);
  if (length < 0x10000) return Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff]);
  const out = Buffer.allocUnsafe(10);
  out[0] = 0x80 | opcode;
  out[1] = 127;
  out.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  out.writeUInt32BE(length >>> 0, 6);
  return out;
}

/** A close frame: the status code, then as much of the reason as fits in 123 UTF-8 bytes (whole characters). */
export function closeFrame(code: number, reason: string): Buffer {
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  const body = Buffer.allocUnsafe(2 + Buffer.byteLength(r));
  body.writeUInt16BE(code, 0);
  body.write(r, 2);
  return webSocketFrame(Opcode.close, body);
}

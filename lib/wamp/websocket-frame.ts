// WebSocket framing for messages the router writes to the socket itself (see websocket.ts).

/**
 * Messages below this size are framed in one buffer with their header and written at once; larger
 * ones go through ws, which writes header and payload as two buffers rather than copy the payload.
 */
export const FRAME_BELOW = 1024;

/** An unmasked final WebSocket frame (server to client) of `opcode` holding a payload under FRAME_BELOW bytes. */
export function webSocketFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const headerLength = len < 126 ? 2 : 4;
  const out = Buffer.allocUnsafe(headerLength + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = len;
  else {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  }
  payload.copy(out, headerLength);
  return out;
}

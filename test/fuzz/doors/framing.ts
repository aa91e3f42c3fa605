// Byte framing shared by the doors: the WebSocket opening handshake and client frames, RawSocket
// handshakes and frames. Masking keys come from the input, so every case is reproducible.
import { frameHeader } from '../../helpers/websocket-frames.ts';

export function upgradeRequest(path: string, subprotocol: string | undefined, extraHeaders = ''): Buffer {
  const proto = subprotocol === undefined ? '' : `Sec-WebSocket-Protocol: ${subprotocol}\r\n`;
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${proto}${extraHeaders}\r\n`,
    'latin1',
  );
}

export interface WsFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  /** undefined: unmasked (a protocol error from a client). */
  key: Uint8Array | undefined;
  /** Announce this many bytes more (or fewer) than the payload has. */
  lengthDelta: number;
  lengthForm: 7 | 16 | 64;
}

export function wsFrame(f: WsFrame, payload: Buffer): Buffer {
  const body = Buffer.from(payload);
  const key = f.key ? Buffer.from(f.key) : undefined;
  if (key) for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (key[i & 3] as number);
  const announced = Math.max(0, body.length + f.lengthDelta);
  const header = frameHeader(f.opcode & 15, announced, { fin: f.fin, rsv: f.rsv & 7, key, lengthForm: f.lengthForm === 7 ? undefined : f.lengthForm });
  return Buffer.concat([header, body]);
}

/** A well-formed masked data frame. */
export function wsData(payload: Buffer, binary: boolean): Buffer {
  return wsFrame({ fin: true, rsv: 0, opcode: binary ? 2 : 1, key: Uint8Array.of(0x11, 0x22, 0x33, 0x44), lengthDelta: 0, lengthForm: 7 }, payload);
}

export const RAWSOCKET_IDS = { json: 1, msgpack: 2, cbor: 3 } as const;

export function rawHandshake(serializerId: number, lengthExponent = 15): Buffer {
  return Buffer.from([0x7f, ((lengthExponent & 15) << 4) | (serializerId & 15), 0, 0]);
}

/** A RawSocket frame: type (0 message, 1 ping, 2 pong) and a 24-bit length (announced, may lie). */
export function rawFrame(payload: Buffer, type = 0, announced = payload.length): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type & 0xff;
  h.writeUIntBE(Math.min(Math.max(announced, 0), 0xffffff), 1, 3);
  return Buffer.concat([h, payload]);
}

// permessage-deflate (RFC 7692), offered only when configured, and then bounded. Both directions run
// without context takeover, so every message inflates and deflates on its own: no zlib stream is kept
// per connection, and a message's cost is bounded by its own size. Inflating stops at the message
// limit (zlib's maxOutputLength), so a deflate bomb costs at most that much memory and work.
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';

export interface CompressionSettings {
  /** Messages we send below this many bytes go out uncompressed (default 1024). */
  threshold?: number;
}

/** What the handshake agreed on, for one connection. */
export interface Deflate {
  threshold: number;
  /** The window the client asked our deflater to stay within (8-15; zlib needs at least 9). */
  windowBits: number;
}

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * Reads a Sec-WebSocket-Extensions offer: the agreement and the response header value, or
 * undefined when compression is off or no offer is acceptable.
 */
export function negotiateDeflate(header: string | undefined, settings: CompressionSettings | false | undefined): { deflate: Deflate; response: string } | undefined {
  if (!settings || header === undefined) return undefined;
  for (const offer of header.split(',')) {
    const [name, ...params] = offer.split(';').map((p) => p.trim());
    if (name !== 'permessage-deflate') continue;
    let windowBits = 15;
    let acceptable = true;
    for (const p of params) {
      const [key, value] = p.split('=').map((x) => x.trim().replace(/^"|"$/g, ''));
      if (key === 'server_max_window_bits') {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 8 || n > 15) acceptable = false;
        else windowBits = Math.max(9, n);
      } else if (key !== 'client_max_window_bits' && key !== 'client_no_context_takeover' && key !== 'server_no_context_takeover') acceptable = false;
    }
    if (!acceptable) continue;
    const bits = windowBits === 15 ? '' : `; server_max_window_bits=${windowBits}`;
    return {
      deflate: { threshold: settings.threshold ?? 1024, windowBits },
      response: `permessage-deflate; server_no_context_takeover; client_no_context_takeover${bits}`,
    };
  }
  return undefined;
}

/** The message a compressed payload inflates to, or why it cannot (a 'message ...' text: too big). */
export function inflateMessage(payload: Buffer, maxBytes: number): Buffer | string {
  try {
    return inflateRawSync(Buffer.concat([payload, TAIL]), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return `message inflates past the limit of ${maxBytes} bytes`;
    return `invalid compressed data: ${(err as Error).message}`;
  }
}

/** A message deflated for one frame, its trailing empty block removed (RFC 7692 7.2.1). */
export function deflateMessage(data: Buffer, windowBits: number): Buffer {
  const out = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH, windowBits });
  return out.subarray(0, out.length - 4);
}

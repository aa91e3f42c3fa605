// Packet framing ahead of the mqtt-packet parser: splits the byte stream into whole packets by the
// fixed header, rejects a malformed remaining length or an oversized packet before buffering it,
// and checks what mqtt-packet would silently accept (ill-formed UTF-8 in topic names and filters).
import { isUtf8 } from 'node:buffer';

export type FrameError = 'malformed' | 'too-large';

/** Most bytes an MQTT packet can have (remaining length ≤ 268,435,455). */
export const MQTT_MAX_PACKET = 268_435_455 + 5;

export class Framer {
  private chunks: Buffer[] = [];
  private have = 0;
  /** Size of the packet being collected, 0 while its fixed header is incomplete. */
  private need = 0;
  private stopped = false;

  constructor(
    /** Largest packet accepted, in bytes (whole packet, fixed header included). */
    private readonly maxPacket: () => number,
    private readonly onFrame: (frame: Buffer) => void,
    private readonly onError: (kind: FrameError, message: string) => void,
  ) {}

  stop(): void {
    this.stopped = true;
    this.chunks = [];
    this.have = 0;
  }

  push(chunk: Buffer): void {
    if (this.stopped || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.have += chunk.length;
    while (!this.stopped) {
      if (this.need === 0) {
        if (this.have < 2) return;
        const head = this.peek(Math.min(this.have, 5));
        let value = 0;
        let mul = 1;
        let i = 1;
        let done = false;
        for (; i < head.length && i <= 4; i++) {
          const b = head[i] as number;
          value += (b & 0x7f) * mul;
          mul *= 128;
          if ((b & 0x80) === 0) {
            done = true;
            break;
          }
        }
        if (!done) {
          if (i > 4) {
            this.fail('malformed', 'remaining length longer than 4 bytes');
            return;
          }
          return; // wait for more header bytes
        }
        const total = 1 + i + value;
        if (total > this.maxPacket()) {
          this.fail('too-large', `packet of ${total} bytes exceeds the maximum of ${this.maxPacket()}`);
          return;
        }
        this.need = total;
      }
      if (this.have < this.need) return;
      const frame = this.take(this.need);
      this.need = 0;
      this.onFrame(frame);
    }
  }

  private fail(kind: FrameError, message: string): void {
    this.stop();
    this.onError(kind, message);
  }

  /** The first n bytes (n ≤ have), merging chunks only when the header spans them. */
  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    const merged = Buffer.concat(this.chunks);
    this.chunks = [merged];
    return merged.subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    this.have -= n;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0] as Buffer;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}

/** Offset of the variable header (after the fixed header) of a whole frame. */
export function bodyOffset(frame: Buffer): number {
  let i = 1;
  while (i < 5 && ((frame[i] as number) & 0x80) !== 0) i++;
  return i + 1;
}

function readVarInt(buf: Buffer, pos: number): [value: number, next: number] | undefined {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 4; i++) {
    if (pos + i >= buf.length) return undefined;
    const b = buf[pos + i] as number;
    value += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) return [value, pos + i + 1];
  }
  return undefined;
}

/** Protocol name and level of a CONNECT frame, or undefined when too short to tell. */
export function connectLevel(frame: Buffer): { name: string; level: number } | undefined {
  const off = bodyOffset(frame);
  if (off + 2 > frame.length) return undefined;
  const len = frame.readUInt16BE(off);
  if (off + 2 + len + 1 > frame.length) return undefined;
  return { name: frame.toString('latin1', off + 2, off + 2 + len), level: (frame[off + 2 + len] as number) & 0x7f };
}

/** False when the PUBLISH topic name is not well-formed UTF-8. */
export function publishTopicIsUtf8(frame: Buffer): boolean {
  const off = bodyOffset(frame);
  if (off + 2 > frame.length) return true; // too short: the parser reports it
  const len = frame.readUInt16BE(off);
  if (off + 2 + len > frame.length) return true;
  return isUtf8(frame.subarray(off + 2, off + 2 + len));
}

/** False when a SUBSCRIBE / UNSUBSCRIBE filter is not well-formed UTF-8. */
export function filtersAreUtf8(frame: Buffer, v5: boolean, withOptions: boolean): boolean {
  let pos = bodyOffset(frame) + 2; // packet identifier
  if (v5) {
    const props = readVarInt(frame, pos);
    if (!props) return true;
    pos = props[1] + props[0];
  }
  while (pos + 2 <= frame.length) {
    const len = frame.readUInt16BE(pos);
    if (pos + 2 + len > frame.length) return true;
    if (!isUtf8(frame.subarray(pos + 2, pos + 2 + len))) return false;
    pos += 2 + len + (withOptions ? 1 : 0);
  }
  return true;
}

export interface FastPublish {
  cmd: 'publish';
  topic: string;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  messageId: number | undefined;
  payload: Buffer;
}

/**
 * Decodes a PUBLISH without properties (3.1/3.1.1, or v5 with an empty property list) — the hot
 * path — without going through mqtt-packet. Undefined when it has v5 properties (mqtt-packet
 * decodes those); a string says why the frame is malformed.
 */
export function decodePublish(frame: Buffer, v5: boolean): FastPublish | string | undefined {
  const b0 = frame[0] as number;
  const qos = (b0 >> 1) & 3;
  if (qos === 3) return 'PUBLISH with QoS 3';
  const off = bodyOffset(frame);
  if (off + 2 > frame.length) return 'truncated PUBLISH';
  const tlen = frame.readUInt16BE(off);
  let pos = off + 2 + tlen;
  if (pos > frame.length) return 'truncated PUBLISH topic';
  let messageId: number | undefined;
  if (qos > 0) {
    if (pos + 2 > frame.length) return 'truncated PUBLISH packet identifier';
    messageId = frame.readUInt16BE(pos);
    pos += 2;
  }
  if (v5) {
    if (pos >= frame.length) return 'PUBLISH without a property length';
    if (frame[pos] !== 0) return undefined;
    pos++;
  }
  return {
    cmd: 'publish',
    topic: frame.toString('utf8', off + 2, off + 2 + tlen),
    qos: qos as 0 | 1 | 2,
    retain: (b0 & 1) !== 0,
    dup: (b0 & 8) !== 0,
    messageId,
    payload: frame.subarray(pos),
  };
}

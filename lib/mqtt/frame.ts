// Packet framing ahead of the mqtt-packet parser: splits the byte stream into whole packets by the
// fixed header, rejects a malformed remaining length or an oversized packet before buffering it,
// checks what mqtt-packet would silently accept (ill-formed UTF-8 or U+0000 in any MQTT string,
// control characters in names, misplaced wildcards in filters, repeated v5 properties, DUP on
// QoS 0, bytes after PINGREQ / 3.1.1 DISCONNECT / the last CONNECT field, 3.1.1 acknowledgements
// that are not just a packet id, empty SUBSCRIBE / UNSUBSCRIBE filters), and decodes the hot-path
// packets (PUBLISH without properties, short PUBACK/PUBREC/PUBREL/PUBCOMP) itself.
import { isUtf8 } from 'node:buffer';

export type FrameError = 'malformed' | 'too-large';

/** Most bytes an MQTT packet can have (remaining length ≤ 268,435,455). */
export const MQTT_MAX_PACKET = 268_435_455 + 5;

/** Where a Framer hands its packets (an object, so a connection costs no closures for it). */
export interface FrameSink {
  /** Largest packet accepted, in bytes (whole packet, fixed header included). */
  maxPacket(): number;
  frame(frame: Buffer): void;
  frameError(kind: FrameError, message: string): void;
}

export class Framer {
  private chunks: Buffer[] = [];
  private have = 0;
  /** Size of the packet being collected, 0 while its fixed header is incomplete. */
  private need = 0;
  private stopped = false;

  constructor(private readonly sink: FrameSink) {}

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
        const max = this.sink.maxPacket();
        if (total > max) {
          this.fail('too-large', `packet of ${total} bytes exceeds the maximum of ${max}`);
          return;
        }
        this.need = total;
      }
      if (this.have < this.need) return;
      const frame = this.take(this.need);
      this.need = 0;
      this.sink.frame(frame);
    }
  }

  private fail(kind: FrameError, message: string): void {
    this.stop();
    this.sink.frameError(kind, message);
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

const ACK_CMD: Record<number, 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> = { 0x40: 'puback', 0x50: 'pubrec', 0x62: 'pubrel', 0x70: 'pubcomp' };

export interface FastAck {
  cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
  messageId: number;
  reasonCode: number;
}

/**
 * Decodes the short form of PUBACK / PUBREC / PUBREL / PUBCOMP (remaining length 2: packet id only,
 * reason code 0) without going through mqtt-packet — what the QoS 1/2 hot path sees. Undefined for
 * anything else (longer forms, wrong flags), which mqtt-packet decodes or reports.
 */
export function decodeShortAck(frame: Buffer): FastAck | undefined {
  if (frame.length !== 4 || frame[1] !== 2) return undefined;
  const cmd = ACK_CMD[frame[0] as number];
  if (cmd === undefined) return undefined;
  return { cmd, messageId: ((frame[2] as number) << 8) | (frame[3] as number), reasonCode: 0 };
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
  if (qos === 0 && (b0 & 0x08) !== 0) return 'QoS 0 PUBLISH with the DUP flag set (MQTT-3.3.1-2)';
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

// --- MQTT UTF-8 strings -------------------------------------------------------------------------
// mqtt-packet decodes strings with Buffer.toString, which silently turns ill-formed UTF-8 into
// U+FFFD; the spec makes ill-formed UTF-8 and U+0000 a Malformed Packet (MQTT-1.5.4-1/-2). These
// checks run on the raw bytes. A structural problem (truncation, unknown property) is left to the
// parser, which reports it as malformed.

/** A string problem: reason code (0x81 malformed, 0x82 protocol error) and message. */
export type StringProblem = [code: number, message: string];

/** False when bytes are not a valid MQTT UTF-8 string (ill-formed, surrogates, or U+0000). */
export function validMqttString(bytes: Buffer): boolean {
  return bytes.indexOf(0) < 0 && isUtf8(bytes);
}

/**
 * Whether buf[start, end) holds a control character (U+0000–U+001F, U+007F, or U+0080–U+009F,
 * encoded C2 80 – C2 9F), else whether it is all ASCII. MQTT lets a receiver treat control
 * characters as a Malformed Packet (3.1.1 §1.5.3, 5.0 §1.5.4); in the names a client gives
 * (client id, user name, topic names and filters) they only ever hide what a name is, in logs
 * and dashboards, so they are refused there.
 */
function scanName(buf: Buffer, start: number, end: number): typeof CONTROL | typeof ASCII | typeof NON_ASCII {
  let high = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b < 0x20 || b === 0x7f) return CONTROL;
    if (b === 0xc2 && i + 1 < end && ((buf[i + 1] as number) & 0xe0) === 0x80) return CONTROL;
    high |= b;
  }
  return high < 0x80 ? ASCII : NON_ASCII;
}
const CONTROL = 0;
/** Only ASCII: valid UTF-8 without asking isUtf8 (the common case on the PUBLISH path). */
const ASCII = 1;
const NON_ASCII = 2;

/**
 * Where a wildcard in the filter buf[start, end) is misplaced: `+` must be a whole level and `#`
 * a whole level and the last one (MQTT-4.7.1-2, MQTT-4.7.1-3). Bytes suffice: '/', '+' and '#'
 * never occur inside a multi-byte UTF-8 sequence.
 */
function misplacedWildcard(buf: Buffer, start: number, end: number): string | undefined {
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b !== 0x2b && b !== 0x23) continue;
    const wholeLevel = (i === start || buf[i - 1] === 0x2f) && (i + 1 === end || buf[i + 1] === 0x2f);
    if (!wholeLevel) return `'${b === 0x2b ? '+' : '#'}' must occupy a whole level (MQTT-4.7.1-${b === 0x2b ? 3 : 2})`;
    if (b === 0x23 && i + 1 !== end) return "'#' must be the last level (MQTT-4.7.1-2)";
  }
  return undefined;
}

/** v5 property value kinds: fixed length n > 0, or -1 varint, -2 string, -3 binary, -4 string pair. */
const PROP_KIND: Record<number, number> = {
  0x01: 1, 0x02: 4, 0x03: -2, 0x08: -2, 0x09: -3, 0x0b: -1, 0x11: 4, 0x12: -2, 0x13: 2, 0x15: -2, 0x16: -3,
  0x17: 1, 0x18: 4, 0x19: 1, 0x1a: -2, 0x1c: -2, 0x1f: -2, 0x21: 2, 0x22: 2, 0x23: 2, 0x24: 1, 0x25: 1,
  0x26: -4, 0x27: 4, 0x28: 1, 0x29: 1, 0x2a: 1,
};
const PROP_NAME: Record<number, string> = {
  0x03: 'Content Type', 0x08: 'Response Topic', 0x12: 'Assigned Client Identifier', 0x15: 'Authentication Method',
  0x1a: 'Response Information', 0x1c: 'Server Reference', 0x1f: 'Reason String', 0x26: 'User Property',
};

/** Which property identifiers a packet from a client may carry (MQTT 5 §2.2.2.2: others are malformed). */
function allowed(...ids: number[]): Uint8Array {
  const a = new Uint8Array(64);
  for (const id of ids) a[id] = 1;
  return a;
}
const PROPS_IN = {
  connect: allowed(0x11, 0x21, 0x27, 0x22, 0x19, 0x17, 0x26, 0x15, 0x16),
  will: allowed(0x18, 0x01, 0x02, 0x03, 0x08, 0x09, 0x26),
  // Subscription Identifier (0x0b) is refused as a Protocol Error by the PUBLISH handler.
  publish: allowed(0x01, 0x02, 0x23, 0x08, 0x09, 0x26, 0x0b, 0x03),
  ack: allowed(0x1f, 0x26),
  subscribe: allowed(0x0b, 0x26),
  unsubscribe: allowed(0x26),
  disconnect: allowed(0x11, 0x1f, 0x26, 0x1c),
  auth: allowed(0x15, 0x16, 0x1f, 0x26),
};

/**
 * Checks a v5 property list at `pos`: that each property belongs in the packet, its strings, and that no property other than User Property
 * (and Subscription Identifier, which the handlers check) appears twice (a Protocol Error).
 * Returns the position after the list, a problem, or undefined when the structure is broken.
 */
function checkProps(buf: Buffer, pos: number, end: number, ok: Uint8Array): number | StringProblem | undefined {
  const len = readVarInt(buf, pos);
  if (!len) return undefined;
  pos = len[1];
  const stop = pos + len[0];
  if (stop > end) return undefined;
  if (len[0] === 0) return stop;
  let seen = 0; // bit per property id < 0x2b, except User Property / Subscription Identifier
  let seenHigh = 0;
  while (pos < stop) {
    const id = buf[pos++] as number;
    const kind = PROP_KIND[id];
    if (kind === undefined) return undefined;
    if (ok[id] !== 1) return [0x81, `property 0x${id.toString(16)} is not valid in this packet`];
    if (id !== 0x26 && id !== 0x0b) {
      const bit = 1 << (id & 31);
      if (id < 32) {
        if (seen & bit) return [0x82, `property 0x${id.toString(16)} included more than once`];
        seen |= bit;
      } else {
        if (seenHigh & bit) return [0x82, `property 0x${id.toString(16)} included more than once`];
        seenHigh |= bit;
      }
    }
    if ((id === 0x17 || id === 0x19) && pos < stop && (buf[pos] as number) > 1) {
      // Request Problem / Response Information other than 0 or 1 (MQTT 5 §3.1.2.11.6-7)
      return [0x82, `property 0x${id.toString(16)} with a value other than 0 or 1`];
    }
    if (id === 0x01 && pos < stop && (buf[pos] as number) > 1) {
      // Payload Format Indicator is 0 (bytes) or 1 (UTF-8) (MQTT 5 §3.3.2.3.2): anything else is malformed
      return [0x81, 'Payload Format Indicator with a value other than 0 or 1'];
    }
    if (kind > 0) pos += kind;
    else if (kind === -1) {
      const v = readVarInt(buf, pos);
      if (!v) return undefined;
      pos = v[1];
    } else {
      const n = kind === -4 ? 2 : 1;
      for (let k = 0; k < n; k++) {
        if (pos + 2 > stop) return undefined;
        const l = buf.readUInt16BE(pos);
        if (pos + 2 + l > stop) return undefined;
        if (kind !== -3 && !validMqttString(buf.subarray(pos + 2, pos + 2 + l))) return [0x81, `${PROP_NAME[id]} is not a valid UTF-8 string`];
        pos += 2 + l;
      }
    }
  }
  return pos === stop ? stop : undefined;
}

/** How a length-prefixed field is checked: bytes, any MQTT string, a name (no control characters), a topic filter. */
type FieldKind = 'binary' | 'string' | 'name' | 'filter';

/** A length-prefixed field at pos: [next position, problem?], or undefined when truncated. */
function checkString(buf: Buffer, pos: number, what: string, kind: FieldKind = 'string'): [number, StringProblem?] | undefined {
  if (pos + 2 > buf.length) return undefined;
  const start = pos + 2;
  const end = start + buf.readUInt16BE(pos);
  if (end > buf.length) return undefined;
  if (kind === 'binary') return [end];
  if (kind === 'string') {
    if (!validMqttString(buf.subarray(start, end))) return [end, [0x81, `${what} is not a valid UTF-8 string`]];
  } else {
    const scan = scanName(buf, start, end);
    if (scan === CONTROL) return [end, [0x81, `${what} contains a control character (U+0000–U+001F, U+007F–U+009F)`]];
    if (scan === NON_ASCII && !isUtf8(buf.subarray(start, end))) return [end, [0x81, `${what} is not a valid UTF-8 string`]];
  }
  if (kind === 'filter') {
    const misplaced = misplacedWildcard(buf, start, end);
    if (misplaced) return [end, [0x81, `${what} '${buf.toString('utf8', start, Math.min(end, start + 200))}': ${misplaced}`]];
  }
  return [end];
}

/**
 * String problems of a CONNECT: client identifier, will properties and topic, user name (those
 * three also without control characters), and the v5 CONNECT properties; bytes after the last
 * field. 3.1.1 also forbids a password without a user name (MQTT-3.1.2-22).
 */
export function connectProblem(frame: Buffer): StringProblem | undefined {
  const end = frame.length;
  let pos = bodyOffset(frame);
  const name = checkString(frame, pos, 'protocol name', 'binary');
  if (!name) return undefined;
  pos = name[0];
  if (pos + 4 > end) return undefined;
  const level = (frame[pos] as number) & 0x7f;
  const flags = frame[pos + 1] as number;
  pos += 4;
  if (level === 4 && (flags & 0xc0) === 0x40) return [0x81, 'password flag without the user name flag'];
  if (level === 5) {
    const p = checkProps(frame, pos, end, PROPS_IN.connect);
    if (typeof p !== 'number') return p;
    pos = p;
  }
  const steps: [string, FieldKind][] = [['client identifier', 'name']];
  if (flags & 0x04) {
    if (level === 5) steps.push(['will properties', 'binary']);
    steps.push(['will topic', 'name'], ['will payload', 'binary']);
  }
  if (flags & 0x80) steps.push(['user name', 'name']);
  if (flags & 0x40) steps.push(['password', 'binary']);
  for (const [what, kind] of steps) {
    if (what === 'will properties') {
      const p = checkProps(frame, pos, end, PROPS_IN.will);
      if (typeof p !== 'number') return p;
      pos = p;
      continue;
    }
    const s = checkString(frame, pos, what, kind);
    if (!s) return undefined;
    if (s[1]) return s[1];
    pos = s[0];
  }
  // The payload ends with its last field: a remaining length that runs past it is malformed
  // (3.1.1 §3.1.3, 5.0 §3.1.3); mqtt-packet would silently drop the extra bytes.
  if (pos !== end) return [0x81, `${end - pos} bytes after the last CONNECT field`];
  return undefined;
}

/**
 * Problems of any packet but CONNECT: the PUBLISH topic name, SUBSCRIBE / UNSUBSCRIBE filters
 * (empty ones, misplaced wildcards), the length of 3.1.1 acknowledgements, and v5 properties
 * (PUBLISH, acknowledgements, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT, AUTH).
 */
export function packetProblem(frame: Buffer, type: number, v5: boolean): StringProblem | undefined {
  const end = frame.length;
  const off = bodyOffset(frame);
  let pos = off;
  switch (type) {
    case 3: {
      const s = checkString(frame, pos, 'topic name', 'name');
      if (!s) return undefined;
      if (s[1]) return s[1];
      if (!v5) return undefined;
      pos = s[0] + (((frame[0] as number) & 0x06) !== 0 ? 2 : 0);
      if (pos < end && frame[pos] === 0) return undefined; // no properties: the hot path
      const p = checkProps(frame, pos, end, PROPS_IN.publish);
      return typeof p === 'number' ? undefined : p;
    }
    case 4:
    case 5:
    case 6:
    case 7: {
      // 3.1/3.1.1: the packet id and nothing else (§3.4-3.7, remaining length 2)
      if (!v5) return end - off === 2 ? undefined : [0x81, `${ACK_CMD[frame[0] as number] ?? `packet type ${type}`} with a remaining length of ${end - off}, not 2`];
      if (end - off <= 3) return undefined;
      const p = checkProps(frame, off + 3, end, PROPS_IN.ack);
      return typeof p === 'number' ? undefined : p;
    }
    case 8:
    case 10: {
      pos += 2;
      if (v5) {
        const p = checkProps(frame, pos, end, type === 8 ? PROPS_IN.subscribe : PROPS_IN.unsubscribe);
        if (typeof p !== 'number') return p;
        pos = p;
      }
      while (pos < end) {
        const s = checkString(frame, pos, 'topic filter', 'filter');
        if (!s) return undefined;
        if (s[1]) return s[1];
        // MQTT-4.7.3-1: a topic filter is at least one character. An empty one is not a
        // well-formed filter that SUBACK 0x8F could refuse: malformed, as mosquitto treats it.
        if (s[0] === pos + 2) return [0x81, 'empty topic filter (MQTT-4.7.3-1)'];
        pos = s[0] + (type === 8 ? 1 : 0);
      }
      return undefined;
    }
    case 12:
      // PINGREQ has no variable header or payload (3.1.1 §3.12, 5.0 §3.12)
      return end > off ? [0x81, 'PINGREQ with a non-zero remaining length'] : undefined;
    case 14:
      // 3.1.1 DISCONNECT has no variable header or payload (§3.14)
      if (!v5) return end > off ? [0x81, 'DISCONNECT with a non-zero remaining length'] : undefined;
      return propsAfterReason(frame, off, end, PROPS_IN.disconnect);
    case 15:
      return v5 ? propsAfterReason(frame, off, end, PROPS_IN.auth) : undefined;
    default:
      return undefined;
  }
}

/** DISCONNECT / AUTH: the properties after the reason code, when there are any. */
function propsAfterReason(frame: Buffer, off: number, end: number, ok: Uint8Array): StringProblem | undefined {
  if (end - off <= 1) return undefined;
  const p = checkProps(frame, off + 1, end, ok);
  return typeof p === 'number' ? undefined : p;
}

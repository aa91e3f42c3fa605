// The PUBLISH encoder for the delivery hot path. It splits a packet into a head (fixed header,
// topic, packet id, properties — and the payload too when it is small) and the payload, so one
// encoding can be shared by many subscribers: QoS 0 sends it as is, QoS 1/2 copies only the head
// and patches the packet identifier (and DUP) in place.
import type { QoS } from '../core/types.ts';

export type UserPropertiesLike = Record<string, string | string[]>;

export interface PublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array;
  userProperties?: UserPropertiesLike;
  subscriptionIdentifier?: number | readonly number[];
  topicAlias?: number;
}

export interface PublishFrame {
  head: Buffer;
  /** Shared payload bytes (empty when the payload is inlined into head). */
  payload: Buffer;
  /** Offset of the packet identifier in head, -1 for QoS 0. */
  idOffset: number;
  /** Whole packet size in bytes. */
  size: number;
}

const EMPTY = Buffer.alloc(0);
/** Payloads up to this size are copied into the head: one write, one buffer. */
const INLINE_PAYLOAD = 1024;

export function varIntSize(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

function writeVarInt(buf: Buffer, pos: number, n: number): number {
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    buf[pos++] = b;
  } while (n > 0);
  return pos;
}

export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Encoded MQTT 5 PUBLISH properties (without the leading length). */
function encodeProperties(p: PublishProperties): Buffer {
  const parts: Buffer[] = [];
  const str = (id: number, s: string): void => {
    const b = Buffer.from(s, 'utf8');
    const out = Buffer.allocUnsafe(3 + b.length);
    out[0] = id;
    out.writeUInt16BE(b.length, 1);
    b.copy(out, 3);
    parts.push(out);
  };
  if (p.payloadFormatIndicator !== undefined) parts.push(Buffer.from([0x01, p.payloadFormatIndicator ? 1 : 0]));
  if (p.messageExpiryInterval !== undefined) {
    const b = Buffer.allocUnsafe(5);
    b[0] = 0x02;
    b.writeUInt32BE(p.messageExpiryInterval >>> 0, 1);
    parts.push(b);
  }
  if (p.contentType !== undefined) str(0x03, p.contentType);
  if (p.responseTopic !== undefined) str(0x08, p.responseTopic);
  if (p.correlationData !== undefined) {
    const d = asBuffer(p.correlationData);
    const b = Buffer.allocUnsafe(3 + d.length);
    b[0] = 0x09;
    b.writeUInt16BE(d.length, 1);
    d.copy(b, 3);
    parts.push(b);
  }
  if (p.subscriptionIdentifier !== undefined) {
    for (const n of typeof p.subscriptionIdentifier === 'number' ? [p.subscriptionIdentifier] : p.subscriptionIdentifier) {
      const b = Buffer.allocUnsafe(1 + varIntSize(n));
      b[0] = 0x0b;
      writeVarInt(b, 1, n);
      parts.push(b);
    }
  }
  if (p.topicAlias !== undefined) {
    const b = Buffer.allocUnsafe(3);
    b[0] = 0x23;
    b.writeUInt16BE(p.topicAlias, 1);
    parts.push(b);
  }
  if (p.userProperties) {
    for (const [name, value] of Object.entries(p.userProperties)) {
      for (const v of Array.isArray(value) ? value : [value]) {
        const k = Buffer.from(name, 'utf8');
        const vb = Buffer.from(String(v), 'utf8');
        const b = Buffer.allocUnsafe(5 + k.length + vb.length);
        b[0] = 0x26;
        b.writeUInt16BE(k.length, 1);
        k.copy(b, 3);
        b.writeUInt16BE(vb.length, 3 + k.length);
        vb.copy(b, 5 + k.length);
        parts.push(b);
      }
    }
  }
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

/**
 * Encodes a PUBLISH with packet identifier 0 (patched per send for QoS > 0).
 * `properties` is only written for MQTT 5 (pass undefined for 3.1/3.1.1).
 */
export function encodePublish(topic: string, qos: QoS, retain: boolean, payload: Uint8Array, properties: PublishProperties | undefined): PublishFrame {
  const topicBytes = Buffer.byteLength(topic, 'utf8');
  const props = properties ? encodeProperties(properties) : undefined;
  const propsLen = props ? props.length : 0;
  const varHeader = 2 + topicBytes + (qos > 0 ? 2 : 0) + (props ? varIntSize(propsLen) + propsLen : 0);
  const remaining = varHeader + payload.length;
  const fixed = 1 + varIntSize(remaining);
  const inline = payload.length <= INLINE_PAYLOAD;
  const head = Buffer.allocUnsafe(fixed + varHeader + (inline ? payload.length : 0));
  head[0] = 0x30 | (qos << 1) | (retain ? 1 : 0);
  let pos = writeVarInt(head, 1, remaining);
  head.writeUInt16BE(topicBytes, pos);
  pos += 2;
  pos += head.write(topic, pos, 'utf8');
  let idOffset = -1;
  if (qos > 0) {
    idOffset = pos;
    head.writeUInt16BE(0, pos);
    pos += 2;
  }
  if (props) {
    pos = writeVarInt(head, pos, propsLen);
    pos += props.copy(head, pos);
  }
  const body = asBuffer(payload);
  if (inline) body.copy(head, pos);
  return { head, payload: inline ? EMPTY : body, idOffset, size: fixed + remaining };
}

// MQTT 5 PUBLISH / will properties → core PublicationHeaders.
import type { PublicationHeaders } from '../core/types.ts';

export interface InboundPublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
}

/**
 * Why a v5 Response Topic (PUBLISH or will) is not acceptable, or undefined. It is a Topic Name:
 * at least one character (MQTT-4.7.3-1), no wildcards (MQTT-3.3.2-14, MQTT-4.7.0-1); a responder
 * would otherwise be handed a topic it cannot publish to. Refused as a Protocol Error (0x82), the
 * code mosquitto uses for a Response Topic it rejects.
 */
export function responseTopicProblem(p: InboundPublishProperties | undefined): string | undefined {
  const t = p?.responseTopic;
  if (t === undefined) return undefined;
  if (t === '') return 'empty Response Topic';
  if (/[+#]/.test(t)) return 'wildcards in the Response Topic';
  return undefined;
}

/** Headers of an inbound publication (copied: the parsed packet's buffers view the read chunk). */
export function headersFrom(p: InboundPublishProperties | undefined, now: number): PublicationHeaders | undefined {
  if (!p) return undefined;
  const h: PublicationHeaders = {};
  let any = false;
  if (p.payloadFormatIndicator !== undefined) {
    h.payloadFormat = p.payloadFormatIndicator ? 1 : 0;
    any = true;
  }
  if (typeof p.messageExpiryInterval === 'number') {
    h.expiresAt = now + p.messageExpiryInterval * 1000;
    any = true;
  }
  if (typeof p.contentType === 'string') {
    h.contentType = p.contentType;
    any = true;
  }
  if (typeof p.responseTopic === 'string') {
    h.responseTopic = p.responseTopic;
    any = true;
  }
  if (p.correlationData) {
    h.correlationData = Buffer.from(p.correlationData);
    any = true;
  }
  if (p.userProperties) {
    h.userProperties = { ...p.userProperties };
    any = true;
  }
  return any ? h : undefined;
}

/** A payload slice that does not pin the (possibly much larger) chunk it was read from. */
export function ownBytes(b: Buffer): Buffer {
  return b.buffer.byteLength > b.length * 2 + 256 ? Buffer.from(b) : b;
}

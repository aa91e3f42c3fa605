// MQTT 5 publication properties as WAMP sees them: one WAMP custom attribute, `_mqtt`, in
// PUBLISH.Options (to set them) and in EVENT.Details (to read them). The WAMP spec reserves keys
// matching ^_[a-z0-9_]{3,}$ for implementation-specific attributes, so `_mqtt` can never clash with
// a future standard option. Inside it, the MQTT property names in snake_case.
import { ErrorUri, RouterError } from './errors.ts';
import type { Dict, PublicationHeaders } from './types.ts';

export const MQTT_ATTRIBUTE = '_mqtt';

/** MQTT strings and binary data carry a two-byte length. */
const MAX_MQTT_STRING_BYTES = 65_535;
/** Message Expiry Interval is a four-byte integer (seconds). */
const MAX_EXPIRY_SECONDS = 4_294_967_295;
const KEYS = new Set(['content_type', 'payload_format_indicator', 'response_topic', 'correlation_data', 'user_properties', 'message_expiry_interval']);

function bad(key: string, expected: string): RouterError {
  return new RouterError(ErrorUri.invalidArgument, `option '${MQTT_ATTRIBUTE}.${key}' must be ${expected}`);
}

/** U+0000 or a lone surrogate (in a `u` regex a well-formed pair is one code point, not Cs). */
const NOT_MQTT_TEXT = /[\u0000\p{Cs}]/u;

/** A string an MQTT peer accepts (MQTT-1.5.4): well-formed UTF-16 (so valid UTF-8), no U+0000, short enough. */
function mqttString(v: unknown, key: string): string {
  if (typeof v !== 'string' || NOT_MQTT_TEXT.test(v) || Buffer.byteLength(v, 'utf8') > MAX_MQTT_STRING_BYTES) {
    throw bad(key, `a string of at most ${MAX_MQTT_STRING_BYTES} UTF-8 bytes without U+0000`);
  }
  return v;
}

function userProperties(v: unknown): Record<string, string | string[]> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw bad('user_properties', 'a dictionary of strings (or lists of strings)');
  for (const [name, value] of Object.entries(v as Dict)) {
    mqttString(name, 'user_properties');
    if (Array.isArray(value)) for (const x of value) mqttString(x, 'user_properties');
    else mqttString(value, 'user_properties');
  }
  return v as Record<string, string | string[]>;
}

/** The headers a WAMP publish sets with `_mqtt: {...}`; undefined when it sets none. Throws invalid_argument. */
export function headersFromAttribute(v: unknown, now: number): PublicationHeaders | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw new RouterError(ErrorUri.invalidArgument, `option '${MQTT_ATTRIBUTE}' must be a dictionary`);
  const o = v as Dict;
  const h: PublicationHeaders = {};
  let any = false;
  for (const [key, value] of Object.entries(o)) {
    if (!KEYS.has(key)) throw new RouterError(ErrorUri.invalidArgument, `unknown option '${MQTT_ATTRIBUTE}.${key}' (known: ${[...KEYS].join(', ')})`);
    if (value === undefined || value === null) continue;
    any = true;
    switch (key) {
      case 'content_type':
        h.contentType = mqttString(value, key);
        break;
      case 'payload_format_indicator':
        if (value !== 0 && value !== 1) throw bad(key, '0 (unspecified bytes) or 1 (UTF-8 text)');
        h.payloadFormat = value;
        break;
      case 'response_topic':
        // an MQTT Topic Name (slashes), as a responder publishes to it: not empty, no wildcards
        if (mqttString(value, key) === '' || /[+#]/.test(value as string)) throw bad(key, 'an MQTT topic name (not empty, no + or #)');
        h.responseTopic = value as string;
        break;
      case 'correlation_data': {
        const bytes = value instanceof Uint8Array ? value : typeof value === 'string' ? Buffer.from(mqttString(value, key), 'utf8') : undefined;
        if (!bytes || bytes.length > MAX_MQTT_STRING_BYTES) throw bad(key, `binary or a string, at most ${MAX_MQTT_STRING_BYTES} bytes`);
        h.correlationData = bytes;
        break;
      }
      case 'user_properties':
        h.userProperties = userProperties(value);
        break;
      case 'message_expiry_interval':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_EXPIRY_SECONDS) throw bad(key, `an integer number of seconds in [0, ${MAX_EXPIRY_SECONDS}]`);
        h.expiresAt = now + value * 1000;
        break;
    }
  }
  return any ? h : undefined;
}

/** The `_mqtt` dictionary of an EVENT's details; undefined when the publication has no headers to show. */
export function headersAsAttribute(h: PublicationHeaders, now: number): Dict | undefined {
  const d: Dict = {};
  if (h.contentType !== undefined) d.content_type = h.contentType;
  if (h.payloadFormat !== undefined) d.payload_format_indicator = h.payloadFormat;
  if (h.responseTopic !== undefined) d.response_topic = h.responseTopic;
  if (h.correlationData !== undefined) d.correlation_data = h.correlationData;
  if (h.userProperties !== undefined) d.user_properties = h.userProperties;
  // what is left of it when the event is sent, as an MQTT server forwards it
  if (h.expiresAt !== undefined) d.message_expiry_interval = Math.max(0, Math.ceil((h.expiresAt - now) / 1000));
  for (const _ in d) return d;
  return undefined;
}

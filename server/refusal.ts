// What a connection refused at accept time is told, in its own protocol, once its first bytes
// show which one it speaks: HTTP 503/429, an MQTT CONNACK refusal, a RawSocket handshake error.

/** Why a connection was refused: the server-wide limit or its address's. */
export type RefusalReason = 'total' | 'address';

/** What a listener serves, so a refusal knows which answers make sense there. */
export type ListenerKind = 'sniffing' | 'mqtt' | 'http' | 'tls';

const MAGIC_RAWSOCKET = 0x7f;
const MQTT_CONNECT = 0x10;
const TLS_HANDSHAKE = 0x16;

const HTTP_STATUS: Record<RefusalReason, string> = { total: '503 Service Unavailable', address: '429 Too Many Requests' };
const MESSAGE: Record<RefusalReason, string> = {
  total: 'too many connections to this server',
  address: 'too many connections from your address',
};

function httpRefusal(reason: RefusalReason): Buffer {
  const body = `${MESSAGE[reason]}; try again later\n`;
  return Buffer.from(
    `HTTP/1.1 ${HTTP_STATUS[reason]}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Retry-After: 1\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The protocol level of an MQTT CONNECT (3, 4 or 5), when the bytes hold enough of it. */
function mqttLevel(first: Buffer): number | null {
  let offset = 1;
  for (let i = 0; i < 4; i++, offset++) {
    // remaining length: a variable byte integer; its value does not matter here
    if (offset >= first.length) return null;
    if ((first[offset]! & 0x80) === 0) break;
  }
  offset++;
  if (offset + 2 > first.length) return null;
  const nameLength = first.readUInt16BE(offset);
  const levelAt = offset + 2 + nameLength;
  return levelAt < first.length ? first[levelAt]! : null;
}

/**
 * MQTT 3.1/3.1.1: return code 3, Server unavailable. MQTT 5.0 (§3.2.2.2): 0x89 Server busy for the
 * server-wide limit (HTTP's 503), 0x97 Quota exceeded for the per-address one (an administrative
 * limit, HTTP's 429); 0x9F Connection rate exceeded is about rates, not counts.
 */
function mqttRefusal(first: Buffer, reason: RefusalReason): Buffer | null {
  const level = mqttLevel(first);
  if (level === 3 || level === 4) return Buffer.from([0x20, 0x02, 0x00, 0x03]);
  if (level !== 5) return null;
  // No Reason String: it must not make the CONNACK exceed the client's Maximum Packet Size (MQTT-3.2.2-19),
  // which would mean parsing the CONNECT's properties of a client about to be turned away.
  return Buffer.from([0x20, 0x03, 0x00, reason === 'total' ? 0x89 : 0x97, 0x00]);
}

/** RawSocket handshake error 4: maximum connection count reached. */
const RAWSOCKET_REFUSAL = Buffer.from([MAGIC_RAWSOCKET, 0x40, 0x00, 0x00]);

/** The bytes that tell a refused client why, or null when it is simply closed. */
export function refusalAnswer(kind: ListenerKind, first: Buffer, reason: RefusalReason): Buffer | null {
  const b = first[0];
  if (kind === 'tls') return null; // plaintext would be garbage to a TLS client
  if (kind === 'http') return httpRefusal(reason);
  if (b === MQTT_CONNECT) return mqttRefusal(first, reason);
  if (kind === 'mqtt') return null;
  if (b === MAGIC_RAWSOCKET) return RAWSOCKET_REFUSAL;
  if (b === TLS_HANDSHAKE) return null;
  return httpRefusal(reason);
}

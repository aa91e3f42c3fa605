// DISCONNECT from the client: reason 0x00 discards the will, 0x04 (and any other) keeps it; v5 may
// change the session expiry (but not from 0 to non-zero: protocol error).
import type { IDisconnectPacket } from 'mqtt-packet';
import { MqttError, RC } from './codes.ts';
import type { Connection } from './connection.ts';

export function handleDisconnect(conn: Connection, packet: IDisconnectPacket): void {
  const session = conn.session;
  const code = conn.version === 5 ? (packet.reasonCode ?? 0) : 0;
  const expiry = conn.version === 5 ? packet.properties?.sessionExpiryInterval : undefined;
  if (session && expiry !== undefined) {
    if (conn.connectExpiry === 0 && expiry !== 0) throw new MqttError(RC.protocolError, 'Session Expiry Interval set on DISCONNECT after CONNECT had 0');
    session.expiryInterval = Math.min(expiry, conn.gate.options.maxSessionExpiry);
    conn.gate.trackPersistence(session);
  }
  conn.cleanDisconnect = code === RC.success;
  conn.gate.logger.debug({ ...conn.log, reasonCode: code }, 'MQTT client disconnected');
  conn.end();
}

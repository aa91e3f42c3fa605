// PUBCOMP: a QoS 2 message to the client is done (after PUBREL); its slot in the window opens.
// For a QoS 1 message, or before PUBREC, it is a protocol violation; for a packet id with nothing
// in flight it is ignored.
import type { IPubcompPacket } from 'mqtt-packet';
import { MqttError, RC } from './codes.ts';
import type { Connection } from './connection.ts';

export function handlePubcomp(conn: Connection, packet: IPubcompPacket): void {
  const session = conn.session;
  if (!session) throw new MqttError(RC.protocolError, 'PUBCOMP before CONNECT');
  const id = packet.messageId ?? 0;
  const outcome = session.complete(id, 'pubcomp');
  if (outcome === 'wrong') throw new MqttError(RC.protocolError, `PUBCOMP for packet ${id}, which has no PUBREL outstanding (MQTT-4.3.3-2)`);
  if (outcome === 'unknown') conn.gate.logger.debug({ ...conn.log, packetId: id }, 'PUBCOMP for an unknown packet id: ignored');
}

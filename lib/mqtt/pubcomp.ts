// PUBCOMP: a QoS 2 message to the client is done; its slot in the window opens.
import type { IPubcompPacket } from 'mqtt-packet';
import { MqttError, RC } from './codes.ts';
import type { Connection } from './connection.ts';

export function handlePubcomp(conn: Connection, packet: IPubcompPacket): void {
  const session = conn.session;
  if (!session) throw new MqttError(RC.protocolError, 'PUBCOMP before CONNECT');
  const id = packet.messageId ?? 0;
  if (!session.complete(id, 'pubcomp')) conn.gate.logger.debug({ ...conn.log, packetId: id }, 'PUBCOMP for an unknown packet id: ignored');
}

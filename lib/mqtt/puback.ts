// PUBACK: a QoS 1 message to the client is done; its slot in the window opens.
import type { IPubackPacket } from 'mqtt-packet';
import { MqttError, RC } from './codes.ts';
import type { Connection } from './connection.ts';

export function handlePuback(conn: Connection, packet: IPubackPacket): void {
  const session = conn.session;
  if (!session) throw new MqttError(RC.protocolError, 'PUBACK before CONNECT');
  const id = packet.messageId ?? 0;
  if (!session.complete(id, 'puback')) conn.gate.logger.debug({ ...conn.log, packetId: id }, 'PUBACK for an unknown packet id: ignored');
}

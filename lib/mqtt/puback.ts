// PUBACK: a QoS 1 message to the client is done; its slot in the window opens. For a QoS 2
// message it is a protocol violation; for a packet id with nothing in flight it is ignored.
import type { IPubackPacket } from 'mqtt-packet';
import { MqttError, RC } from './codes.ts';
import type { Connection } from './connection.ts';

export function handlePuback(conn: Connection, packet: IPubackPacket): void {
  const session = conn.session;
  if (!session) throw new MqttError(RC.protocolError, 'PUBACK before CONNECT');
  const id = packet.messageId ?? 0;
  const outcome = session.complete(id, 'puback');
  if (outcome === 'wrong') throw new MqttError(RC.protocolError, `PUBACK for packet ${id}, a QoS 2 message (MQTT-4.3.3-2)`);
  if (outcome === 'unknown') conn.gate.logger.debug({ ...conn.log, packetId: id }, 'PUBACK for an unknown packet id: ignored');
}

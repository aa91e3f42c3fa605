// PUBREC: the client has a QoS 2 message; answer PUBREL and forget the message itself (only the
// packet id stays until PUBCOMP). A v5 failure reason code ends the exchange. For a QoS 1
// message it is a protocol violation.
import type { IPubrecPacket } from 'mqtt-packet';
import { MqttError, RC } from './codes.ts';
import type { Connection } from './connection.ts';

export function handlePubrec(conn: Connection, packet: IPubrecPacket): void {
  const session = conn.session;
  if (!session) throw new MqttError(RC.protocolError, 'PUBREC before CONNECT');
  const id = packet.messageId ?? 0;
  const failed = conn.version === 5 && (packet.reasonCode ?? 0) >= 0x80;
  const outcome = session.received(id, failed);
  if (outcome === 'wrong') throw new MqttError(RC.protocolError, `PUBREC for packet ${id}, a QoS 1 message (MQTT-4.3.2-2)`);
  if (outcome === 'pubrel') conn.sendPubrel(id);
  else if (outcome === 'unknown' && !failed) {
    conn.send({ cmd: 'pubrel', messageId: id, reasonCode: RC.packetIdNotFound, properties: conn.reason('unknown packet identifier') });
  }
}

// PUBREL: the client releases an inbound QoS 2 message; the packet id is forgotten and PUBCOMP
// answers. For an unknown id the spec prescribes PUBCOMP 0x92 (v5) / a plain PUBCOMP (3.1.1):
// the connection stays open. A persistent session sends PUBCOMP once the release is stored.
import type { IPubrelPacket } from 'mqtt-packet';
import { MqttError, RC } from './codes.ts';
import type { Connection } from './connection.ts';

export function handlePubrel(conn: Connection, packet: IPubrelPacket): void {
  const session = conn.session;
  if (!session) throw new MqttError(RC.protocolError, 'PUBREL before CONNECT');
  const id = packet.messageId ?? 0;
  // PUBCOMP queues behind earlier acknowledgements, so it never overtakes the PUBREC it answers.
  if (session.inboundQos2.delete(id)) {
    const released = session.journal?.inboundReleased(id);
    if (!released) conn.ack({ cmd: 'pubcomp', messageId: id, reasonCode: RC.success });
    else {
      const slot = conn.reserveAck();
      released.then(
        conn.guard(() => conn.settleAck(slot, { cmd: 'pubcomp', messageId: id, reasonCode: RC.success })),
        conn.guard((err: unknown) => conn.storeFailure('a QoS 2 release', err)),
      );
    }
    return;
  }
  conn.gate.logger.debug({ ...conn.log, packetId: id }, 'PUBREL for an unknown packet id');
  conn.ack({ cmd: 'pubcomp', messageId: id, reasonCode: RC.packetIdNotFound, properties: conn.reason('unknown packet identifier') });
}

// UNSUBSCRIBE: drops the session's subscriptions by filter; v5 UNSUBACK reports 0x11 for filters
// that had no subscription. A persistent session stores the change before UNSUBACK.
import type { IUnsubscribePacket } from 'mqtt-packet';
import { MqttError, RC } from './codes.ts';
import type { Connection } from './connection.ts';

export function handleUnsubscribe(conn: Connection, packet: IUnsubscribePacket): void {
  const session = conn.session;
  if (!session) throw new MqttError(RC.protocolError, 'UNSUBSCRIBE before CONNECT');
  if (packet.unsubscriptions.length === 0) throw new MqttError(RC.protocolError, 'UNSUBSCRIBE without topic filters');
  const codes: number[] = [];
  let changed = false;
  for (const filter of packet.unsubscriptions) {
    const entry = session.subs.get(filter);
    if (!entry) {
      codes.push(RC.noSubscriptionExisted);
      continue;
    }
    session.deleteSub(filter);
    changed = true;
    try {
      session.core.unsubscribe(entry.sub.id);
      codes.push(RC.success);
    } catch {
      codes.push(RC.noSubscriptionExisted);
    }
  }
  const acknowledge = (): void => conn.send({ cmd: 'unsuback', messageId: packet.messageId ?? 0, granted: codes });
  const saved = changed ? session.journal?.saveRecord() : undefined;
  if (saved) saved.then(conn.guard(acknowledge), conn.guard((err: unknown) => conn.storeFailure('subscriptions', err)));
  else acknowledge();
}

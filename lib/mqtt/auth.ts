// AUTH (v5 enhanced authentication): kitsune offers no authentication method, so CONNECT with one
// is refused (CONNACK 0x8C) and an AUTH packet is a protocol error.
import type { IAuthPacket } from 'mqtt-packet';
import { MqttError, RC } from './codes.ts';
import type { Connection } from './connection.ts';

export function handleAuth(_conn: Connection, _packet: IAuthPacket): void {
  throw new MqttError(RC.protocolError, 'AUTH without an agreed authentication method');
}

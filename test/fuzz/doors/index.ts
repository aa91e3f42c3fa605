// Every fuzz door, by name.
import type { Door } from '../harness/door.ts';
import { httpDoor } from './http.ts';
import { mqttDoor } from './mqtt.ts';
import { rawsocketDoor } from './rawsocket.ts';
import { wampDoor } from './wamp.ts';
import { websocketDoor } from './websocket.ts';

export const doors: Record<string, Door<never>> = Object.fromEntries(
  [websocketDoor, wampDoor('json'), wampDoor('msgpack'), wampDoor('cbor'), rawsocketDoor, mqttDoor('memory'), mqttDoor('sqlite'), httpDoor].map((d) => [d.name, d as Door<never>]),
);

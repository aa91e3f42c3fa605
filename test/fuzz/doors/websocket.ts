// WebSocket door: opening handshakes (right and wrong: paths, subprotocols, versions, odd headers)
// then frames with mutated fields: FIN, RSV bits, opcodes, masking, length forms, lying lengths,
// control frames, close codes, and runs of the same frame (thousands of empty continuations).
import fc from 'fast-check';
import type { Door } from '../harness/door.ts';
import { upgradeRequest, wsFrame, type WsFrame } from './framing.ts';

interface FrameInput {
  frame: WsFrame;
  payload: 'hello' | 'mqttConnect' | 'empty' | 'close' | { zeros: number } | Uint8Array;
  closeCode: number;
  repeat: number;
}

interface WsCase {
  path: string;
  subprotocol: string | undefined;
  extraHeaders: string;
  frames: FrameInput[];
}

const HELLO = Buffer.from(JSON.stringify([1, 'realm1', { roles: { subscriber: {}, publisher: {} } }]));
// A valid MQTT 3.1.1 CONNECT (clean session, client id "f", keep alive 60).
const MQTT_CONNECT = Buffer.from([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 1, 0x66]);

const frame: fc.Arbitrary<WsFrame> = fc.record({
  fin: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  rsv: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(7) }),
  opcode: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(1, 2) }, { weight: 3, arbitrary: fc.constantFrom(0, 8, 9, 10) }, { weight: 1, arbitrary: fc.nat(15) }),
  key: fc.oneof({ weight: 12, arbitrary: fc.uint8Array({ minLength: 4, maxLength: 4 }) }, { weight: 1, arbitrary: fc.constant(undefined) }),
  lengthDelta: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(2 ** 20, 2 ** 25, 2 ** 31, 2 ** 40) }),
  lengthForm: fc.oneof({ weight: 8, arbitrary: fc.constant(7 as const) }, { weight: 1, arbitrary: fc.constantFrom(16 as const, 64 as const) }),
});

const arb: fc.Arbitrary<WsCase> = fc.record({
  path: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('/ws', '/mqtt') }, { weight: 1, arbitrary: fc.constantFrom('/', '/hustmq', '/esub/psub/k', '/ws?x=1', '//ws', '/%zz', '*') }),
  subprotocol: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('wamp.2.json', 'wamp.2.msgpack', 'wamp.2.cbor', 'mqtt') },
    { weight: 1, arbitrary: fc.constantFrom(undefined, '', 'wamp.2.json, mqtt', 'wamp.2.xml', 'mqttv3.1', 'wamp.2.json.batched', ',,,') },
  ),
  extraHeaders: fc.oneof(
    { weight: 12, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constantFrom('Sec-WebSocket-Version: 8\r\n', 'Sec-WebSocket-Extensions: permessage-deflate\r\n', 'Sec-WebSocket-Key: x\r\n', `X-Big: ${'a'.repeat(20000)}\r\n`, 'Content-Length: 5\r\n', 'Transfer-Encoding: chunked\r\n') },
  ),
  frames: fc.array(
    fc.record({
      frame,
      payload: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('hello' as const, 'mqttConnect' as const, 'empty' as const, 'close' as const) },
        { weight: 3, arbitrary: fc.uint8Array({ maxLength: 40 }) },
        { weight: 1, arbitrary: fc.record({ zeros: fc.constantFrom(125, 126, 65535, 65536) }) },
      ),
      closeCode: fc.oneof(fc.constantFrom(1000, 1001, 1002, 1005, 1006, 1015, 1016, 2999, 3000, 4999, 5000, 0, 65535), fc.nat(65535)),
      repeat: fc.oneof({ weight: 30, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 20_000 }) }),
    }),
    { maxLength: 5 },
  ),
});

function payloadOf(f: FrameInput): Buffer {
  const p = f.payload;
  if (p === 'hello') return HELLO;
  if (p === 'mqttConnect') return MQTT_CONNECT;
  if (p === 'empty') return Buffer.alloc(0);
  if (p === 'close') {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(f.closeCode);
    return Buffer.concat([b, Buffer.from('bye')]);
  }
  if (p instanceof Uint8Array) return Buffer.from(p);
  return Buffer.alloc(p.zeros);
}

export const websocketDoor: Door<WsCase> = {
  name: 'websocket',
  arb,
  listener: 'http',
  encode(c) {
    const frames = c.frames.map((f) => {
      const one = wsFrame(f.frame, payloadOf(f));
      // A run stays under ~200 kB per connection, so a batch's memory is ours to bound.
      const times = Math.max(1, Math.min(f.repeat, Math.floor(200_000 / one.length)));
      if (times === 1) return one;
      const run = Buffer.alloc(one.length * times);
      for (let i = 0; i < times; i++) one.copy(run, i * one.length);
      return run;
    });
    return [upgradeRequest(c.path, c.subprotocol, c.extraHeaders), ...frames];
  },
};

// WAMP doors, one per serializer: a session (HELLO, or a wrong one, or none) followed by random
// messages, over RawSocket or WebSocket; every message may carry a few mutated bytes.
import fc from 'fast-check';
import type { Door } from '../harness/door.ts';
import { rawFrame, rawHandshake, RAWSOCKET_IDS, upgradeRequest, wsData } from './framing.ts';
import { applyMutations, encodeWamp, mutations, wampInput, type Mutation, type SerializerName, type WampInput } from './wamp-values.ts';

interface WampCase {
  transport: 'rawsocket' | 'websocket';
  hello: 'valid' | 'none' | WampInput;
  messages: { input: WampInput; mutations: Mutation[] }[];
}

const HELLO = [1, 'realm1', { roles: { caller: {}, callee: {}, publisher: {}, subscriber: {} } }];

export function wampDoor(serializer: SerializerName): Door<WampCase> {
  const input = wampInput(serializer);
  const arb: fc.Arbitrary<WampCase> = fc.record({
    transport: fc.constantFrom('rawsocket', 'websocket'),
    hello: fc.oneof({ weight: 8, arbitrary: fc.constant('valid' as const) }, { weight: 1, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: input }),
    messages: fc.array(fc.record({ input, mutations: fc.oneof({ weight: 3, arbitrary: fc.constant<Mutation[]>([]) }, { weight: 1, arbitrary: mutations }) }), { maxLength: 4 }),
  });
  return {
    name: `wamp-${serializer}`,
    arb,
    listener: 'rawsocket',
    encode(c) {
      const hello = c.hello === 'valid' ? encodeWamp(serializer, { kind: 'message', value: HELLO }) : c.hello === 'none' ? undefined : encodeWamp(serializer, c.hello);
      const payloads = [...(hello ? [hello] : []), ...c.messages.map((m) => applyMutations(encodeWamp(serializer, m.input), m.mutations))];
      if (c.transport === 'rawsocket') return [rawHandshake(RAWSOCKET_IDS[serializer]), ...payloads.map((p) => rawFrame(p))];
      return [upgradeRequest('/ws', `wamp.2.${serializer}`), ...payloads.map((p) => wsData(p, serializer !== 'json'))];
    },
  };
}

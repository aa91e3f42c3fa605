// Two autobahn clients that prove a router still works after something went wrong for another
// session: an RPC (WebSocket callee, RawSocket caller) and an acknowledged event round trip.
import type { ExecutionContext } from 'ava';
import { collect } from './autobahn.ts';
import { connectAutobahn } from './wamp.ts';

export interface Bystanders {
  /** One more RPC and event round trip; fails the test if either session was closed. */
  check(): Promise<void>;
}

export async function wampBystanders(t: ExecutionContext, urls: Record<string, string>, rawsocket = true): Promise<Bystanders> {
  const a = await connectAutobahn(t, urls);
  const b = await connectAutobahn(t, urls, { rawsocket });
  await a.register('bystander.ping', (args) => ['pong', ...((args as unknown[]) ?? [])]);
  const events = await collect(a, 'bystander.heartbeat');
  let n = 0;
  return {
    async check(): Promise<void> {
      n++;
      t.deepEqual(await b.call('bystander.ping', [n]), ['pong', n]);
      await b.publish('bystander.heartbeat', [n], {}, { acknowledge: true });
      await events.waitFor(n);
      t.true(a.isOpen && b.isOpen, 'the bystanders are still open');
    },
  };
}

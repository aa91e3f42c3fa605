// What a fuzz door is: an arbitrary of structured inputs, how one input becomes the bytes of one
// connection, and where (which listener of the router) those bytes go.
import type fc from 'fast-check';
import type { Store } from './router.ts';

export interface Door<T = unknown> {
  name: string;
  arb: fc.Arbitrary<T>;
  /** The chunks one fresh connection writes for `input`, in order. */
  encode(input: T): Buffer[];
  /** The key of the listener URL in the router's "listening" line (rawsocket, mqtt, http...). */
  listener: string;
  store?: Store;
  /** How long to keep a connection the router does not close (long polls: the abort path). */
  lingerMs?: number;
  concurrency?: number;
}

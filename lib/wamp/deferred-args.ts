// Arguments a serializer left encoded when it decoded a PUBLISH, CALL, YIELD or ERROR (see
// json-frame.ts and msgpack-frame.ts). Core keeps them in a Payload; a peer of the same format gets
// them copied behind its own message head, and anyone else gets the values, decoded on first use.
import type { EncodedArgs } from '../core/payload.ts';
import type { Dict } from '../core/types.ts';
import { asWireError } from './wire-values.ts';

export abstract class DeferredArgs implements EncodedArgs {
  /** The serializer's WebSocket subprotocol, e.g. 'wamp.2.json'. */
  abstract readonly format: string;

  abstract decode(): { args: unknown[] | undefined; kwargs: Dict | undefined };

  /** One frame in this format: `head`, then these arguments. Throws WireError. */
  encodeAfter(head: unknown[]): Buffer {
    try {
      return this.frameAfter(head);
    } catch (err) {
      throw asWireError(err, `cannot encode ${this.format}`);
    }
  }

  /** encodeAfter, throwing whatever the format's encoder throws. */
  protected abstract frameAfter(head: unknown[]): Buffer;
}

/** Elements before the Arguments, by message type: PUBLISH, CALL, YIELD, ERROR. */
export const ARGS_INDEX: Readonly<Record<number, number>> = { 16: 4, 48: 4, 70: 3, 8: 5 };

// For encodeAfter: the head elements worth writing by hand (an EVENT's or RESULT's are mostly these).

export const isId = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

export function isEmptyDict(x: unknown): boolean {
  if (typeof x !== 'object' || x === null || x.constructor !== Object) return false;
  for (const _ in x) return false;
  return true;
}

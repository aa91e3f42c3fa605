// The payload of a message whose Arguments start at element `i`. Arguments the serializer left
// encoded (DeferredArgs) stay so: a peer of the same serializer gets them copied, and their values
// are decoded only if someone else needs them.
import { Payload } from '../../core/payload.ts';
import { DeferredArgs } from '../deferred-args.ts';
import * as v from '../validate.ts';

export function argsPayload(msg: unknown[], i: number): Payload {
  const first = msg[i];
  if (first instanceof DeferredArgs) return Payload.fromEncoded(first);
  return Payload.fromArgs(v.args(msg, i), v.kwargs(msg, i + 1));
}

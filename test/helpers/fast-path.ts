// The check both argument fast paths (json-frame.ts, msgpack-frame.ts) must pass: on every frame it
// accepts, it means what the full decode means, and the arguments it left encoded, framed behind a
// new head, decode to the same values.
import type { ExecutionContext } from 'ava';
import { ARGS_INDEX, DeferredArgs } from '../../lib/wamp/deferred-args.ts';
import { argsPayload } from '../../lib/wamp/handlers/args.ts';
import type { Serializer } from '../../lib/wamp/serializers.ts';

export interface FastPath {
  serializer: Serializer;
  /** The fast path: the message with its arguments left encoded, or undefined to leave it to the full decode. */
  decode(frame: Buffer): unknown[] | undefined;
  /** True when the encoded arguments are the frame's own bytes (or text). */
  cutFrom(frame: Buffer, args: DeferredArgs): boolean;
  /** The frame as a failure message shows it. */
  show(frame: Buffer): string;
}

/** Checks the fast path on every frame; returns how many it took, and how many of those with arguments. */
export function checkFastPath(t: ExecutionContext, p: FastPath, frames: Iterable<Buffer>): { fast: number; deferred: number } {
  let fast = 0;
  let deferred = 0;
  for (const b of frames) {
    const where = p.show(b);
    const quick = p.decode(b);
    let full: unknown[] | undefined;
    try {
      full = p.serializer.decode(b);
    } catch {
      full = undefined;
    }
    if (quick === undefined) continue;
    fast++;
    if (full === undefined) {
      t.fail(`the fast path accepted what the full decode refuses: ${where}`);
      continue;
    }
    const index = ARGS_INDEX[quick[0] as number] as number;
    if (quick.length !== full.length) t.fail(`lengths differ: ${where}`);
    t.deepEqual(quick.slice(0, index), full.slice(0, index), where);
    const args = quick[index];
    if (!(args instanceof DeferredArgs)) {
      t.deepEqual(quick, full, where);
      continue;
    }
    deferred++;
    const q = argsPayload(quick, index);
    const f = argsPayload(full, index);
    t.deepEqual([q.args, q.kwargs], [f.args, f.kwargs], where);
    t.true(q.encodedAs(p.serializer.subprotocol) === args && p.cutFrom(b, args), where);
    const tail = f.kwargs === undefined ? [f.args] : [f.args ?? [], f.kwargs];
    t.deepEqual(p.serializer.decode(args.encodeAfter([36, 2 ** 40, 7, {}])), [36, 2 ** 40, 7, {}, ...tail], where);
  }
  return { fast, deferred };
}

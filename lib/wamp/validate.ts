// Shape checks for incoming WAMP messages. A message of the wrong shape is a protocol violation
// that ends the session; a well-formed request the router refuses is answered with ERROR instead.
import { isValidId } from '../core/ids.ts';
import type { Dict } from '../core/types.ts';

export class ProtocolViolation extends Error {}

export function requestId(msg: unknown[], i: number, what = 'request id'): number {
  const v = msg[i];
  if (!isValidId(v) || v === 0) throw new ProtocolViolation(`${what} must be an integer in [1, 2^53]`);
  return v;
}

export function id(msg: unknown[], i: number, what: string): number {
  const v = msg[i];
  if (!isValidId(v)) throw new ProtocolViolation(`${what} must be an integer in [0, 2^53]`);
  return v;
}

export function dict(msg: unknown[], i: number, what: string): Dict {
  const v = msg[i];
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw new ProtocolViolation(`${what} must be a dictionary`);
  return v as Dict;
}

export function uri(msg: unknown[], i: number, what: string): string {
  const v = msg[i];
  if (typeof v !== 'string') throw new ProtocolViolation(`${what} must be a string`);
  return v;
}

export function args(msg: unknown[], i: number): unknown[] | undefined {
  const v = msg[i];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new ProtocolViolation('Arguments must be a list');
  return v;
}

export function kwargs(msg: unknown[], i: number): Dict | undefined {
  const v = msg[i];
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw new ProtocolViolation('ArgumentsKw must be a dictionary');
  return v as Dict;
}

export function length(msg: unknown[], min: number, max: number, name: string): void {
  if (msg.length < min || msg.length > max) throw new ProtocolViolation(`${name} must have ${min}..${max} elements, got ${msg.length}`);
}

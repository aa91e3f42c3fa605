// WAMP ids: integers in [1, 2^53]. Session ids are random (global scope); others are
// sequential per router (router scope), which the WAMP spec allows and keeps them unique.
import { randomInt } from 'node:crypto';

export const MAX_ID = 2 ** 53;

export function randomId(): number {
  // randomInt's range is below 2^48; combine two draws to cover [1, 2^53].
  const high = randomInt(0, 2 ** 29);
  const low = randomInt(0, 2 ** 24);
  return high * 2 ** 24 + low + 1;
}

export class IdSequence {
  private next = 0;
  take(): number {
    this.next = this.next >= MAX_ID ? 1 : this.next + 1;
    return this.next;
  }
}

export function isValidId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= MAX_ID;
}

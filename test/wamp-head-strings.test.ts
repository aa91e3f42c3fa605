// The head-string cache gives exactly what Buffer#toString gives, whatever was cached before:
// colliding slots, equal lengths with different bytes, invalid UTF-8, long strings past the cache.
import test from 'ava';
import { headString } from '../lib/wamp/head-strings.ts';
import { prng } from './helpers/random.ts';

test('head strings decode as Buffer#toString does: 50,000 random byte runs at random offsets', (t) => {
  const r = prng(5);
  const alphabet = [0x61, 0x62, 0x2e, 0x5f, 0xc3, 0xa9, 0xe2, 0x80, 0xa8, 0xff, 0xf0, 0x9f, 0x98, 0x80];
  let mismatches = 0;
  for (let n = 0; n < 50_000; n++) {
    // few distinct lengths and bytes, so slots collide and keys of equal length differ
    const length = r() < 0.05 ? 100 + Math.floor(r() * 100) : Math.floor(r() * 12);
    const offset = Math.floor(r() * 4);
    const b = Buffer.alloc(offset + length + 3, 0x7c);
    for (let k = 0; k < length; k++) b[offset + k] = alphabet[Math.floor(r() * (r() < 0.7 ? 4 : alphabet.length))] as number;
    const got = headString(b, offset, offset + length);
    if (got !== b.toString('utf8', offset, offset + length)) mismatches++;
    b.fill(0x61); // the caller's buffer is reused (here as "aaa..."): the cache must hold its own copy
  }
  t.is(mismatches, 0);
});

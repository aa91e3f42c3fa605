// Short seeded fuzz runs of the WAMP doors, one per serializer (10^4 inputs each, fixed seed).
import test from 'ava';
import { fuzzSmoke } from '../helpers/fuzz-smoke.ts';

for (const serializer of ['json', 'msgpack', 'cbor']) {
  test.serial(`wamp-${serializer}: the router survives 10^4 fuzzed sessions and still serves every protocol`, (t) => fuzzSmoke(t, `wamp-${serializer}`));
}

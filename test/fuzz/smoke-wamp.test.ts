// Short seeded fuzz runs of the WAMP doors, one per serializer (fixed seed; see test/helpers/fuzz-smoke.ts).
import test from 'ava';
import { fuzzSmoke } from '../helpers/fuzz-smoke.ts';

for (const serializer of ['json', 'msgpack', 'cbor']) {
  test.serial(`wamp-${serializer}: the router survives fuzzed sessions and still serves every protocol`, (t) => fuzzSmoke(t, `wamp-${serializer}`));
}

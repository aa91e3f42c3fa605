// Short seeded fuzz run of the http door (fixed seed; see test/helpers/fuzz-smoke.ts) against a live router.
import test from 'ava';
import { fuzzSmoke } from '../helpers/fuzz-smoke.ts';

test('http: the router survives fuzzed inputs and still serves every protocol', (t) => fuzzSmoke(t, 'http'));

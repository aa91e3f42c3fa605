// Short seeded fuzz run of the websocket door (10^4 inputs, fixed seed) against a live router.
import test from 'ava';
import { fuzzSmoke } from '../helpers/fuzz-smoke.ts';

test('websocket: the router survives 10^4 fuzzed inputs and still serves every protocol', (t) => fuzzSmoke(t, 'websocket'));

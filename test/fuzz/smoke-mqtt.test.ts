// Short seeded fuzz runs of the MQTT door (3.1, 3.1.1, 5.0) on the memory store and on SQLite,
// where persistent sessions hit the disk (half the inputs: each costs a transaction).
import test from 'ava';
import { fuzzSmoke } from '../helpers/fuzz-smoke.ts';

test.serial('mqtt: the router survives fuzzed sessions and still serves every protocol', (t) => fuzzSmoke(t, 'mqtt'));
test.serial('mqtt-sqlite: the router survives fuzzed sessions with a SQLite store', (t) => fuzzSmoke(t, 'mqtt-sqlite', 0.5));

// Short seeded fuzz runs of the MQTT door (3.1, 3.1.1, 5.0) on the memory store (10^4 inputs) and on
// SQLite, where persistent sessions hit the disk (fewer inputs: each costs a transaction).
import test from 'ava';
import { fuzzSmoke } from '../helpers/fuzz-smoke.ts';

test.serial('mqtt: the router survives 10^4 fuzzed sessions and still serves every protocol', (t) => fuzzSmoke(t, 'mqtt'));
test.serial('mqtt-sqlite: the router survives fuzzed sessions with a SQLite store', (t) => fuzzSmoke(t, 'mqtt-sqlite', 2_000));

// Resource-lock demo: take the lock `demo.resource`, hold it a while, release it, repeat.
// Run several of these against one router: the lock passes from worker to worker and is never held
// by two. Kill one while it holds the lock: its will releases it and the next worker takes over.
//
//   node --import tsx demo/resource-lock.ts [--url ws://127.0.0.1:8080/ws] [--name w1] [--hold-ms 3000] [--cycles N]
import { parseArgs } from 'node:util';
import autobahn from 'autobahn';
import { eventLog, sleep } from './common.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.KITSUNE_URL ?? 'ws://127.0.0.1:8080/ws' },
    realm: { type: 'string', default: 'realm1' },
    name: { type: 'string', default: `worker-${process.pid}` },
    lock: { type: 'string', default: 'demo.resource' },
    'hold-ms': { type: 'string', default: '3000' },
    'pause-ms': { type: 'string', default: '200' },
    cycles: { type: 'string', default: '0' },
  },
});
const holdMs = Number(values['hold-ms']);
const pauseMs = Number(values['pause-ms']);
const cycles = Number(values.cycles);

const log = eventLog(values.name);


async function work(session: autobahn.Session): Promise<void> {
  for (let n = 1; cycles === 0 || n <= cycles; n++) {
    log('waiting', { cycle: n });
    // Written only when the key is absent (when: null), parked FIFO until then (watch), and deleted
    // by the router if this session ends while holding it (will: null).
    await session.publish(values.lock, [{ holder: values.name, pid: process.pid }], {}, {
      acknowledge: true, retain: true, when: null, watch: true, will: null,
    } as autobahn.IPublishOptions);
    log('acquired', { cycle: n });
    await sleep(holdMs);
    log('released', { cycle: n });
    await session.publish(values.lock, [null], {}, { acknowledge: true, retain: true } as autobahn.IPublishOptions);
    await sleep(pauseMs);
  }
}

const connection = new autobahn.Connection({ url: values.url, realm: values.realm, max_retries: -1, initial_retry_delay: 0.5, max_retry_delay: 2 });
connection.onopen = (session) => {
  log('connected', { session: session.id });
  work(session).then(
    () => {
      log('done');
      connection.close();
      process.exit(0);
    },
    (err: unknown) => log('error', { error: String((err as { error?: string }).error ?? err) }),
  );
};
connection.onclose = (reason) => {
  log('disconnected', { reason });
  return false;
};
connection.open();
process.on('SIGTERM', () => {
  connection.close();
  process.exit(0);
});

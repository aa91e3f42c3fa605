// hustmq WAMP worker: an autobahn callee that serves hustmq do_get tasks next to the HTTP workers
// (demo/hustmq-worker.ts). It registers the procedure prefix `hustmq.do.` with the invoke policy
// the bridge's HTTP workers use ('last'), so it shares one registration with them: each task goes
// to one of them. The task arrives as args [n] (the do_get body, parsed as JSON); the result goes
// back to the do_get client as its body.
//
//   node --import tsx demo/hustmq-wamp-worker.ts [WS-URL] [--name wamp1] [--realm realm1] [--invoke last]
//   --invoke must match the bridge's doInvokePolicy (hustmq config; default 'last', as hustmq hands a
//   task to the most recently parked worker; 'roundrobin' spreads tasks evenly over a mixed pool).
//   WS-URL defaults to $KITSUNE_URL or ws://127.0.0.1:8080/ws
import { parseArgs } from 'node:util';
import autobahn from 'autobahn';
import { eventLog, fib } from './common.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string', default: `wamp-worker-${process.pid}` },
    realm: { type: 'string', default: 'realm1' },
    invoke: { type: 'string', default: 'last' },
  },
});
const url = positionals[0] ?? process.env.KITSUNE_URL ?? 'ws://127.0.0.1:8080/ws';

const log = eventLog(values.name);


// msgpack carries binary values as they are (autobahn's JSON serializer has no binary convention)
const serializers = (autobahn as unknown as { serializer: Record<string, new () => object> }).serializer;
const connection = new autobahn.Connection({
  transports: [{ type: 'websocket', url, serializers: [new (serializers.MsgpackSerializer as new () => object)()] }],
  realm: values.realm,
  max_retries: -1,
  max_retry_delay: 5,
} as unknown as autobahn.IConnectionOptions);

connection.onopen = (session) => {
  log('connected', { url });
  session
    .register(
      'hustmq.do.',
      (args, _kwargs, details) => {
        const procedure = (details as unknown as { procedure?: string }).procedure ?? '';
        const n = Number(args?.[0]);
        if (!Number.isInteger(n) || n < 0 || n > 10_000) {
          const got = args?.[0] instanceof Uint8Array ? Buffer.from(args[0]).toString() : JSON.stringify(args?.[0]);
          throw new autobahn.Error('demo.error.bad_input', [`fib needs an integer 0-10000, got ${got}`]);
        }
        const result = fib(n);
        log('task', { queue: procedure.replace(/^hustmq\.do\./, ''), n, result: result.toString().slice(0, 40) });
        // A number reaches an HTTP client as its digits. Past 2^53 send the digits as bytes: a binary
        // result is passed through as it is (a string would arrive JSON-quoted).
        return result <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(result) : Buffer.from(result.toString());
      },
      { match: 'prefix', invoke: values.invoke } as autobahn.IRegisterOptions,
    )
    .then(
      () => log('registered', { procedure: 'hustmq.do.' }),
      (err: unknown) => log('register failed', { error: JSON.stringify(err) }),
    );
};

connection.onclose = (reason, details) => {
  log('disconnected', { reason, details: (details as { reason?: string })?.reason });
  return false;
};

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    connection.close();
    setTimeout(() => process.exit(0), 200).unref();
  });
}

connection.open();

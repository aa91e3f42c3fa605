// After each fuzz batch: a well-behaved client of every protocol must still get served by the same
// router (autobahn over WebSocket with each serializer and over RawSocket, mqtt.js 3.1.1 and 5.0,
// fetch to both bridges and /healthz). Each check has its own deadline, so a stall is a failure too.
import autobahn from 'autobahn';
import mqtt from 'mqtt';
import { hostPort } from './router.ts';

const DEADLINE_MS = 15_000;

type SerializerCtor = new () => object;
const serializers = (autobahn as unknown as { serializer: Record<string, SerializerCtor> }).serializer;
const WAMP_SERIALIZERS = { json: serializers.JSONSerializer, msgpack: serializers.MsgpackSerializer, cbor: serializers.CBORSerializer };

let round = 0;

/** Runs every check in turn; resolves with the failures, each naming its client ([] when healthy). */
export async function healthFailures(urls: Record<string, string>): Promise<string[]> {
  const n = ++round;
  const checks: [string, () => Promise<void>][] = [
    ...Object.entries(WAMP_SERIALIZERS).map(([name, ctor]): [string, () => Promise<void>] => [
      `autobahn websocket ${name}`,
      () => wampRoundTrip({ type: 'websocket', url: urls.wamp, serializers: [new (ctor as SerializerCtor)()] }, `${name}.${n}`),
    ]),
    ['autobahn rawsocket json', () => wampRoundTrip({ type: 'rawsocket', ...hostPort(urls.rawsocket as string) }, `raw.${n}`)],
    ['mqtt.js 3.1.1', () => mqttRoundTrip(urls.mqtt as string, 4, `v4/${n}`)],
    ['mqtt.js 5.0', () => mqttRoundTrip(urls.mqtt as string, 5, `v5/${n}`)],
    ['mqtt.js 5.0 over WebSocket', () => mqttRoundTrip(urls.mqttWs as string, 5, `ws/${n}`)],
    ['fetch /healthz', () => expectStatus(`${urls.http}/healthz`, 200).then(() => {})],
    ['fetch hustmq put+get', () => hustmqRoundTrip(urls.hustmq as string, `fuzzhealth${n}`)],
    ['fetch esub /ping', () => expectStatus(`${urls.esub}/ping`, 200).then(() => {})],
  ];
  const failures: string[] = [];
  for (const [name, check] of checks) {
    try {
      await withDeadline(check(), name);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  return failures;
}

function withDeadline<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${DEADLINE_MS} ms`)), DEADLINE_MS)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Opens a session, registers a procedure, calls it and checks the echo. */
function wampRoundTrip(transport: Record<string, unknown>, tag: string): Promise<void> {
  const connection = new autobahn.Connection({ transports: [transport], realm: 'realm1', max_retries: 0 } as unknown as autobahn.IConnectionOptions);
  return new Promise<void>((resolve, reject) => {
    connection.onopen = (session) => {
      const procedure = `fuzz.health.${tag}`;
      session
        .register(procedure, (args?: unknown[]) => args?.[0])
        .then(() => session.call<unknown>(procedure, [tag]))
        .then((answer) => {
          if (answer !== tag) throw new Error(`call echoed ${JSON.stringify(answer)}`);
          resolve();
        })
        .catch((err: unknown) => reject(err instanceof Error ? err : new Error(JSON.stringify(err))))
        .finally(() => connection.close());
    };
    connection.onclose = (reason, details) => {
      reject(new Error(`closed: ${reason} ${JSON.stringify(details)}`));
      return true;
    };
    connection.open();
  });
}

/** Connects, subscribes at QoS 1, publishes at QoS 1 and waits for its own message. */
async function mqttRoundTrip(url: string, protocolVersion: 4 | 5, tag: string): Promise<void> {
  const client = await mqtt.connectAsync(url, { protocolVersion, reconnectPeriod: 0, connectTimeout: DEADLINE_MS, clientId: `fuzz-health-${tag.replace('/', '-')}` });
  try {
    const topic = `fuzz/health/${tag}`;
    const got = new Promise<string>((resolve) => client.on('message', (t, payload) => t === topic && resolve(payload.toString())));
    await client.subscribeAsync(topic, { qos: 1 });
    await client.publishAsync(topic, tag, { qos: 1 });
    const payload = await got;
    if (payload !== tag) throw new Error(`received ${JSON.stringify(payload)}`);
  } finally {
    await client.endAsync(true);
  }
}

async function expectStatus(url: string, status: number): Promise<string> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== status) throw new Error(`${url} answered ${res.status}: ${text.slice(0, 200)}`);
  return text;
}

async function hustmqRoundTrip(base: string, queue: string): Promise<void> {
  await expectStatus(`${base}/put?queue=${queue}&item=ok`, 200);
  const item = await expectStatus(`${base}/get?queue=${queue}&worker=fuzzworker`, 200);
  if (item !== 'ok') throw new Error(`get returned ${JSON.stringify(item)}`);
}

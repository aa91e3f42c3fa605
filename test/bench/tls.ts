// TLS rows of `npm run bench`: WAMP (RawSocket, json) and MQTT (3.1.1, QoS 0) 1->1 pub/sub through
// the real server program, over plain TCP and over TLS in the same run (ratio = TLS / plain, target
// >= 0.6), and full TLS handshakes (ECDSA P-256, no resumption) per second of server CPU. The server
// runs in a child process so its CPU is measured apart from the clients'. Clients are bare sockets
// writing pre-encoded frames, so the client side costs as little as possible.
//
//   node --import tsx test/bench/tls.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { makeTestCerts, type TestCerts } from '../helpers/certs.ts';
import { processCpuSeconds } from './proc-cpu.ts';
import { type BenchRow, formatTable } from './row.ts';

const RUN_MS = Number(process.env.TLS_BENCH_MS ?? 3000);
/** Messages in flight: the publisher writes this many, then waits for the subscriber to get them. */
const WINDOW = 200;
const PAYLOAD = 'x'.repeat(64);

interface Server {
  child: ChildProcess;
  urls: Record<string, string>;
}

async function startServer(certs: TestCerts): Promise<Server> {
  const files = { cert: certs.path('server.pem'), key: certs.path('server.key') };
  const config = certs.path('bench.json');
  writeFileSync(config, JSON.stringify({ mqttsPort: 0, tls: { port: files, mqttsPort: files } }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', '--config', config, '--port', '0', '--mqtt-port', '0', '--memory', '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const urls = await new Promise<Record<string, string>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"listening"')) resolve(JSON.parse(line) as Record<string, string>);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  return { child, urls };
}

function open(port: number, secure: boolean, certs: TestCerts): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = secure ? tls.connect({ host: '127.0.0.1', port, ca: certs.ca.cert, servername: 'localhost' }) : net.connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    socket.once(secure ? 'secureConnect' : 'connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Counts deliveries; `reach(n)` resolves once n have arrived (no polling: the clients share 2 cores with the server). */
class Counter {
  value = 0;
  private target = Infinity;
  private wake: (() => void) | undefined;
  add(n: number): void {
    this.value += n;
    if (this.value >= this.target) {
      this.target = Infinity;
      this.wake?.();
    }
  }
  reach(n: number): Promise<void> {
    if (this.value >= n) return Promise.resolve();
    this.target = n;
    return new Promise((r) => (this.wake = r));
  }
}

interface Session {
  socket: net.Socket;
  delivered: Counter;
}

/** Resolves with the first `n` bytes the socket receives; later bytes go to `rest`. */
function readBytes(socket: net.Socket, n: number, rest: (chunk: Buffer) => void = () => {}): Promise<Buffer> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length < n) return;
      socket.off('data', onData);
      socket.on('data', rest);
      resolve(got.subarray(0, n));
      if (got.length > n) rest(got.subarray(n));
    };
    socket.on('data', onData);
  });
}

// --- WAMP over RawSocket (json) ---------------------------------------------------------------------

function rawFrame(msg: unknown[]): Buffer {
  const body = Buffer.from(JSON.stringify(msg));
  const head = Buffer.alloc(4);
  head.writeUIntBE(body.length, 1, 3);
  return Buffer.concat([head, body]);
}

/** A RawSocket session: counts the frames that arrive after `ready` resolved (the WELCOME and SUBSCRIBED are not counted). */
async function wampSession(port: number, secure: boolean, certs: TestCerts, subscribe: boolean): Promise<Session> {
  const socket = await open(port, secure, certs);
  socket.write(Buffer.from([0x7f, 0xf1, 0, 0]));
  const delivered = new Counter();
  let buf: Buffer = Buffer.alloc(0);
  let wanted = subscribe ? 2 : 1; // WELCOME (+ SUBSCRIBED)
  let settle!: () => void;
  const ready = new Promise<void>((r) => (settle = r));
  await readBytes(socket, 4, (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 4) {
      const len = buf.readUIntBE(at + 1, 3);
      if (buf.length - at < 4 + len) break;
      at += 4 + len;
      if (wanted > 0) {
        if (--wanted === 0) settle();
      } else delivered.add(1);
    }
    buf = buf.subarray(at);
  });
  socket.write(rawFrame([1, 'realm1', { roles: { publisher: {}, subscriber: {} } }]));
  if (subscribe) socket.write(rawFrame([32, 1, {}, 'bench.tls']));
  await ready;
  return { socket, delivered };
}

// --- MQTT 3.1.1 --------------------------------------------------------------------------------------

const gen = (packet: object): Buffer => mqttPacket.generate(packet as mqttPacket.Packet);
const MQTT_PUBLISH = gen({ cmd: 'publish', topic: 'bench/tls', payload: Buffer.from(PAYLOAD), qos: 0, retain: false, dup: false });

async function mqttSession(port: number, secure: boolean, certs: TestCerts, subscribe: boolean): Promise<Session> {
  const socket = await open(port, secure, certs);
  const delivered = new Counter();
  let bytes = 0;
  const ack = subscribe ? 4 + 5 : 4; // CONNACK (+ SUBACK)
  const handshake = readBytes(socket, ack, (chunk) => {
    bytes += chunk.length;
    const whole = Math.floor(bytes / MQTT_PUBLISH.length);
    if (whole > delivered.value) delivered.add(whole - delivered.value);
  });
  socket.write(gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `bench-${Math.random().toString(36).slice(2)}`, keepalive: 0 }));
  if (subscribe) socket.write(gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'bench/tls', qos: 0 }] }));
  await handshake;
  // every delivery is byte for byte the PUBLISH sent (same topic, payload, QoS 0)
  return { socket, delivered };
}

// --- scenarios ---------------------------------------------------------------------------------------

async function oneToOne(server: Server, certs: TestCerts, protocol: 'wamp' | 'mqtt', secure: boolean, runMs = RUN_MS): Promise<BenchRow> {
  const port = Number(new URL(protocol === 'wamp' ? server.urls.http! : secure ? server.urls.mqtts! : server.urls.mqtt!).port);
  const session = protocol === 'wamp' ? wampSession : mqttSession;
  const sub = await session(port, secure, certs, true);
  const pub = await session(port, secure, certs, false);
  const one = protocol === 'wamp' ? rawFrame([16, 1, {}, 'bench.tls', [PAYLOAD]]) : MQTT_PUBLISH;
  const batch = Buffer.concat(Array.from({ length: WINDOW }, () => one));
  const cpu0 = processCpuSeconds(server.child.pid);
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < runMs) {
    pub.socket.write(batch);
    sent += WINDOW;
    await sub.delivered.reach(sent);
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu1 = processCpuSeconds(server.child.pid);
  sub.socket.destroy();
  pub.socket.destroy();
  const delivered = sub.delivered.value;
  return {
    group: 'tls',
    scenario: `${protocol} 1->1 ${protocol === 'wamp' ? 'rawsocket/json' : 'mqtt 3.1.1 qos0'} ${secure ? 'over TLS' : 'plain TCP'}`,
    target: 'kitsune',
    rate: delivered / seconds,
    unit: 'msgs/s',
    cpuUs: cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) * 1e6) / delivered : undefined,
  };
}

/** Full handshakes (no session resumption) from a few concurrent clients; server CPU per handshake. */
async function handshakes(server: Server, certs: TestCerts): Promise<BenchRow> {
  const port = Number(new URL(server.urls.https!).port);
  const cpu0 = processCpuSeconds(server.child.pid);
  const start = performance.now();
  let done = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() - start < RUN_MS) {
      const socket = await open(port, true, certs);
      socket.destroy();
      done++;
    }
  };
  await Promise.all([loop(), loop(), loop(), loop()]);
  const seconds = (performance.now() - start) / 1000;
  const cpu = (processCpuSeconds(server.child.pid) ?? NaN) - (cpu0 ?? NaN);
  return {
    group: 'tls',
    scenario: 'TLS handshakes (ECDSA P-256, TLS 1.3, no resumption)',
    target: 'kitsune',
    rate: done / seconds,
    unit: 'handshakes/s',
    cpuUs: (cpu * 1e6) / done,
    note: Number.isFinite(cpu) ? `${Math.round(done / cpu)} handshakes per second of one core` : undefined,
  };
}

export async function benchTls(): Promise<BenchRow[]> {
  const certs = await makeTestCerts();
  const server = await startServer(certs);
  try {
    const rows: BenchRow[] = [];
    for (const protocol of ['wamp', 'mqtt'] as const) {
      // warm-up (JIT, first connections), not counted
      await oneToOne(server, certs, protocol, false, RUN_MS / 3);
      await oneToOne(server, certs, protocol, true, RUN_MS / 3);
      const plain = await oneToOne(server, certs, protocol, false);
      const secure = await oneToOne(server, certs, protocol, true);
      secure.ratio = secure.rate / plain.rate;
      secure.note = `TLS/plain ${secure.ratio.toFixed(2)} (target >= 0.6)`;
      rows.push(plain, secure);
    }
    rows.push(await handshakes(server, certs));
    return rows;
  } finally {
    server.child.kill('SIGTERM');
    certs.remove();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchTls().then(
    (rows) => console.log(formatTable(rows)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

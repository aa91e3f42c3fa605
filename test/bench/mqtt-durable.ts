// Durable MQTT QoS 1, SQLite against the memory engine in the same run: messages to a persistent
// (clean session 0) subscriber, each acknowledged to the publisher only once the subscriber's
// in-flight or offline-queue write is committed.
//   online    the subscriber is connected: PUBLISH → in flight (stored) → PUBACK from it (deleted)
//   offline   the subscriber is away: every message is appended to its stored queue
//   drain     it reconnects: the queue is sent (put in flight, dequeued, acknowledged)
// The servers are the real CLI (server/main.ts) in child processes, `--data-dir <tmp>` against
// `--memory`; the lean 3.1.1 clients of test/bench/mqtt-load.ts run in this process.
//
//   node --import tsx test/bench/mqtt-durable.ts
//
// Environment knobs: BENCH_DURATION_MS (default 2000), BENCH_WARMUP_MS (500).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchPayload, LoadClient, nowUs, parseBenchPayload } from './mqtt-load.ts';
import { type BenchRow, formatTable, percentile } from './row.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 500);
/** Publishes awaiting their PUBACK. */
const WINDOW = 256;
/** Messages queued for the offline subscriber (below the default per-session cap of 10,000). */
const OFFLINE_COUNT = 8000;

type Engine = 'memory' | 'sqlite';

interface Measured {
  rate: number;
  p50?: number;
  p99?: number;
}

interface Server {
  port: number;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startServer(engine: Engine): Promise<Server> {
  const dir = engine === 'sqlite' ? mkdtempSync(path.join(tmpdir(), 'kitsune-bench-mqttd-')) : undefined;
  const args = ['--import', 'tsx', 'server/main.ts', '--port', '0', '--mqtt-port', '0', ...(dir ? ['--data-dir', dir] : ['--memory'])];
  const proc = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${engine} server did not start`)), 30_000);
    // Keeps reading stdout (log lines) so the child never blocks on a full pipe.
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as Record<string, string>;
        if (msg.event === 'listening' && msg.mqtt) {
          clearTimeout(t);
          resolve(Number(new URL(msg.mqtt).port));
        }
      } catch {
        // a log line
      }
    });
    void exited.then(() => reject(new Error(`${engine} server exited before listening`)));
  });
  return {
    port,
    async stop() {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function stats(lat: number[], count: number, ms: number): Measured {
  lat.sort((a, b) => a - b);
  return { rate: (count / ms) * 1000, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/**
 * Keeps WINDOW QoS 1 publishes outstanding (a new one for each PUBACK) until stop() is called.
 * `acked` sees each PUBACK with the publish → PUBACK latency in ms.
 */
function drivePublisher(pub: LoadClient, topic: string, acked: (latencyMs: number) => void, limit = Infinity): { stop(): void; done: Promise<void> } {
  const sentAt = new Float64Array(65536);
  let seq = 0;
  let outstanding = 0;
  let stopped = false;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const send = (): void => {
    const id = (seq % 65535) + 1;
    sentAt[id] = nowUs();
    pub.publish(topic, benchPayload(seq++), 1, id);
    outstanding++;
  };
  pub.onPuback = (id) => {
    outstanding--;
    acked((nowUs() - (sentAt[id] as number)) / 1000);
    if (!stopped && seq < limit) send();
    else if (outstanding === 0) finish();
  };
  for (let i = 0; i < Math.min(WINDOW, limit); i++) send();
  return {
    stop: () => {
      stopped = true;
      if (outstanding === 0) finish();
    },
    done,
  };
}

/** The subscriber is connected; rate = messages it receives per second, latency = publish → receipt. */
async function online(port: number, tag: string): Promise<Measured> {
  const topic = `bench/durable/${tag}`;
  const sub = await LoadClient.connect(port, `dsub-${tag}`, { clean: false });
  await sub.subscribe(topic, 1);
  const pub = await LoadClient.connect(port, `dpub-${tag}`);
  let measuring = false;
  let received = 0;
  const lat: number[] = [];
  sub.onPublish = (payload) => {
    if (!measuring) return;
    received++;
    const p = parseBenchPayload(payload);
    if (p && (received & 7) === 0) lat.push((nowUs() - p.ts) / 1000);
  };
  const driver = drivePublisher(pub, topic, () => {});
  await sleep(WARMUP_MS);
  measuring = true;
  const t0 = performance.now();
  await sleep(DURATION_MS);
  measuring = false;
  const ms = performance.now() - t0;
  driver.stop();
  await Promise.race([driver.done, sleep(5000)]);
  pub.close();
  sub.close();
  return stats(lat, received, ms);
}

/** The subscriber is away: rate = publishes acknowledged per second (each queued durably), then the drain on reconnect. */
async function offline(port: number, tag: string): Promise<{ queued: Measured; drained: Measured }> {
  const topic = `bench/durable/${tag}`;
  const subId = `dsub-${tag}`;
  const sub = await LoadClient.connect(port, subId, { clean: false });
  await sub.subscribe(topic, 1);
  sub.close();
  await sleep(100);
  const pub = await LoadClient.connect(port, `dpub-${tag}`);
  const ackLat: number[] = [];
  const t0 = performance.now();
  const driver = drivePublisher(pub, topic, (ms) => ackLat.push(ms), OFFLINE_COUNT);
  await Promise.race([driver.done, sleep(60_000)]);
  const queued = stats(ackLat, ackLat.length, performance.now() - t0);
  pub.close();

  let received = 0;
  const lat: number[] = [];
  let all!: () => void;
  const complete = new Promise<void>((r) => (all = r));
  const t1 = performance.now();
  const onPublish = (): void => {
    lat.push(performance.now() - t1);
    if (++received === OFFLINE_COUNT) all();
  };
  const back = await LoadClient.connect(port, subId, { clean: false, onPublish });
  await Promise.race([complete, sleep(60_000)]);
  const drained = stats(lat, received, performance.now() - t1);
  back.close();
  return { queued, drained };
}

export async function benchMqttDurable(): Promise<BenchRow[]> {
  const results = new Map<Engine, { online: Measured; queued: Measured; drained: Measured }>();
  for (const engine of ['memory', 'sqlite'] as const) {
    const server = await startServer(engine);
    try {
      const on = await online(server.port, `${engine}-on-${process.pid}`);
      const off = await offline(server.port, `${engine}-off-${process.pid}`);
      results.set(engine, { online: on, ...off });
    } finally {
      await server.stop();
    }
  }
  const mem = results.get('memory')!;
  const sql = results.get('sqlite')!;
  const rows: BenchRow[] = [];
  const pair = (scenario: string, unit: string, m: Measured, s: Measured, note: string): void => {
    rows.push({ group: 'mqtt-durable', scenario, target: 'kitsune/memory', unit, ...m, note });
    rows.push({ group: 'mqtt-durable', scenario, target: 'kitsune/sqlite', unit, ...s, ratio: s.rate / m.rate, note: 'ratio = sqlite / memory' });
  };
  pair(`QoS 1 → persistent subscriber, online, ${WINDOW} in flight`, 'msgs/s', mem.online, sql.online, 'latency: publish → receipt');
  pair(`QoS 1 → offline persistent session (queued), ${WINDOW} in flight`, 'msgs/s', mem.queued, sql.queued, 'latency: publish → PUBACK');
  pair(`offline queue of ${OFFLINE_COUNT.toLocaleString('en-US')} drained on reconnect`, 'msgs/s', mem.drained, sql.drained, 'latency: reconnect → receipt');
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchMqttDurable();
  console.log(formatTable(rows));
}

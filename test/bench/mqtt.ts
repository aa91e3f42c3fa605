// MQTT benchmark: QoS 0/1/2 pub/sub 1->1 and 1->N, and in-process (WAMP client) -> N MQTT
// subscribers, each against kitsune (router + MQTT gate), aedes (the reference broker) and a
// relay that forwards the same PUBLISH frames with no routing (the ceiling), with the same client
// load (test/bench/mqtt-load.ts).
//
//   node --import tsx test/bench/mqtt.ts        (or `npm run bench` for every bench module)
//
// The servers run in child processes (test/bench/mqtt-server.ts); the clients run here.
// Flow control is closed-loop: at most `window` publications are outstanding, a publication being
// complete when every subscriber has received it. Latency is publisher send → subscriber receipt,
// on the host's monotonic clock.
//
// Environment knobs: BENCH_DURATION_MS (default 2000), BENCH_WARMUP_MS (500), BENCH_ONLY (a
// substring of the scenario names to keep, e.g. "qos1"), BENCH_PROFILE_DIR (write a --cpu-prof
// profile of each kitsune server child there).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchPayload, LoadClient, nowUs, parseBenchPayload, type QoS } from './mqtt-load.ts';
import { processCpuSeconds } from './proc-cpu.ts';
import { formatTable, percentile, type BenchRow } from './row.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');

export interface MqttBenchOptions {
  durationMs?: number;
  warmupMs?: number;
  /** Subscribers of the fan-out scenarios (default 100). */
  fanout?: number;
  /** Outstanding publications for 1->1 (default 100) and fan-out (default 20). */
  window?: number;
  fanoutWindow?: number;
  only?: string;
  log?: (line: string) => void;
}

type TargetName = 'kitsune' | 'aedes' | 'relay';

interface Target {
  name: TargetName;
  port: number;
  /** The server child's pid, for its CPU time. */
  pid: number | undefined;
  command(line: string): void;
  stop(): Promise<void>;
}

interface Scenario {
  name: string;
  qos: QoS;
  subs: number;
  window: number;
  /** Publications come from inside the server process (WAMP in-process client for kitsune). */
  inproc: boolean;
  unit: string;
}

interface Result {
  rate: number;
  p50?: number;
  p99?: number;
  /** Server CPU µs per unit (message or delivery). */
  cpuUs?: number;
  /** CPU use of the server and of this (client) process, in % of one core. */
  cpu: string;
  note?: string;
}

async function startTarget(name: TargetName): Promise<Target> {
  const prof = process.env.BENCH_PROFILE_DIR && name === 'kitsune' ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const proc: ChildProcess = spawn(process.execPath, [...prof, '--import', 'tsx', path.join(here, 'mqtt-server.ts'), name], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} server did not start`)), 20_000);
    rl.once('line', (line) => {
      clearTimeout(t);
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch (err) {
        reject(err);
      }
    });
    proc.once('exit', (code) => reject(new Error(`${name} server exited with ${code}`)));
  });
  return {
    name,
    port,
    pid: proc.pid,
    command: (line) => proc.stdin?.write(`${line}\n`),
    stop: async () => {
      proc.stdin?.end();
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let runs = 0;

async function run(target: Target, s: Scenario, timing: { durationMs: number; warmupMs: number }): Promise<Result> {
  const tag = `${target.name}-${process.pid}-${++runs}`;
  const topic = `bench/${tag}/t`;
  const subs: LoadClient[] = [];
  for (let i = 0; i < s.subs; i += 20) {
    const batch = await Promise.all(Array.from({ length: Math.min(20, s.subs - i) }, (_, j) => LoadClient.connect(target.port, `s-${tag}-${i + j}`)));
    await Promise.all(batch.map((c) => c.subscribe(topic, s.qos)));
    subs.push(...batch);
  }
  const pub = s.inproc ? undefined : await LoadClient.connect(target.port, `p-${tag}`);
  await sleep(50);

  const ring = new Int32Array(1 << 16);
  const samples = new Float64Array(400_000);
  let nSamples = 0;
  let sampleTick = 0;
  let measuring = false;
  let completed = 0;
  let outstanding = 0;
  let nextSeq = 0;
  let lastProgress = Date.now();
  let refillQueued = false;

  const refill = (): void => {
    refillQueued = false;
    const credit = s.window - outstanding;
    if (credit <= 0) return;
    if (pub) {
      for (let i = 0; i < credit; i++) {
        const seq = nextSeq++;
        pub.publish(topic, benchPayload(seq), s.qos, (seq % 60_000) + 1);
      }
    } else {
      target.command(`pub ${topic} ${nextSeq} ${credit}`);
      nextSeq += credit;
    }
    outstanding += credit;
  };
  const onPublish = (payload: Buffer): void => {
    const p = parseBenchPayload(payload);
    if (!p) return;
    if (measuring && ++sampleTick >= s.subs) {
      sampleTick = 0;
      if (nSamples < samples.length) samples[nSamples++] = (nowUs() - p.ts) / 1000;
    }
    const slot = p.seq & 0xffff;
    if (++ring[slot] === s.subs) {
      ring[slot] = 0;
      outstanding--;
      lastProgress = Date.now();
      if (measuring) completed++;
      if (!refillQueued) {
        refillQueued = true;
        setImmediate(refill);
      }
    }
  };
  for (const c of subs) c.onPublish = onPublish;

  refill();
  await sleep(timing.warmupMs);
  measuring = true;
  const s0 = processCpuSeconds(target.pid);
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  let stalled = false;
  const deadline = t0 + timing.durationMs;
  while (performance.now() < deadline) {
    await sleep(Math.min(200, deadline - performance.now()));
    if (Date.now() - lastProgress > 2000) {
      stalled = true;
      break;
    }
  }
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const s1 = processCpuSeconds(target.pid);
  const u = process.cpuUsage(u0);
  for (const c of [...subs, ...(pub ? [pub] : [])]) c.close();
  await sleep(200);
  const sorted = samples.subarray(0, nSamples).sort();
  const units = completed * (s.unit === 'deliveries/s' ? s.subs : 1);
  const serverCpu = s0 !== undefined && s1 !== undefined ? s1 - s0 : undefined;
  return {
    rate: units / seconds,
    cpuUs: serverCpu !== undefined && units > 0 ? (serverCpu * 1e6) / units : undefined,
    cpu: `cpu srv ${serverCpu === undefined ? '?' : ((100 * serverCpu) / seconds).toFixed(0)}% cli ${((100 * (u.user + u.system)) / 1e6 / seconds).toFixed(0)}%`,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    note: stalled ? 'stalled' : undefined,
  };
}

function fmtRate(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

/** Per scenario: kitsune against aedes and against the relay ceiling. */
export function targetSummary(rows: readonly BenchRow[]): string[] {
  const out = ['MQTT: kitsune vs aedes (same client load) and vs the relay ceiling'];
  const mqtt = rows.filter((r) => r.group === 'mqtt');
  for (const k of mqtt.filter((r) => r.target === 'kitsune')) {
    const a = mqtt.find((r) => r.scenario === k.scenario && r.target === 'aedes');
    const r = mqtt.find((x) => x.scenario === k.scenario && x.target === 'relay');
    const va = a && a.rate > 0 ? (k.rate / a.rate).toFixed(2) : '-';
    const vr = r && r.rate > 0 ? (k.rate / r.rate).toFixed(2) : '-';
    out.push(`  ${k.scenario.padEnd(30)} kitsune/aedes ${va.padStart(6)}   kitsune/relay ${vr.padStart(6)}`);
  }
  return out;
}

export async function benchMqtt(options: MqttBenchOptions = {}): Promise<BenchRow[]> {
  const log = options.log ?? ((l: string) => console.log(l));
  const env = process.env;
  const timing = {
    durationMs: options.durationMs ?? (Number(env.BENCH_DURATION_MS) || 2000),
    warmupMs: options.warmupMs ?? (Number(env.BENCH_WARMUP_MS) || 500),
  };
  const fanout = options.fanout ?? 100;
  const window = options.window ?? 100;
  const fanoutWindow = options.fanoutWindow ?? 20;
  const scenarios: Scenario[] = [];
  for (const qos of [0, 1, 2] as const) scenarios.push({ name: `qos${qos} 1->1`, qos, subs: 1, window, inproc: false, unit: 'msgs/s' });
  for (const qos of [0, 1, 2] as const) scenarios.push({ name: `qos${qos} 1->${fanout}`, qos, subs: fanout, window: fanoutWindow, inproc: false, unit: 'deliveries/s' });
  scenarios.push({ name: `in-process->${fanout} qos0`, qos: 0, subs: fanout, window: fanoutWindow, inproc: true, unit: 'deliveries/s' });
  const only = options.only ?? env.BENCH_ONLY;
  const chosen = only ? scenarios.filter((s) => s.name.includes(only)) : scenarios;

  log(`mqtt bench: ${chosen.length} scenarios x (kitsune, aedes, relay), ${timing.warmupMs} ms warm-up + ${timing.durationMs} ms each`);
  log(`  in-process publisher: kitsune = in-process WAMP client (router.connect), aedes = broker.publish(), relay = frames written to subscribers`);
  const targets: Target[] = [];
  const rows: BenchRow[] = [];
  try {
    for (const name of ['kitsune', 'aedes', 'relay'] as const) targets.push(await startTarget(name));
    const [kitsune, aedes, relay] = targets as [Target, Target, Target];
    for (const s of chosen) {
      const k = await run(kitsune, s, timing);
      const a = await run(aedes, s, timing);
      const r = await run(relay, s, timing);
      const row = (target: TargetName, x: Result): BenchRow => ({
        group: 'mqtt',
        scenario: s.name,
        target,
        rate: x.rate,
        unit: s.unit,
        p50: x.p50,
        p99: x.p99,
        ratio: target === 'relay' || r.rate <= 0 ? undefined : x.rate / r.rate,
        cpuUs: x.cpuUs,
        note: [x.note, x.cpu, target === 'kitsune' && a.rate > 0 ? `${(k.rate / a.rate).toFixed(2)}x aedes` : undefined].filter(Boolean).join('; ') || undefined,
      });
      rows.push(row('kitsune', k), row('aedes', a), row('relay', r));
      log(`  ${s.name.padEnd(24)} kitsune ${fmtRate(k.rate).padStart(10)}  aedes ${fmtRate(a.rate).padStart(10)}  relay ${fmtRate(r.rate).padStart(10)} ${s.unit}  kitsune/aedes ${a.rate > 0 ? (k.rate / a.rate).toFixed(2) : '-'}`);
    }
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
  }
  return rows;
}

// Standalone: node --import tsx test/bench/mqtt.ts
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchMqtt()
    .then((rows) => {
      console.log('');
      console.log(formatTable(rows));
      console.log('');
      for (const l of targetSummary(rows)) console.log(l);
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}

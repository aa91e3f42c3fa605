// WAMP benchmark: pub/sub 1->1 (small and 2 KiB payloads) and 1->N, and RPC with many calls in
// flight, over WebSocket and RawSocket with JSON and MessagePack, each against kitsune and against a
// relay that forwards the same frames without routing work (the transport ceiling).
//
//   node --import tsx test/bench/wamp.ts        (or `npm run bench` for every bench module)
//
// The servers run in child processes (kitsune: server/main.ts; the relay: test/bench/relay.ts);
// the clients run here, on the lean client of wamp-client.ts. The WebSocket scenarios also run
// against a second kitsune whose /ws is served by the `ws` package ("kitsune-ws", config
// websocket.engine = "ws"): the row's ratio is kitsune / kitsune-ws, the numbers behind the choice
// of WebSocket stack (BENCH_WS_STACK=0 skips it).
//
// Environment knobs: BENCH_DURATION_MS, BENCH_WARMUP_MS, BENCH_ONLY (a substring of the scenario
// names to keep, e.g. "rpc" or "websocket/json"), BENCH_SERVER_NODE_ARGS (extra node flags for the
// kitsune child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_RELAY_NODE_ARGS (the same for
// the relay child), BENCH_KITSUNE_ENTRY (another kitsune main.ts to run, e.g. a copy for an A/B run),
// BENCH_FLUSH_EVERY (client writes per syscall, default 32).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { machineCpuSeconds, processCpuSeconds } from './proc-cpu.ts';
import { percentile, formatTable, type BenchRow } from './row.ts';
import { MSG, openFrameConn, WampBenchClient, type FrameConn, type SerializerName, type TransportKind } from './wamp-client.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');

export interface WampBenchOptions {
  /** Measured time per scenario and target (default 2500 ms). */
  durationMs?: number;
  /** Unmeasured time before it (default 700 ms). */
  warmupMs?: number;
  /** Subscribers of the fan-out scenario (default 100). */
  fanout?: number;
  /** Publications in flight (sent, not yet seen by the flow-control subscriber) for 1->1 (default 200). */
  pubWindow?: number;
  /** The same for the fan-out scenario (default 50). */
  fanoutWindow?: number;
  /** Calls in flight for RPC (default 200). */
  rpcWindow?: number;
  transports?: TransportKind[];
  serializers?: SerializerName[];
  /** Keep only scenarios whose name contains this. */
  only?: string;
  /** Extra node flags for the kitsune child. */
  serverNodeArgs?: string[];
  /** Progress and summary lines (default: console.log). */
  log?: (line: string) => void;
}

interface Urls {
  wamp: string;
  rawsocket: string;
}

interface Child {
  proc: ChildProcess;
  urls: Urls;
  stop(): Promise<void>;
}

/** Starts a server child and waits for its {"event":"listening"} line. */
async function startChild(name: string, args: string[]): Promise<Child> {
  const proc = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  const urls = await new Promise<Urls>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not report listening within 30 s`)), 30_000);
    proc.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before listening`)));
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        const o = JSON.parse(line) as { event?: string } & Partial<Urls>;
        if (o.event === 'listening' && o.wamp && o.rawsocket) {
          clearTimeout(timer);
          resolve({ wamp: o.wamp, rawsocket: o.rawsocket });
        }
      } catch {
        // a log line that is not ours
      }
    });
  });
  lines.on('line', () => {}); // keep draining its stdout
  return {
    proc,
    urls,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

type TargetName = 'kitsune' | 'kitsune-ws' | 'relay';

interface Target {
  name: TargetName;
  child: Child;
}

let roomSeq = 0;

/** A connection to a target in a role. Kitsune: a joined WAMP session; relay: the role announced. */
async function connect(target: Target, kind: TransportKind, ser: SerializerName, role: string, room: string): Promise<WampBenchClient> {
  const base = kind === 'websocket' ? target.child.urls.wamp : target.child.urls.rawsocket;
  if (target.name !== 'relay') {
    const c = new WampBenchClient(await openFrameConn(kind, base, ser));
    await c.join('realm1');
    return c;
  }
  const url = kind === 'websocket' ? `${base}?role=${role}&room=${encodeURIComponent(room)}` : base;
  const conn = await openFrameConn(kind, url, ser);
  if (kind === 'rawsocket') {
    // The relay echoes the role frame once the connection is in its room.
    const joined = new Promise<void>((resolve) => (conn.onframe = () => resolve()));
    conn.send(Buffer.from(`${role}:${room}`));
    await joined;
  }
  return new WampBenchClient(conn);
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Measured {
  rate: number;
  /** Server CPU microseconds per unit: what routing costs, whatever else competes for the cores. */
  cpuUs?: number;
  p50: number | undefined;
  p99: number | undefined;
  note?: string;
}

/** Latency samples during the measured window. */
class Latencies {
  private buf = new Float64Array(1 << 16);
  n = 0;
  recording = false;

  add(ms: number): void {
    if (!this.recording) return;
    if (this.n === this.buf.length) {
      const bigger = new Float64Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.n++] = ms;
  }

  percentiles(): { p50: number | undefined; p99: number | undefined } {
    const s = this.buf.subarray(0, this.n).sort();
    return { p50: percentile(s, 50), p99: percentile(s, 99) };
  }
}

interface Window {
  rate: number;
  /** CPU use of the server child and of this (client) process during the window, in % of one core. */
  serverCpu?: number;
  clientCpu: number;
  /** CPU used by other processes on the machine, in % of one core. */
  otherCpu?: number;
  /** CPU spent in interrupts and softirqs (loopback TCP delivery), in % of one core. */
  irqCpu?: number;
}

/** Runs warm-up then the measured window; `count()` is the running total of completed units. */
async function measure(
  opts: Required<Pick<WampBenchOptions, 'durationMs' | 'warmupMs'>>,
  count: () => number,
  lat: Latencies,
  serverPid: number | undefined,
): Promise<Window> {
  await pause(opts.warmupMs);
  const c0 = count();
  const s0 = processCpuSeconds(serverPid);
  const m0 = machineCpuSeconds();
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  lat.recording = true;
  await pause(opts.durationMs);
  lat.recording = false;
  const c1 = count();
  const t1 = performance.now();
  const u = process.cpuUsage(u0);
  const s1 = processCpuSeconds(serverPid);
  const m1 = machineCpuSeconds();
  const secs = (t1 - t0) / 1000;
  const serverCpu = s0 !== undefined && s1 !== undefined ? (100 * (s1 - s0)) / secs : undefined;
  const clientCpu = (100 * (u.user + u.system)) / 1e6 / secs;
  const tasks = m0 && m1 ? (100 * (m1.tasks - m0.tasks)) / secs : undefined;
  return {
    rate: (c1 - c0) / secs,
    serverCpu,
    clientCpu,
    otherCpu: tasks !== undefined && serverCpu !== undefined ? Math.max(0, tasks - serverCpu - clientCpu) : undefined,
    irqCpu: m0 && m1 ? (100 * (m1.irq - m0.irq)) / secs : undefined,
  };
}

function cpuPerUnit(w: Window): number | undefined {
  return w.serverCpu !== undefined && w.rate > 0 ? (w.serverCpu / 100 / w.rate) * 1e6 : undefined;
}

function cpuNote(w: Window): string {
  const pct = (v: number | undefined): string => (v === undefined ? '?' : `${v.toFixed(0)}%`);
  return `cpu srv ${pct(w.serverCpu)} cli ${pct(w.clientCpu)} irq ${pct(w.irqCpu)} other ${pct(w.otherCpu)}`;
}

const PAD = 'kitsune-benchmark-payload'; // a small string next to the timestamp in every message
/**
 * A realistic application payload of about 2 KiB (a reading with its metadata): what most of an
 * EVENT costs to decode and encode once it is more than a few bytes, and what JSON passthrough saves.
 */
const LARGE_PAD = {
  device: 'kitchen-sensor-0042',
  site: { building: 'B7', floor: 3, room: 'lab-3.14' },
  tags: ['temperature', 'humidity', 'calibrated', 'v2'],
  readings: Array.from({ length: 60 }, (_, i) => ({ t: 1_700_000_000 + i, v: Math.round(Math.sin(i) * 1000) / 100 })),
  note: 'n'.repeat(200),
};

async function runPubSub(
  target: Target,
  kind: TransportKind,
  ser: SerializerName,
  subscribers: number,
  window: number,
  opts: Required<Pick<WampBenchOptions, 'durationMs' | 'warmupMs'>>,
  pad: unknown = PAD,
): Promise<Measured> {
  const room = `bench.pubsub.r${++roomSeq}`;
  const clients: WampBenchClient[] = [];
  try {
    const subs: WampBenchClient[] = [];
    for (let i = 0; i < subscribers; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, subscribers - i) }, async () => {
          const c = await connect(target, kind, ser, 'sub', room);
          clients.push(c);
          if (target.name !== 'relay') await c.subscribe(room);
          return c;
        }),
      );
      subs.push(...batch);
    }
    const pub = await connect(target, kind, ser, 'pub', room);
    clients.push(pub);

    // Every subscriber counts; the one that joined last (served last in the fan-out) also decodes,
    // records latency and drives the flow control.
    let delivered = 0;
    let seen = 0; // highest sequence number the tracker received (events may be dropped)
    let sent = 0;
    let running = true;
    const lat = new Latencies();
    const codec = pub.codec;
    const conn: FrameConn = pub.conn;
    const pump = (): void => {
      while (running && sent - seen < window) {
        sent++;
        conn.send(codec.encode([MSG.PUBLISH, sent, {}, room, [performance.now(), sent, pad]]));
      }
    };
    const tracker = subs[subs.length - 1] as WampBenchClient;
    for (const s of subs) {
      if (s === tracker) continue;
      s.conn.onframe = () => {
        delivered++;
      };
    }
    tracker.conn.onframe = (p) => {
      delivered++;
      const m = codec.decode(p);
      // EVENT [36, sub, pub, details, args] from kitsune, PUBLISH [16, req, opts, topic, args] from the relay
      const args = m[4] as unknown[];
      lat.add(performance.now() - (args[0] as number));
      seen = Math.max(seen, args[1] as number);
      pump();
    };
    pump();
    const w = await measure(opts, () => delivered, lat, target.child.proc.pid);
    running = false;
    const { p50, p99 } = lat.percentiles();
    // Let what is in flight arrive, then count what never did (kitsune drops events to a session
    // whose send buffer is past its soft limit).
    const expected = sent * subscribers;
    for (let i = 0; i < 20 && delivered < expected; i++) await pause(50);
    const lost = expected - delivered;
    const problem = lat.n === 0 ? 'no deliveries; ' : lost > 0 ? `${lost} of ${expected} lost; ` : '';
    return { rate: w.rate, cpuUs: cpuPerUnit(w), p50, p99, note: problem + cpuNote(w) };
  } finally {
    for (const c of clients) c.close();
    await pause(150);
  }
}

async function runRpc(
  target: Target,
  kind: TransportKind,
  ser: SerializerName,
  window: number,
  opts: Required<Pick<WampBenchOptions, 'durationMs' | 'warmupMs'>>,
  log: (line: string) => void,
): Promise<Measured> {
  const room = `bench.rpc.r${++roomSeq}`;
  const clients: WampBenchClient[] = [];
  try {
    const callee = await connect(target, kind, ser, 'callee', room);
    clients.push(callee);
    if (target.name !== 'relay') await callee.register(room);
    const caller = await connect(target, kind, ser, 'caller', room);
    clients.push(caller);

    const codec = caller.codec;
    // INVOCATION [68, id, reg, details, args] from kitsune, CALL [48, id, opts, proc, args] from the relay:
    // either way YIELD [70, id, {}, args]
    callee.conn.onframe = (p) => {
      const m = codec.decode(p);
      callee.conn.send(codec.encode([MSG.YIELD, m[1], {}, m[4]]));
    };
    let completed = 0;
    let errors = 0;
    let outstanding = 0;
    let request = 0;
    let running = true;
    const lat = new Latencies();
    const pump = (): void => {
      while (running && outstanding < window) {
        outstanding++;
        caller.conn.send(codec.encode([MSG.CALL, ++request, {}, room, [performance.now(), PAD]]));
      }
    };
    // RESULT [50, id, details, args] from kitsune, YIELD [70, id, opts, args] from the relay
    caller.conn.onframe = (p) => {
      const m = codec.decode(p);
      outstanding--;
      if (m[0] !== MSG.RESULT && m[0] !== MSG.YIELD) {
        if (errors++ === 0) log(`    unexpected answer to a call: ${JSON.stringify(m)}`);
        pump();
        return;
      }
      completed++;
      lat.add(performance.now() - ((m[3] as unknown[])[0] as number));
      pump();
    };
    pump();
    const w = await measure(opts, () => completed, lat, target.child.proc.pid);
    running = false;
    const { p50, p99 } = lat.percentiles();
    const problem = errors > 0 ? `${errors} call errors; ` : lat.n === 0 ? 'no results; ' : '';
    return { rate: w.rate, cpuUs: cpuPerUnit(w), p50, p99, note: problem + cpuNote(w) };
  } finally {
    for (const c of clients) c.close();
    await pause(150);
  }
}

interface Scenario {
  name: string;
  kind: TransportKind;
  ser: SerializerName;
  unit: string;
  run(target: Target): Promise<Measured>;
}

function fmtRate(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** The two targets, evaluated on the rows of one run. */
export function wampTargetSummary(rows: readonly BenchRow[]): string[] {
  const out: string[] = [];
  const k = rows.filter((r) => r.group === 'wamp' && r.target === 'kitsune');
  out.push('Target 1: routing costs at most 10% of the ceiling on WebSocket (kitsune/relay >= 0.90)');
  let met1 = true;
  for (const r of k.filter((r) => r.scenario.includes('websocket'))) {
    const ok = r.ratio !== undefined && r.ratio >= 0.9;
    met1 &&= ok;
    out.push(`  ${r.scenario.padEnd(34)} ratio ${r.ratio === undefined ? '-' : r.ratio.toFixed(2)}  ${ok ? 'met' : 'NOT met'}`);
  }
  out.push(`  => ${k.some((r) => r.scenario.includes('websocket')) ? (met1 ? 'met' : 'NOT met') : 'not evaluated (no WebSocket scenario)'}`);
  out.push('Target 2: RawSocket at least 3x WebSocket (kitsune rawsocket rate / kitsune websocket rate >= 3.0)');
  let met2 = true;
  let compared = 0;
  const relay = rows.filter((r) => r.group === 'wamp' && r.target === 'relay');
  for (const ws of k.filter((r) => r.scenario.includes('websocket'))) {
    const rawName = ws.scenario.replace('websocket', 'rawsocket');
    const raw = k.find((r) => r.scenario === rawName);
    if (!raw) continue;
    compared++;
    const x = raw.rate / ws.rate;
    const ok = x >= 3;
    met2 &&= ok;
    const rws = relay.find((r) => r.scenario === ws.scenario);
    const rraw = relay.find((r) => r.scenario === rawName);
    const ceiling = rws && rraw ? `  (relay: ${(rraw.rate / rws.rate).toFixed(2)}x)` : '';
    out.push(`  ${ws.scenario.replace('websocket', '{raw,web}socket').padEnd(34)} ${fmtRate(raw.rate)} / ${fmtRate(ws.rate)} = ${x.toFixed(2)}x  ${ok ? 'met' : 'NOT met'}${ceiling}`);
  }
  out.push(`  => ${compared === 0 ? 'not evaluated (needs both transports)' : met2 ? 'met' : 'NOT met'}`);
  const viaWs = rows.filter((r) => r.group === 'wamp' && r.target === 'kitsune-ws');
  if (viaWs.length > 0) {
    out.push('WebSocket stack: ours (kitsune) vs ws (kitsune-ws), rate ratio and server CPU per unit');
    for (const w of viaWs) {
      const o = k.find((r) => r.scenario === w.scenario);
      const cpu = o?.cpuUs !== undefined && w.cpuUs !== undefined ? `  cpu ${o.cpuUs.toFixed(2)} vs ${w.cpuUs.toFixed(2)} us` : '';
      out.push(`  ${w.scenario.padEnd(34)} ${fmtRate(o?.rate ?? 0)} / ${fmtRate(w.rate)} = ${w.ratio === undefined ? '-' : w.ratio.toFixed(2)}${cpu}`);
    }
  }
  const costs = k.filter((r) => r.cpuUs !== undefined);
  if (costs.length > 0) {
    out.push('Server CPU per unit (robust to other load on the machine): kitsune vs relay, and the difference (routing)');
    for (const r of costs) {
      const rr = relay.find((x) => x.scenario === r.scenario);
      const diff = rr?.cpuUs !== undefined ? `  routing ${((r.cpuUs as number) - rr.cpuUs).toFixed(2)} us` : '';
      out.push(`  ${r.scenario.padEnd(34)} kitsune ${(r.cpuUs as number).toFixed(2)} us  relay ${rr?.cpuUs?.toFixed(2) ?? '-'} us${diff}`);
    }
  }
  return out;
}

export async function benchWamp(options: WampBenchOptions = {}): Promise<BenchRow[]> {
  const log = options.log ?? ((l: string) => console.log(l));
  const env = process.env;
  const timing = {
    durationMs: options.durationMs ?? (Number(env.BENCH_DURATION_MS) || 2500),
    warmupMs: options.warmupMs ?? (Number(env.BENCH_WARMUP_MS) || 700),
  };
  const fanout = options.fanout ?? 100;
  const pubWindow = options.pubWindow ?? 200;
  const fanoutWindow = options.fanoutWindow ?? 50;
  const rpcWindow = options.rpcWindow ?? 200;
  const transports = options.transports ?? ['websocket', 'rawsocket'];
  const serializers = options.serializers ?? ['json', 'msgpack'];
  const only = options.only ?? env.BENCH_ONLY;
  const serverNodeArgs = options.serverNodeArgs ?? (env.BENCH_SERVER_NODE_ARGS ? env.BENCH_SERVER_NODE_ARGS.split(/\s+/).filter(Boolean) : []);

  const scenarios: Scenario[] = [];
  for (const kind of transports) {
    for (const ser of serializers) {
      const t = `${kind}/${ser}`;
      scenarios.push(
        { name: `pubsub 1->1 ${t}`, kind, ser, unit: 'msgs/s', run: (tg) => runPubSub(tg, kind, ser, 1, pubWindow, timing) },
        { name: `pubsub 1->1 2KiB ${t}`, kind, ser, unit: 'msgs/s', run: (tg) => runPubSub(tg, kind, ser, 1, pubWindow, timing, LARGE_PAD) },
        { name: `pubsub 1->${fanout} ${t}`, kind, ser, unit: 'deliveries/s', run: (tg) => runPubSub(tg, kind, ser, fanout, fanoutWindow, timing) },
        { name: `rpc window ${rpcWindow} ${t}`, kind, ser, unit: 'calls/s', run: (tg) => runRpc(tg, kind, ser, rpcWindow, timing, log) },
      );
    }
  }
  const chosen = only ? scenarios.filter((s) => s.name.includes(only)) : scenarios;

  log(`wamp bench: ${chosen.length} scenarios x (kitsune, relay), ${timing.warmupMs} ms warm-up + ${timing.durationMs} ms each`);
  const busy = (): string | undefined => {
    const load = os.loadavg()[0] as number;
    return load > 1 ? `load average ${load.toFixed(2)} on ${os.cpus().length} cores: other processes compete with the bench, its numbers are unreliable` : undefined;
  };
  const before = busy();
  if (before) log(`  warning: ${before}`);
  const kitsuneArgs = [...serverNodeArgs, '--import', 'tsx', env.BENCH_KITSUNE_ENTRY ?? 'server/main.ts', '--port', '0', '--memory', '--mqtt-port', '0', '--log-level', 'warn'];
  const kitsune: Target = { name: 'kitsune', child: await startChild('kitsune', kitsuneArgs) };
  let relay: Target | undefined;
  let kitsuneWs: Target | undefined;
  const wsConfig = path.join(os.tmpdir(), `kitsune-bench-ws-${process.pid}.json`);
  const rows: BenchRow[] = [];
  try {
    if (env.BENCH_WS_STACK !== '0' && chosen.some((s) => s.kind === 'websocket')) {
      writeFileSync(wsConfig, JSON.stringify({ websocket: { engine: 'ws' } }));
      kitsuneWs = { name: 'kitsune-ws', child: await startChild('kitsune-ws', [...kitsuneArgs, '--config', wsConfig]) };
    }
    const relayNodeArgs = env.BENCH_RELAY_NODE_ARGS ? env.BENCH_RELAY_NODE_ARGS.split(/\s+/).filter(Boolean) : [];
    relay = { name: 'relay', child: await startChild('relay', [...relayNodeArgs, '--import', 'tsx', 'test/bench/relay.ts', '--port', '0']) };
    for (const s of chosen) {
      const k = await s.run(kitsune);
      const r = await s.run(relay);
      const ratio = r.rate > 0 ? k.rate / r.rate : undefined;
      rows.push(
        { group: 'wamp', scenario: s.name, target: 'kitsune', rate: k.rate, unit: s.unit, p50: k.p50, p99: k.p99, ratio, cpuUs: k.cpuUs, note: k.note },
        { group: 'wamp', scenario: s.name, target: 'relay', rate: r.rate, unit: s.unit, p50: r.p50, p99: r.p99, cpuUs: r.cpuUs, note: r.note },
      );
      let stacks = '';
      if (kitsuneWs && s.kind === 'websocket') {
        const w = await s.run(kitsuneWs);
        const vsWs = w.rate > 0 ? k.rate / w.rate : undefined;
        rows.push({ group: 'wamp', scenario: s.name, target: 'kitsune-ws', rate: w.rate, unit: s.unit, p50: w.p50, p99: w.p99, ratio: vsWs, cpuUs: w.cpuUs, note: `ratio: kitsune/kitsune-ws; ${w.note ?? ''}` });
        stacks = `  kitsune-ws ${fmtRate(w.rate).padStart(10)}  ours/ws ${vsWs === undefined ? '-' : vsWs.toFixed(2)}`;
      }
      log(
        `  ${s.name.padEnd(34)} kitsune ${fmtRate(k.rate).padStart(10)} ${s.unit}  relay ${fmtRate(r.rate).padStart(10)}  ratio ${ratio === undefined ? '-' : ratio.toFixed(2)}${stacks}`,
      );
    }
  } finally {
    await Promise.all([kitsune.child.stop(), relay?.child.stop(), kitsuneWs?.child.stop()]);
    rmSync(wsConfig, { force: true });
  }
  return rows;
}

// Standalone: node --import tsx test/bench/wamp.ts
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchWamp()
    .then((rows) => {
      console.log('');
      console.log(formatTable(rows));
      console.log('');
      for (const l of wampTargetSummary(rows)) console.log(l);
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}

// Idle-connection memory: the server's RSS per idle connection, for N connections (default 10,000)
// that connected, were accepted and then say nothing.
//   MQTT (3.1.1 CONNECT, clean session, keep-alive 0, wait for CONNACK):
//     kitsune (dedicated MQTT port, and the shared port where the first byte is sniffed), aedes,
//     mosquitto, and the floor: a Node net server that answers CONNACK and only holds the socket
//     (test/bench/idle-server.ts), i.e. what Node's own socket objects cost.
//   WAMP (HELLO/WELCOME, JSON), kitsune only: over WebSocket and over RawSocket.
//
//   node --import tsx test/bench/idle-memory.ts        (or `npm run bench` for every bench module)
//
// Every server is a child process started afresh for each scenario (memory given back by closed
// connections would hide the next scenario's growth). Before the connections open, a few are opened
// and closed (so code loaded and compiled on first use is not counted); the RSS (VmRSS from
// /proc/<pid>/status) is read before and after, each time after a settle period and, for Node
// servers, a forced full GC (the child runs with --expose-gc and collects on SIGUSR2, reporting
// its heap, so the JS heap share is shown too). Clients are raw net sockets in this process.
// Kernel socket buffers are not part of any process's RSS.
//
// Environment knobs: BENCH_IDLE_CONNS (default 10000), BENCH_IDLE_SETTLE_MS (default 1500),
// BENCH_ONLY (a substring of the scenario names to keep, e.g. "mqtt" or "wamp").
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { formatTable, type BenchRow } from './row.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');

/** Preloaded into every Node server child: a full GC on SIGUSR2, then the heap figures on stdout. */
const GC_ON_SIGNAL =
  'data:text/javascript,' +
  encodeURIComponent(
    `process.on('SIGUSR2', () => { globalThis.gc(); globalThis.gc(); const m = process.memoryUsage();
      process.stdout.write(JSON.stringify({ event: 'mem', heapUsed: m.heapUsed, external: m.external }) + '\\n'); });`,
  );

export type Proto = 'mqtt' | 'websocket' | 'rawsocket';
type TargetName = 'kitsune' | 'aedes' | 'mosquitto' | 'floor';

interface Scenario {
  name: string;
  group: 'mqtt' | 'wamp';
  proto: Proto;
  target: TargetName;
  /** kitsune: connect to the shared (sniffing) port instead of the dedicated MQTT port. */
  shared?: boolean;
}

interface Server {
  pid: number;
  port: number;
  /** Forces a full GC in a Node server and resolves with its heap bytes; undefined for mosquitto. */
  gc(): Promise<{ heapUsed: number; external: number } | undefined>;
  stop(): Promise<void>;
}

export interface IdleMemoryOptions {
  conns?: number;
  settleMs?: number;
  only?: string;
  log?: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** VmRSS of a process, in KiB. */
function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** The soft limit on open files of this process (children inherit it). */
function fdLimit(): number {
  const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
  return exited.then(() => clearTimeout(t));
}

/** A Node server child: waits for its listening line, and answers gc() through SIGUSR2. */
async function startNode(name: string, args: string[], portOf: (listening: Record<string, unknown>) => number): Promise<Server> {
  const proc = spawn(process.execPath, ['--expose-gc', '--import', GC_ON_SIGNAL, '--import', 'tsx', ...args], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: proc.stdout! });
  const memWaiters: ((m: { heapUsed: number; external: number }) => void)[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not report listening within 30 s`)), 30_000);
    proc.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before listening`)));
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return; // a log line that is not ours
      }
      if (o.event === 'listening') {
        clearTimeout(timer);
        resolve(portOf(o));
      } else if (o.event === 'mem') memWaiters.shift()?.(o as unknown as { heapUsed: number; external: number });
    });
  });
  return {
    pid: proc.pid!,
    port,
    gc: () =>
      new Promise((resolve) => {
        memWaiters.push(resolve);
        proc.kill('SIGUSR2');
      }),
    stop: () => {
      proc.stdin?.end();
      return stopChild(proc);
    },
  };
}

function urlPort(v: unknown): number {
  return Number(new URL(String(v)).port);
}

async function startMosquitto(): Promise<Server> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kitsune-idle-mosq-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_connections -1', 'log_dest stderr', 'log_type error', ''].join('\n'));
  const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  const failed = new Promise<never>((_, reject) => {
    proc.once('error', (err) => reject(new Error(`mosquitto could not be started: ${err.message}`)));
    proc.once('exit', (code) => reject(new Error(`mosquitto exited with code ${code}`)));
  });
  failed.catch(() => {});
  for (let i = 0; ; i++) {
    const ok = await Promise.race([
      failed,
      new Promise<boolean>((r) => {
        const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
        s.on('error', () => r(false));
      }),
    ]);
    if (ok) break;
    if (i > 100) throw new Error('mosquitto did not listen within 5 s');
    await sleep(50);
  }
  return {
    pid: proc.pid!,
    port,
    gc: async () => undefined,
    stop: async () => {
      await stopChild(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startServer(s: Scenario): Promise<Server> {
  switch (s.target) {
    case 'kitsune': {
      const args = ['server/main.ts', '--memory', '--port', '0', '--mqtt-port', '0', '--log-level', 'warn'];
      const port = (o: Record<string, unknown>): number => urlPort(s.proto === 'mqtt' && !s.shared ? o.mqtt : o.http);
      return startNode('kitsune', args, port);
    }
    case 'aedes':
    case 'floor':
      return startNode(s.target, [path.join(here, 'idle-server.ts'), s.target], (o) => Number(o.port));
    case 'mosquitto':
      return startMosquitto();
  }
}

// ---- clients: raw sockets that get to "connected" and then stay silent ----

function mqttConnect(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0, id.length >> 8, id.length & 0xff]), id]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]); // ids are short: one length byte
}

const HELLO = Buffer.from(JSON.stringify([1, 'realm1', { roles: { subscriber: {}, publisher: {}, caller: {}, callee: {} } }]));

function wsUpgrade(port: number): string {
  return [
    'GET /ws HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Protocol: wamp.2.json',
    '',
    '',
  ].join('\r\n');
}

/** A masked client frame (payload < 64 KiB). */
function wsFrame(opcode: number, payload: Buffer): Buffer {
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const b0 = 0x80 | opcode;
  const head = payload.length < 126 ? Buffer.from([b0, 0x80 | payload.length]) : Buffer.from([b0, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (key[i & 3] as number);
  return Buffer.concat([head, key, body]);
}

interface Frame {
  /** WebSocket opcode, or RawSocket frame type (0 message, 1 PING, 2 PONG). */
  type: number;
  payload: Buffer;
}

/** Splits server frames off `buf` (WebSocket: unmasked, unfragmented; RawSocket: 4-byte header). */
function takeFrames(proto: Proto, buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let off = 0;
  for (;;) {
    if (buf.length - off < (proto === 'websocket' ? 2 : 4)) break;
    let type: number;
    let len: number;
    let head: number;
    if (proto === 'websocket') {
      type = (buf[off] as number) & 0x0f;
      len = (buf[off + 1] as number) & 0x7f;
      head = 2;
      if (len === 126) {
        if (buf.length - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) throw new Error('unexpected 64-bit WebSocket frame');
    } else {
      type = (buf[off] as number) & 0x07;
      len = buf.readUIntBE(off + 1, 3);
      head = 4;
    }
    if (buf.length - off < head + len) break;
    frames.push({ type, payload: buf.subarray(off + head, off + head + len) });
    off += head + len;
  }
  return { frames, rest: buf.subarray(off) };
}

function rawFrame(payload: Buffer, type = 0): Buffer {
  return Buffer.concat([Buffer.from([type, payload.length >> 16, (payload.length >> 8) & 0xff, payload.length & 0xff]), payload]);
}

/** The answer an idle client owes a server frame: a PONG for a PING (the server drops silent peers). */
function pongFor(proto: Proto, f: Frame): Buffer | undefined {
  if (proto === 'websocket' && f.type === 0x9) return wsFrame(0xa, f.payload);
  if (proto === 'rawsocket' && f.type === 1) return rawFrame(f.payload, 2);
  return undefined;
}

/**
 * Drives one connection to its "connected" state. `step` sees everything received so far and
 * returns 'done', 'more' (wait for more bytes), or a Buffer to send next (the received bytes are then
 * forgotten); it throws on an unexpected answer. WAMP connections then go on in frame mode.
 */
type Step = (received: Buffer) => 'done' | 'more' | Buffer;

function clientSteps(proto: Proto, port: number, i: number): { first: Buffer | string; step: Step } {
  if (proto === 'mqtt') {
    return {
      first: mqttConnect(`idle-${i}`),
      step: (b) => {
        if (b.length < 4) return 'more';
        if (b[0] !== 0x20 || b[3] !== 0) throw new Error(`CONNACK expected, got ${b.subarray(0, 8).toString('hex')}`);
        return 'done';
      },
    };
  }
  if (proto === 'websocket') {
    return {
      first: wsUpgrade(port),
      step: (b) => {
        const end = b.indexOf('\r\n\r\n');
        if (end < 0) return 'more';
        if (!b.subarray(0, 12).toString().includes(' 101')) throw new Error(`101 expected, got ${b.subarray(0, 200).toString()}`);
        if (b.length > end + 4) throw new Error('server sent a frame before HELLO');
        return 'done';
      },
    };
  }
  return {
    first: Buffer.from([0x7f, 0xf1, 0, 0]), // max message 2^24, JSON
    step: (b) => {
      if (b.length < 4) return 'more';
      if (b[0] !== 0x7f || ((b[1] as number) & 0x0f) !== 1) throw new Error(`RawSocket handshake refused: ${b.subarray(0, 4).toString('hex')}`);
      if (b.length > 4) throw new Error('server sent a frame before HELLO');
      return 'done';
    },
  };
}

function openIdle(port: number, proto: Proto, i: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const { first, step } = clientSteps(proto, port, i);
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    let received: Buffer = Buffer.alloc(0);
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const succeed = (): void => {
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('close');
      resolve(socket);
    };
    const timer = setTimeout(() => fail(new Error(`connection ${i} not established within 60 s`)), 60_000);
    socket.once('connect', () => socket.write(first));
    socket.on('error', (err) => fail(err));
    socket.on('close', () => fail(new Error(`connection ${i} closed by the server`)));
    // WAMP after the transport handshake: HELLO, wait for WELCOME, then stay idle answering PINGs.
    const onFrames = (d: Buffer): void => {
      received = received.length === 0 ? d : Buffer.concat([received, d]);
      let frames: Frame[];
      try {
        ({ frames, rest: received } = takeFrames(proto, received));
      } catch (err) {
        return fail(err as Error);
      }
      for (const f of frames) {
        const pong = pongFor(proto, f);
        if (pong) socket.write(pong);
        else if (!settled && (f.type === 0 || f.type === 1)) {
          if (!f.payload.toString().startsWith('[2,')) return fail(new Error(`WELCOME expected, got ${f.payload.toString().slice(0, 200)}`));
          succeed();
        }
      }
    };
    const onHandshake = (d: Buffer): void => {
      received = received.length === 0 ? d : Buffer.concat([received, d]);
      let next: ReturnType<Step>;
      try {
        next = step(received);
      } catch (err) {
        return fail(err as Error);
      }
      if (next !== 'done') {
        if (next !== 'more') socket.write(next);
        return;
      }
      received = Buffer.alloc(0);
      socket.removeListener('data', onHandshake);
      if (proto === 'mqtt') {
        socket.on('data', () => {}); // keep-alive 0: the server never speaks again
        return succeed();
      }
      socket.on('data', onFrames);
      socket.write(proto === 'websocket' ? wsFrame(0x1, HELLO) : rawFrame(HELLO));
    };
    socket.on('data', onHandshake);
  });
}

/** Opens `n` idle connections, at most `parallel` handshakes at a time. */
export async function openMany(port: number, proto: Proto, n: number, parallel = 200): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  let next = 0;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (next < n && firstError === undefined) {
      const i = next++;
      try {
        sockets.push(await openIdle(port, proto, i));
      } catch (err) {
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  if (firstError !== undefined) {
    for (const s of sockets) s.destroy();
    throw firstError;
  }
  return sockets;
}

async function closeAll(sockets: net.Socket[]): Promise<void> {
  for (const s of sockets) s.destroy();
  await sleep(200);
}

interface Measured {
  kibPerConn: number;
  /** JS heap growth per connection (Node servers only). */
  heapKibPerConn?: number;
  connectMs: number;
}

async function measure(s: Scenario, conns: number, settleMs: number): Promise<Measured> {
  const server = await startServer(s);
  let sockets: net.Socket[] = [];
  try {
    await closeAll(await openMany(server.port, s.proto, 50)); // warm-up: first-use code, lazy modules
    await sleep(settleMs / 2);
    const heap0 = await server.gc();
    await sleep(200);
    const rss0 = rssKiB(server.pid);
    const t0 = performance.now();
    sockets = await openMany(server.port, s.proto, conns);
    const connectMs = performance.now() - t0;
    await sleep(settleMs);
    const heap1 = await server.gc();
    await sleep(200);
    const rss1 = rssKiB(server.pid);
    const lost = sockets.filter((c) => c.destroyed || c.readyState !== 'open').length;
    if (lost > 0) throw new Error(`${s.target}: ${lost} of ${conns} idle connections were closed by the server during the run`);
    return {
      kibPerConn: (rss1 - rss0) / conns,
      heapKibPerConn: heap0 && heap1 ? (heap1.heapUsed + heap1.external - heap0.heapUsed - heap0.external) / 1024 / conns : undefined,
      connectMs,
    };
  } finally {
    await closeAll(sockets);
    await server.stop();
  }
}

const fmt = (n: number | undefined): string => (n === undefined ? '-' : n.toFixed(2));

/** kitsune against aedes, mosquitto and the floor, per protocol. */
export function targetSummary(rows: readonly BenchRow[]): string[] {
  const mine = rows.filter((r) => r.group === 'idle-memory');
  if (mine.length === 0) return [];
  const out = ['Idle memory: server RSS per idle connection'];
  const by = (scenario: string, target: string): BenchRow | undefined => mine.find((r) => r.scenario === scenario && r.target === target);
  for (const k of mine.filter((r) => r.target === 'kitsune')) {
    const vs = ['aedes', 'mosquitto', 'floor']
      .map((t) => [t, by(k.scenario.replace(' (shared port)', ''), t)] as const)
      .filter(([, r]) => r && r.rate > 0)
      .map(([t, r]) => `${(k.rate / (r as BenchRow).rate).toFixed(2)}x ${t}`);
    out.push(`  ${k.scenario.padEnd(34)} kitsune ${fmt(k.rate / 1024).padStart(6)} KiB  ${vs.join('  ')}`);
  }
  return out;
}

export async function benchIdleMemory(options: IdleMemoryOptions = {}): Promise<BenchRow[]> {
  const log = options.log ?? ((l: string) => console.log(l));
  const env = process.env;
  const conns = options.conns ?? (Number(env.BENCH_IDLE_CONNS) || 10_000);
  const settleMs = options.settleMs ?? (Number(env.BENCH_IDLE_SETTLE_MS) || 1500);
  const limit = fdLimit();
  // Each server child holds `conns` sockets, and so does this process: both inherit this limit.
  if (limit < conns + 256) {
    throw new Error(`idle-memory needs ${conns + 256} open files per process but the limit is ${limit}: raise it (ulimit -n ${conns + 1024}) or lower BENCH_IDLE_CONNS`);
  }
  const n = conns.toLocaleString('en-US');
  const scenarios: Scenario[] = [
    { name: `mqtt ${n} idle`, group: 'mqtt', proto: 'mqtt', target: 'kitsune' },
    { name: `mqtt ${n} idle (shared port)`, group: 'mqtt', proto: 'mqtt', target: 'kitsune', shared: true },
    { name: `mqtt ${n} idle`, group: 'mqtt', proto: 'mqtt', target: 'aedes' },
    { name: `mqtt ${n} idle`, group: 'mqtt', proto: 'mqtt', target: 'mosquitto' },
    { name: `mqtt ${n} idle`, group: 'mqtt', proto: 'mqtt', target: 'floor' },
    { name: `wamp ${n} idle websocket/json`, group: 'wamp', proto: 'websocket', target: 'kitsune' },
    { name: `wamp ${n} idle rawsocket/json`, group: 'wamp', proto: 'rawsocket', target: 'kitsune' },
  ];
  const only = options.only ?? env.BENCH_ONLY;
  const chosen = only ? scenarios.filter((s) => `${s.name} ${s.target}`.includes(only)) : scenarios;
  log(`idle-memory bench: ${chosen.length} runs of ${n} idle connections, settle ${settleMs} ms, RSS delta per connection`);
  const results: { s: Scenario; m: Measured }[] = [];
  for (const s of chosen) {
    const m = await measure(s, conns, settleMs);
    results.push({ s, m });
    log(`  ${s.name.padEnd(34)} ${s.target.padEnd(9)} ${fmt(m.kibPerConn).padStart(6)} KiB/conn (JS heap ${fmt(m.heapKibPerConn)})  connected in ${(m.connectMs / 1000).toFixed(1)} s`);
  }
  const aedes = results.find((r) => r.s.target === 'aedes')?.m.kibPerConn;
  const mosquitto = results.find((r) => r.s.target === 'mosquitto')?.m.kibPerConn;
  return results.map(({ s, m }) => ({
    group: 'idle-memory',
    scenario: s.name,
    target: s.target,
    // Bytes, since the table prints rates as integers; KiB in the note.
    rate: m.kibPerConn * 1024,
    unit: 'B/conn',
    ratio: s.group === 'mqtt' && aedes ? m.kibPerConn / aedes : undefined,
    note:
      [
        `${fmt(m.kibPerConn)} KiB`,
        m.heapKibPerConn === undefined ? undefined : `JS heap ${fmt(m.heapKibPerConn)} KiB`,
        s.group === 'mqtt' && mosquitto && s.target !== 'mosquitto' ? `${(m.kibPerConn / mosquitto).toFixed(1)}x mosquitto` : undefined,
        s.group === 'mqtt' ? 'ratio: / aedes' : undefined,
      ]
        .filter(Boolean)
        .join('; ') || undefined,
  }));
}

// Standalone: node --import tsx test/bench/idle-memory.ts
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchIdleMemory()
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

// The router under fuzz: the real CLI as a child process on ephemeral ports, so a crash shows as the
// child dying (its stderr kept for the report) and its memory can be read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { processCpuSeconds } from '../../bench/proc-cpu.ts';

export interface RouterUnderFuzz {
  readonly pid: number;
  readonly urls: Record<string, string>;
  /** The end of the child's stderr (crash traces, fatal logs). */
  stderrTail(): string;
  /** Exit code or signal name once the child has died, else undefined. */
  exitStatus(): number | string | undefined;
  /** Resident set size in bytes (VmRSS), or 0 once the child is gone. */
  rss(): number;
  /** CPU seconds (user + system) the child has used so far (its last reading once it is gone). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export type Store = 'memory' | 'sqlite';

const STDERR_KEEP = 16_384;

/**
 * State a fuzzed client may make the router keep, capped low so that a long run reaches every cap and
 * RSS must then level off: growth past the caps is a leak, not legitimate state (with the defaults, a
 * million inputs leave thousands of persistent sessions and retained topics, all within limits).
 */
export const FUZZ_STATE_LIMITS = {
  limits: { maxRetainedPerRealm: 2000, maxPersistentSessionsPerRealm: 500 },
  mqtt: { maxQueuedBytes: 262_144, maxQueuedMessages: 1000 },
};

/** Starts `kitsune --port 0 --mqtt-port 0` (memory store, or SQLite in a fresh temporary directory). */
export function startRouter(store: Store = 'memory'): Promise<RouterUnderFuzz> {
  const workDir = mkdtempSync(join(tmpdir(), 'kitsune-fuzz-'));
  const configFile = join(workDir, 'config.json');
  writeFileSync(configFile, JSON.stringify(FUZZ_STATE_LIMITS));
  const storeArgs = store === 'sqlite' ? ['--data-dir', join(workDir, 'data')] : ['--memory'];
  const args = ['--import', 'tsx', 'server/main.ts', '--config', configFile, '--port', '0', '--mqtt-port', '0', '--log-level', 'error', ...storeArgs];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-STDERR_KEEP);
  });
  let status: number | string | undefined;
  let cpu = 0;
  const exited = new Promise<void>((resolve) =>
    child.once('close', (code, signal) => {
      status = code ?? signal ?? -1;
      rmSync(workDir, { recursive: true, force: true });
      resolve();
    }),
  );
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: Record<string, string>;
      try {
        msg = JSON.parse(line) as Record<string, string>;
      } catch {
        return;
      }
      if (msg.event !== 'listening') return;
      resolve({
        pid: child.pid!,
        urls: msg,
        stderrTail: () => stderr,
        exitStatus: () => status,
        rss: () => residentBytes(child.pid!),
        cpuSeconds: () => (cpu = processCpuSeconds(child.pid) ?? cpu),
        async stop() {
          if (status === undefined) child.kill('SIGKILL');
          await exited;
        },
      });
    });
    void exited.then(() => reject(new Error(`router exited (${status}) before listening: ${stderr.slice(-2000)}`)));
  });
}

function residentBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** host and port of a listener URL such as tcp://127.0.0.1:1234 or ws://127.0.0.1:1234/ws. */
export function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

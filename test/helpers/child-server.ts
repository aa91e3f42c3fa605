// Runs `kitsune` as a child process (the real CLI) and reads its "listening" line for the URLs.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ExecutionContext } from 'ava';

export interface ChildServer {
  child: ChildProcess;
  urls: Record<string, string>;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** Everything the server wrote to stderr so far (its log lines). */
  stderr: () => string;
}

export function startChildServer(t: Pick<ExecutionContext, 'teardown'>, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | string>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal ?? -1)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as Record<string, string>;
        if (msg.event === 'listening') resolve({ child, urls: msg, exited, stderr: () => stderr });
      } catch {
        // not a JSON line
      }
    });
    void exited.then((code) => reject(new Error(`server exited (${code}) before listening: ${stderr.slice(-2000)}`)));
  });
}

/** Whether a process with this pid still exists (signal 0 only checks). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

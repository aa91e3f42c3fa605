// The HTTP bridge benchmarks (hustmq, esub) run their servers in a child process: kitsune and a bare
// Koa app side by side, announced on one JSON line {"event":"listening","kitsune":URL,"bare":URL}.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');

export interface HttpBenchChild {
  kitsune: string;
  bare: string;
  pid: number | undefined;
  stop(): void;
}

/** Starts `file` (in test/bench) with extra node flags and waits for its listening line. */
export async function startHttpBenchChild(file: string, nodeArgs: readonly string[] = []): Promise<HttpBenchChild> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(here, file)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const urls = await new Promise<{ kitsune: string; bare: string }>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; kitsune: string; bare: string };
        if (msg.event === 'listening') resolve(msg);
      } catch {
        // not JSON
      }
    });
    child.once('exit', (code) => reject(new Error(`bench server exited (${code})`)));
  });
  return { ...urls, pid: child.pid, stop: () => void child.kill('SIGTERM') };
}

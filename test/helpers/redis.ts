// A throwaway redis-server for cluster tests: a free port (redis needs an explicit one, so one is
// picked with listen(0) and retried if another process takes it first), no persistence, stopped by
// pid in teardown. Also starts kitsune nodes on it as child processes with the preview opt-in.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { type ChildServer, startChildServer } from './child-server.ts';

export interface RedisServer {
  url: string;
  port: number;
  process: ChildProcess;
  /** A raw ioredis client on this server (closed in teardown). */
  client(): Redis;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts redis-server; resolves once it accepts connections. */
function launch(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
  });
}

export async function startRedis(t: Pick<ExecutionContext, 'teardown'>): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    let child: ChildProcess;
    try {
      child = await launch(port);
    } catch (err) {
      // Another process took the port between the probe and the start: pick another.
      if (attempt < 5 && String(err).includes('Address already in use')) continue;
      throw err;
    }
    const clients: Redis[] = [];
    t.teardown(async () => {
      for (const c of clients) c.disconnect();
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
    });
    const url = `redis://127.0.0.1:${port}`;
    return {
      url,
      port,
      process: child,
      client: () => {
        const c = new Redis(url, { maxRetriesPerRequest: 1 });
        clients.push(c);
        return c;
      },
    };
  }
}

/** A kitsune node on `redis` (preview opt-in), memory store, ephemeral ports, MQTT on its own port too. */
export function startNode(t: Pick<ExecutionContext, 'teardown'>, redis: RedisServer, extraArgs: string[] = []): Promise<ChildServer> {
  return startChildServer(t, ['--port', '0', '--mqtt-port', '0', '--memory', '--redis', redis.url, '--log-level', 'info', ...extraArgs], { ...process.env, KITSUNE_CLUSTER_PREVIEW: '1' });
}

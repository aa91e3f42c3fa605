// Regression tests for what the fuzzers found: a router as a child process (so a crash is a dead
// child, with its stderr in the failure message), raw bytes on one connection, then the verdict
// the fuzzers use: alive, every protocol still served, memory within bounds.
import type { ExecutionContext } from 'ava';
import net from 'node:net';
import { healthFailures } from '../fuzz/harness/health.ts';
import { hostPort, startRouter, type RouterUnderFuzz, type Store } from '../fuzz/harness/router.ts';

export async function fuzzRouter(t: ExecutionContext, store: Store = 'memory'): Promise<RouterUnderFuzz> {
  const router = await startRouter(store);
  t.teardown(() => router.stop());
  return router;
}

/** Writes `chunks` on a fresh connection to `listener`, then waits until the router closes it or `lingerMs` pass. */
export async function sendRaw(router: RouterUnderFuzz, listener: string, chunks: Buffer[], lingerMs = 1000): Promise<'closed' | 'open'> {
  const socket = net.connect({ ...hostPort(router.urls[listener] as string), noDelay: true });
  socket.on('error', () => {});
  socket.on('data', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const closed = new Promise<'closed'>((resolve) => socket.once('close', () => resolve('closed')));
  for (const chunk of chunks) {
    if (socket.destroyed) break;
    await new Promise<void>((resolve) => socket.write(chunk, () => resolve()));
  }
  const how = await Promise.race([closed, new Promise<'open'>((r) => setTimeout(() => r('open'), lingerMs))]);
  socket.destroy();
  return how;
}

/** The router is still running and serves a healthy client of every protocol. */
export async function assertSurvived(t: ExecutionContext, router: RouterUnderFuzz): Promise<void> {
  await new Promise((r) => setTimeout(r, 200));
  t.is(router.exitStatus(), undefined, `the router died:\n${router.stderrTail().slice(-3000)}`);
  if (router.exitStatus() !== undefined) return;
  t.deepEqual(await healthFailures(router.urls), [], 'every protocol is still served');
}

// The hustmq bridge under test: a full kitsune server (memory store unless told otherwise) with the
// bridge on a dedicated ephemeral port and on the shared port under /hustmq, and a fetch wrapper.
import type { ExecutionContext } from 'ava';
import type { HustmqOptions } from '../../bridge/hustmq/index.ts';
import type { Client, KitsuneRouter } from '../../lib/index.ts';
import type { RouterConfig } from '../../lib/core/config.ts';
import type { ServerConfig } from '../../server/config.ts';
import type { RunningServer } from '../../server/server.ts';
import { startTestServer } from './server.ts';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  ms: number;
}

export interface Hustmq {
  server: RunningServer;
  /** The bridge at the root of its dedicated port. */
  base: string;
  /** The bridge under /hustmq on the shared port. */
  shared: string;
  /** fetch(base + path) without following redirects; body read as text. */
  req(path: string, init?: RequestInit): Promise<Answer>;
  /** The same against another base URL. */
  reqAt(base: string, path: string, init?: RequestInit): Promise<Answer>;
  /** An in-process client of realm1 (closed at teardown). */
  local: Client;
  /** Resolves once `n` evget requests are parked on `queue` (evsub: `push` true). */
  parkedOn(queue: string, n: number, push?: boolean): Promise<void>;
}

export async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  const t0 = performance.now();
  const r = await fetch(url, { redirect: 'manual', ...init });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, ms: performance.now() - t0 };
}

export async function startHustmq(t: ExecutionContext, hustmq: Partial<HustmqOptions> = {}, overrides: Partial<ServerConfig> = {}, router?: Partial<RouterConfig>): Promise<Hustmq> {
  const server = await startTestServer(t, router, { hustmqPort: 0, hustmq, ...overrides });
  const base = server.urls.hustmqPort as string;
  const shared = server.urls.hustmq as string;
  const local = (server.router as KitsuneRouter).connect('realm1');
  t.teardown(() => local.close());
  return {
    server,
    base,
    shared,
    req: (path, init) => request(base + path, init),
    reqAt: (b, path, init) => request(b + path, init),
    local,
    parkedOn: (queue, n, push = false) => until(() => (push ? local.streams.waiting(queue) : local.queues.waiting(queue)) === n),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `fn` is true (or fails after `timeoutMs`). */
export async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

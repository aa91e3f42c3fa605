// The hustdb bridge under test: a full kitsune server (memory store unless told otherwise) with the
// bridge on a dedicated ephemeral port and under /hustdb on the shared port, and a fetch wrapper.
import type { ExecutionContext } from 'ava';
import type { HustdbOptions } from '../../bridge/hustdb/index.ts';
import type { RouterConfig } from '../../lib/core/config.ts';
import type { ServerConfig } from '../../server/config.ts';
import type { RunningServer } from '../../server/server.ts';
import { startTestServer } from './server.ts';

export interface DbAnswer {
  status: number;
  headers: Headers;
  /** The body's bytes. */
  bytes: Buffer;
  text: string;
}

export interface Hustdb {
  server: RunningServer;
  /** The bridge at the root of its dedicated port. */
  base: string;
  /** The bridge under /hustdb on the shared port. */
  shared: string;
  req(path: string, init?: RequestInit): Promise<DbAnswer>;
  reqAt(base: string, path: string, init?: RequestInit): Promise<DbAnswer>;
}

export async function dbRequest(url: string, init: RequestInit = {}): Promise<DbAnswer> {
  const r = await fetch(url, { redirect: 'manual', ...init });
  const bytes = Buffer.from(await r.arrayBuffer());
  return { status: r.status, headers: r.headers, bytes, text: bytes.toString() };
}

export async function startHustdb(
  t: ExecutionContext,
  options: Partial<HustdbOptions> = {},
  router?: Partial<RouterConfig>,
  overrides: Partial<ServerConfig> = {},
): Promise<Hustdb> {
  const server = await startTestServer(t, router, { hustdbPort: 0, hustdb: options, ...overrides });
  const base = server.urls.hustdbPort as string;
  const shared = server.urls.hustdb as string;
  return {
    server,
    base,
    shared,
    req: (path, init) => dbRequest(base + path, init),
    reqAt: (b, path, init) => dbRequest(b + path, init),
  };
}

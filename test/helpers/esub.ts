// esub test helpers: a server with the esub bridge on a dedicated port, HTTP subs that can be
// aborted, and WebSocket clients that record messages and the close frame they got.
import type { ExecutionContext } from 'ava';
import WebSocket from 'ws';
import type { EsubOptions } from '../../bridge/esub/index.ts';
import type { RouterConfig } from '../../lib/core/config.ts';
import type { ServerConfig } from '../../server/config.ts';
import type { RunningServer } from '../../server/server.ts';
import { startTestServer } from './server.ts';

export interface EsubServer {
  server: RunningServer;
  /** Root of the dedicated esub port, e.g. http://127.0.0.1:PORT */
  base: string;
  /** The same bridge under /esub on the shared port. */
  shared: string;
  ws: string;
}

export async function startEsub(t: ExecutionContext, esub: EsubOptions = {}, overrides: Partial<ServerConfig> = {}, router?: Partial<RouterConfig>): Promise<EsubServer> {
  const server = await startTestServer(t, router, { esubPort: 0, esub, ...overrides });
  const base = server.urls.esubPort as string;
  return { server, base, shared: server.urls.esub as string, ws: base.replace(/^http/, 'ws') };
}

export interface HttpAnswer {
  status: number;
  body: string;
  bytes: Buffer;
  headers: Headers;
}

export async function http(url: string, init: RequestInit = {}): Promise<HttpAnswer> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, body: bytes.toString('utf8'), bytes, headers: res.headers };
}

export function rep(base: string, key: string, body: string | Uint8Array, query = ''): Promise<HttpAnswer> {
  return http(`${base}/rep/${encodeURIComponent(key)}${query}`, { method: 'POST', body: body as BodyInit });
}

export interface PendingSub {
  answer: Promise<HttpAnswer>;
  abort(): void;
}

/** Starts GET /sub/:key and waits until the bridge lists the key (so the sub is registered). */
export async function sub(base: string, key: string, query = ''): Promise<PendingSub> {
  const controller = new AbortController();
  const answer = http(`${base}/sub/${encodeURIComponent(key)}${query}`, { signal: controller.signal });
  answer.catch(() => {});
  await waitFor(async () => (await keys(base)).includes(key));
  return { answer, abort: () => controller.abort() };
}

export async function keys(base: string): Promise<string[]> {
  const r = await http(`${base}/keys`);
  if (r.status === 204) return [];
  const v = JSON.parse(r.body) as string[] | Record<string, string[]>;
  return Array.isArray(v) ? v : Object.values(v).flat();
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A WebSocket client that queues what it receives and remembers how it was closed. */
export class WsClient {
  readonly messages: { data: Buffer; binary: boolean }[] = [];
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(
    readonly ws: WebSocket,
    /** Answer each message with `ok` (a read receipt). */
    public receipts = false,
  ) {
    ws.on('error', () => {});
    ws.on('message', (data: Buffer, binary: boolean) => {
      this.messages.push({ data, binary });
      if (this.receipts) ws.send('ok');
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Resolves when `n` messages have arrived in all. */
  async count(n: number, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.messages.length < n) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`expected ${n} messages, got ${this.messages.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  texts(): string[] {
    return this.messages.map((m) => m.data.toString('utf8'));
  }
}

export async function connectWs(t: ExecutionContext, url: string, options: WebSocket.ClientOptions & { receipts?: boolean } = {}): Promise<WsClient> {
  const { receipts, ...wsOptions } = options;
  const c = new WsClient(new WebSocket(url, wsOptions), receipts ?? false);
  t.teardown(() => c.ws.terminate());
  await c.opened;
  return c;
}

/** Opens a psub member and waits until the bridge lists its key. */
export async function psub(t: ExecutionContext, s: EsubServer, key: string, query = '', options: WebSocket.ClientOptions & { receipts?: boolean } = {}): Promise<WsClient> {
  const c = await connectWs(t, `${s.ws}/psub/${encodeURIComponent(key)}${query}`, options);
  await waitFor(async () => (await keys(s.base)).includes(key) || c.ws.readyState !== WebSocket.OPEN, 5000, `psub ${key}`);
  return c;
}

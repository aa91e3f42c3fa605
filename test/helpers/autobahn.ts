// autobahn sessions for tests that need more than connectAutobahn gives: the connection's close
// reason (GOODBYE / ABORT details), typed-loosely options for advanced features, a Deferred helper.
import type { ExecutionContext } from 'ava';
import autobahn from 'autobahn';
import type { AutobahnOptions, SerializerName } from './wamp.ts';

type SerializerCtor = new () => object;
const serializers = (autobahn as unknown as { serializer: Record<string, SerializerCtor> }).serializer;

function serializerOf(name: SerializerName): object {
  const ctor = { json: serializers.JSONSerializer, msgpack: serializers.MsgpackSerializer, cbor: serializers.CBORSerializer }[name];
  return new (ctor as SerializerCtor)();
}

export interface CloseInfo {
  reason: string;
  details: { reason?: string; message?: string; [k: string]: unknown };
}

export interface OpenSession {
  session: autobahn.Session;
  connection: autobahn.Connection;
  /** Resolves when the connection closes, with autobahn's reason and details (details.reason = WAMP reason). */
  closed: Promise<CloseInfo>;
}

/** Opens an autobahn session and keeps its connection; rejects with the close info if refused. */
export function openAutobahn(t: ExecutionContext, urls: Record<string, string>, opts: AutobahnOptions = {}): Promise<OpenSession> {
  const transports: unknown[] = opts.rawsocket
    ? [{ type: 'rawsocket', host: new URL(urls.rawsocket as string).hostname, port: Number(new URL(urls.rawsocket as string).port) }]
    : [{ type: 'websocket', url: urls.wamp, serializers: [serializerOf(opts.serializer ?? 'json')] }];
  const connection = new autobahn.Connection({
    transports,
    realm: opts.realm ?? 'realm1',
    max_retries: 0,
    authid: opts.authid,
    authmethods: opts.authmethods,
    authextra: opts.authextra,
    onchallenge: opts.onchallenge,
  } as unknown as autobahn.IConnectionOptions);
  let markClosed!: (c: CloseInfo) => void;
  const closed = new Promise<CloseInfo>((r) => (markClosed = r));
  return new Promise((resolve, reject) => {
    let opened = false;
    connection.onopen = (session) => {
      opened = true;
      t.teardown(() => {
        if (connection.isOpen) connection.close();
      });
      resolve({ session, connection, closed });
    };
    connection.onclose = (reason, details) => {
      markClosed({ reason, details: (details ?? {}) as CloseInfo['details'] });
      if (!opened) reject(Object.assign(new Error(`connection closed: ${reason} ${JSON.stringify(details)}`), { reason, details }));
      return true;
    };
    connection.open();
  });
}

/** autobahn's option types lack most advanced options; pass any dictionary through. */
export function opts<T>(o: Record<string, unknown>): T {
  return o as unknown as T;
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Collects events of one subscription; `waitFor(n)` resolves once n have arrived. */
export class Collector<T = unknown> {
  readonly items: T[] = [];
  private waiters: { n: number; resolve(): void }[] = [];

  readonly push = (item: T): void => {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (this.items.length >= w.n) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
  };

  waitFor(n: number, timeoutMs = 3000): Promise<T[]> {
    if (this.items.length >= n) return Promise.resolve(this.items);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} items, got ${this.items.length}: ${JSON.stringify(this.items).slice(0, 300)}`)), timeoutMs);
      this.waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.items);
        },
      });
    });
  }
}

/** Subscribes with autobahn and collects [args, kwargs, details] of each event. */
export async function collect(session: autobahn.Session, topic: string, options: Record<string, unknown> = {}): Promise<Collector<{ args: unknown[]; kwargs: Record<string, unknown>; details: Record<string, unknown> }>> {
  const c = new Collector<{ args: unknown[]; kwargs: Record<string, unknown>; details: Record<string, unknown> }>();
  await session.subscribe(topic, (args, kwargs, details) => c.push({ args: (args ?? []) as unknown[], kwargs: (kwargs ?? {}) as Record<string, unknown>, details: details as unknown as Record<string, unknown> }), opts(options));
  return c;
}

/** autobahn's error for a rejected call: error URI, args and kwargs. */
export async function callError(p: PromiseLike<unknown>): Promise<{ error: string; args: unknown[]; kwargs: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as { error: string; args: unknown[]; kwargs: Record<string, unknown> };
  }
  throw new Error('expected the call to fail');
}

// do_get / do_post over the router's RPC: a do_get calls `<prefix>.do.<Q>` with the body as a bytes
// payload; a parked do_post worker is a one-shot callee of `<prefix>.do.` (prefix match, or exact
// `<prefix>.do.<Q>` with ?queue=Q) on a session of its own, sharing one registration and invoke
// policy with the other parked workers, so WAMP callees and callers meet HTTP ones. A task that
// finds no callee waits here (unassigned) until a worker parks or a callee registers.
import { type Client, ErrorUri, type KitsuneRouter, Payload, RouterError } from '../../lib/index.ts';
import type { ClientInvocation } from '../../lib/index.ts';
import type { Hangup } from './http.ts';
import type { ResolvedOptions } from './options.ts';

export interface Reply {
  status: number;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** The parked worker's answer was not deliverable (it hung up): the task goes to another callee. */
const WORKER_GONE = 'kitsune.error.worker_gone';

interface Task {
  queue: string;
  payload: Payload;
  state: 'unassigned' | 'dispatched' | 'assigned' | 'done';
  timer: NodeJS.Timeout;
  call?: AbortController;
  resolve(r: Reply | null): void;
}

interface Worker {
  client: Client;
  queue: string | undefined;
  procedure: string;
  state: 'parked' | 'gone';
  timer?: NodeJS.Timeout;
  unregister?: () => Promise<void>;
  recycled?: boolean;
  resolve(r: Reply | null): void;
}

interface Claimed {
  queue: string;
  task: Task | undefined;
  resolve(p: Payload): void;
}

function retryable(err: unknown): boolean {
  if (!(err instanceof RouterError)) return false;
  if (err.uri === ErrorUri.noSuchProcedure || err.uri === WORKER_GONE) return true;
  return err.uri === ErrorUri.canceled && /registration removed|callee left/.test(err.message);
}

export class RpcHub {
  private readonly tasks = new Set<Task>();
  /** Unassigned tasks, most recent last (handed out LIFO, as hustmq does). */
  private readonly pending: Task[] = [];
  private readonly byPayload = new WeakMap<Payload, Task>();
  private readonly parked = new Set<Worker>();
  private readonly pool: Client[] = [];
  private readonly workerSessions = new Set<number>();
  private readonly claimed = new Map<string, Claimed>();
  private readonly tokenBase = Date.now() * 1000;
  private tokenSeq = 0;
  private readonly prefix: string;
  private closed = false;

  constructor(
    private readonly router: KitsuneRouter,
    private readonly main: Client,
    private readonly opts: ResolvedOptions,
  ) {
    this.prefix = `${opts.topicPrefix}.do.`;
    // A callee that registers later takes the tasks that are waiting for one.
    main
      .subscribe('wamp.registration.on_register', (e) => {
        if (!this.workerSessions.has(e.args[0] as number)) this.redispatchAll();
      })
      .catch(() => undefined);
  }

  // --- do_get ---

  doGet(queue: string, body: Uint8Array, gone: Hangup): Promise<Reply | null> {
    if (this.tasks.size >= this.opts.doGetCacheSize) return Promise.resolve({ status: 404, body: `all ${this.opts.doGetCacheSize} task slots are in use\n` });
    return new Promise((resolve) => {
      const payload = Payload.fromBytes(body);
      const task: Task = {
        queue,
        payload,
        state: 'unassigned',
        timer: setTimeout(() => this.finish(task, { status: 408, body: `no result within ${this.opts.doGetTimeoutMs} ms\n` }), this.opts.doGetTimeoutMs),
        resolve,
      };
      this.tasks.add(task);
      this.byPayload.set(payload, task);
      gone(() => this.finish(task, null));
      this.dispatch(task);
    });
  }

  private dispatch(task: Task): void {
    if (task.state === 'done' || this.closed) return;
    task.state = 'dispatched';
    const call = new AbortController();
    task.call = call;
    this.main.call(this.prefix + task.queue, task.payload, undefined, { signal: call.signal }).then(
      (r) => this.finish(task, { status: 200, body: r.payload.bytes }),
      (err: unknown) => {
        if (task.state === 'done' || task.call !== call) return;
        task.call = undefined;
        if (retryable(err)) {
          task.state = 'unassigned';
          if ((err as RouterError).uri === WORKER_GONE) this.dispatch(task);
          else this.pending.push(task);
          return;
        }
        const e = err as RouterError;
        this.finish(task, { status: 404, body: `${e.uri ?? 'error'}: ${e.message}\n` });
      },
    );
  }

  private finish(task: Task, reply: Reply | null): void {
    if (task.state === 'done') return;
    task.state = 'done';
    clearTimeout(task.timer);
    this.tasks.delete(task);
    const i = this.pending.indexOf(task);
    if (i >= 0) this.pending.splice(i, 1);
    const call = task.call;
    task.call = undefined;
    if (call && reply?.status !== 200) call.abort();
    task.resolve(reply);
  }

  /** Re-dispatches the most recent unassigned task a worker of `queue` (any when undefined) can serve. */
  private dispatchOne(queue: string | undefined): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const t = this.pending[i] as Task;
      if (queue !== undefined && t.queue !== queue) continue;
      this.pending.splice(i, 1);
      this.dispatch(t);
      return;
    }
  }

  private redispatchAll(): void {
    for (const t of this.pending.splice(0)) this.dispatch(t);
  }

  // --- do_post: claim ---

  claim(queue: string | undefined, gone: Hangup): Promise<Reply | null> {
    if (this.parked.size >= this.opts.doPostCacheSize) return Promise.resolve({ status: 404, body: `all ${this.opts.doPostCacheSize} worker slots are in use\n` });
    return new Promise((resolve) => {
      const client = this.pool.pop() ?? this.newWorkerClient();
      const worker: Worker = { client, queue, procedure: queue === undefined ? this.prefix : this.prefix + queue, state: 'parked', resolve };
      this.parked.add(worker);
      const match = queue === undefined ? 'prefix' : 'exact';
      // The registration is live once register() returns; its handle arrives a microtask later.
      client.register(worker.procedure, (inv) => this.invoked(worker, inv), { match, invoke: this.opts.doInvokePolicy, once: true }).then(
        (reg) => {
          worker.unregister = reg.unregister;
          if (worker.state === 'gone') void reg.unregister().then(() => this.recycle(worker));
        },
        (err: unknown) => {
          worker.unregister = async () => undefined;
          this.release(worker, { status: 404, body: `cannot wait for tasks: ${(err as Error).message}\n` });
        },
      );
      if (worker.state !== 'parked') return;
      worker.timer = setTimeout(() => this.release(worker, { status: 408, body: `no task within ${this.opts.doPostTimeoutMs} ms\n` }), this.opts.doPostTimeoutMs);
      gone(() => this.release(worker, null));
      this.dispatchOne(queue);
    });
  }

  private newWorkerClient(): Client {
    // the bridge's own (trusted) session: do_post checked the request's right to register first
    const client = this.router.connect(this.opts.realm, { authid: this.opts.authid, protocol: 'http' });
    this.workerSessions.add(client.id);
    return client;
  }

  /** The worker no longer waits for a task: stop its timer and free its slot. */
  private leave(worker: Worker): boolean {
    if (worker.state === 'gone') return false;
    worker.state = 'gone';
    if (worker.timer) clearTimeout(worker.timer);
    this.parked.delete(worker);
    return true;
  }

  /** A parked worker leaves without a task (timeout, hang-up, shutdown). */
  private release(worker: Worker, reply: Reply | null): void {
    if (!this.leave(worker)) return;
    // without the handle yet, the registration is removed (and the session recycled) when it arrives
    if (worker.unregister) void worker.unregister().then(() => this.recycle(worker));
    worker.resolve(reply);
  }

  /** Back to the pool once its registration is gone, for the next parked worker. */
  private recycle(worker: Worker): void {
    if (worker.recycled) return;
    worker.recycled = true;
    if (this.closed || !worker.client.session.isOpen) {
      this.workerSessions.delete(worker.client.id);
      if (worker.client.session.isOpen) worker.client.close();
      return;
    }
    this.pool.push(worker.client);
  }

  /** The dealer hands a parked worker a call: answer its do_post with the task, wait for the result. */
  private invoked(worker: Worker, inv: ClientInvocation): Promise<Payload> {
    if (!this.leave(worker)) throw new RouterError(WORKER_GONE, 'the worker left');
    // the one-shot registration is gone already; drop the client's handler for it (without the
    // handle yet, that happens when it arrives)
    if (worker.unregister) void worker.unregister().then(() => this.recycle(worker));
    const token = String(this.tokenBase + ++this.tokenSeq);
    const procedure = inv.details.procedure ?? worker.procedure;
    const queue = procedure.startsWith(this.prefix) ? procedure.slice(this.prefix.length) : procedure;
    const task = this.byPayload.get(inv.payload);
    if (task && task.state !== 'done') {
      // hustmq restarts the do_get timer when the task is handed to a worker
      task.state = 'assigned';
      clearTimeout(task.timer);
      task.timer = setTimeout(() => this.finish(task, { status: 408, body: `no result within ${this.opts.doGetTimeoutMs} ms\n` }), this.opts.doGetTimeoutMs);
    }
    return new Promise<Payload>((resolve, reject) => {
      this.claimed.set(token, { queue, task, resolve });
      inv.signal.addEventListener('abort', () => {
        this.claimed.delete(token);
        reject(inv.signal.reason);
      });
      worker.resolve({ status: 200, body: inv.payload.bytes, headers: { Queue: queue, Token: token } });
    });
  }

  // --- do_post: report ---

  report(token: string, body: Uint8Array): Reply {
    const c = this.claimed.get(token);
    if (!c) return { status: 404, body: `unknown or expired token '${token}'\n` };
    this.claimed.delete(token);
    c.resolve(Payload.fromBytes(body));
    return { status: 200 };
  }

  // --- status ---

  getStatus(): { unassigned_tasks: number; assigned_tasks: number; free_tasks: number; total: number } {
    let unassigned = 0;
    for (const t of this.tasks) if (t.state === 'unassigned') unassigned++;
    // tasks of HTTP clients handed to a callee, plus WAMP callers' calls held by HTTP workers
    let assigned = this.tasks.size - unassigned;
    for (const c of this.claimed.values()) if (!c.task) assigned++;
    const free = Math.max(0, this.opts.doGetCacheSize - unassigned - assigned);
    return { unassigned_tasks: unassigned, assigned_tasks: assigned, free_tasks: free, total: unassigned + assigned + free };
  }

  /** Parked HTTP workers plus the WAMP (or other non-bridge) callees registered under `<prefix>.do.`. */
  async postStatus(): Promise<{ cache_workers: number; free_workers: number; total: number }> {
    let parked = 0;
    for (const w of this.parked) if (w.state === 'parked') parked++;
    const others = await this.otherCallees().catch(() => 0);
    const free = Math.max(0, this.opts.doPostCacheSize - this.parked.size);
    return { cache_workers: parked + others, free_workers: free, total: parked + others + free };
  }

  private async otherCallees(): Promise<number> {
    const list = (await this.main.call('wamp.registration.list')).args[0] as Record<string, number[]>;
    const ids = [...(list.exact ?? []), ...(list.prefix ?? []), ...(list.wildcard ?? [])];
    let n = 0;
    for (const id of ids) {
      const details = (await this.main.call('wamp.registration.get', [id])).args[0] as { uri?: string };
      if (!details?.uri?.startsWith(this.prefix)) continue;
      const callees = (await this.main.call('wamp.registration.list_callees', [id])).args[0] as number[];
      for (const s of callees) if (!this.workerSessions.has(s) && s !== this.main.id) n++;
    }
    return n;
  }

  close(): void {
    this.closed = true;
    for (const w of [...this.parked]) this.release(w, { status: 404, body: 'server shutting down\n' });
    for (const t of [...this.tasks]) this.finish(t, { status: 404, body: 'server shutting down\n' });
    for (const c of this.pool.splice(0)) c.close();
  }
}

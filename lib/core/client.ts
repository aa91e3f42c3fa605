// The in-process client: the same operations and options as a WAMP client, with no socket.
// Bridges and embedding applications use it through lib/index.ts.
import type { Action } from './config.ts';
import { ErrorUri, RouterError } from './errors.ts';
import { asDict, callOptions, publishOptions, registerOptions, subscribeOptions } from './options.ts';
import { Payload } from './payload.ts';
import { TRUSTED_ROLE } from './permissions.ts';
import { queueApi, streamApi } from './bindings.ts';
import type { QueueApi } from './queues.ts';
import type { StreamApi } from './streams.ts';
import { storeReply, takeReplies } from './replies.ts';
import { CollectionApi } from './collections.ts';
import { deleteRetained, getRetained, indexRetained, listRetained, putRetained, retainedBranches, type RetainedListOptions, type RetainedPutOptions, type RetainedValue } from './retained-api.ts';
import type { LevelRank } from './retained.ts';
import type { Router } from './router.ts';
import type { Session } from './session.ts';
import { wampLevels, wampPattern } from './topic.ts';
import type { Dict, EventDelivery, InterruptMode, InvocationDetails, Peer, Publisher, ResultDetails } from './types.ts';

export interface ClientEvent {
  args: unknown[];
  kwargs: Dict;
  payload: Payload;
  topic: string;
  publication: number;
  publisher?: Publisher;
  retained: boolean;
}

export interface ClientResult {
  args: unknown[];
  kwargs: Dict;
  payload: Payload;
}

export interface ClientInvocation extends ClientResult {
  procedure: string;
  details: InvocationDetails;
  /** Aborted when the caller cancels or times out (INTERRUPT). */
  signal: AbortSignal;
  /** Sends a progressive result (only if the caller asked for them). */
  progress(args?: unknown[], kwargs?: Dict): void;
}

/** Return this from a procedure to answer with args/kwargs; any other value becomes args [value]. */
export class CallResult {
  constructor(
    readonly args?: unknown[],
    readonly kwargs?: Dict,
  ) {}
}

export interface ConnectOptions {
  authid?: string;
  authrole?: string;
  /** Shown in the session meta API, e.g. 'http' for a bridge. */
  protocol?: 'local' | 'http';
  transport?: Dict;
}

export interface ClientCallOptions extends Dict {
  onProgress?: (r: ClientResult) => void;
  signal?: AbortSignal;
}

type EventHandler = (e: ClientEvent) => void;
type Procedure = (inv: ClientInvocation) => unknown;

interface PendingCall {
  resolve(r: ClientResult): void;
  reject(e: RouterError): void;
  onProgress?: (r: ClientResult) => void;
}

/** Lazy: a caller that only wants the bytes (the HTTP bridges) never parses them. */
function toResult(payload: Payload): ClientResult {
  return {
    get args() {
      return payload.args ?? [];
    },
    get kwargs() {
      return payload.kwargs ?? {};
    },
    payload,
  };
}

function toPayload(value: unknown): Payload {
  if (value instanceof Payload) return value;
  if (value instanceof CallResult) return Payload.fromArgs(value.args, value.kwargs);
  if (value instanceof Uint8Array) return Payload.fromBytes(value);
  if (value === undefined) return Payload.empty();
  return Payload.fromArgs([value]);
}

export class Client implements Peer {
  readonly session: Session;
  private readonly handlers = new Map<number, Set<EventHandler>>();
  private readonly procedures = new Map<number, Procedure>();
  private readonly pending = new Map<number, PendingCall>();
  private readonly running = new Map<number, AbortController>();
  private nextRequest = 0;
  /** Called when the router closes this client (kill, shutdown). */
  onClose: ((reason: string, message: string) => void) | undefined;
  /** Called when the router removes one of this client's registrations (e.g. 'wamp.error.replaced' by force_reregister). */
  onUnregistered: ((registrationId: number, reason: string) => void) | undefined;

  constructor(router: Router, realm: string, options: ConnectOptions = {}) {
    this.session = router.attach(
      realm,
      {
        authid: options.authid ?? 'local',
        authrole: options.authrole ?? TRUSTED_ROLE,
        authmethod: 'local',
        authprovider: 'local',
        protocol: options.protocol ?? 'local',
        transport: options.transport ?? {},
      },
      this,
    );
  }

  get id(): number {
    return this.session.id;
  }

  async publish(topic: string, args?: unknown[], kwargs?: Dict, options: Dict = {}): Promise<number> {
    return this.session.publish(wampLevels(topic), Payload.fromArgs(args, kwargs), publishOptions(options));
  }

  /** Publishes bytes as they are (HTTP/MQTT-native payload). */
  async publishBytes(topic: string, bytes: Uint8Array, options: Dict = {}): Promise<number> {
    return this.session.publish(wampLevels(topic), Payload.fromBytes(bytes), publishOptions(options));
  }

  async subscribe(topic: string, handler: EventHandler, options: Dict = {}): Promise<{ id: number; unsubscribe(): Promise<void> }> {
    const opts = subscribeOptions(asDict(options, 'options'));
    const sub = this.session.subscribe(wampPattern(topic, opts.match), opts);
    let set = this.handlers.get(sub.id);
    if (!set) this.handlers.set(sub.id, (set = new Set()));
    set.add(handler);
    if (opts.getRetained) this.session.realm.deliverRetained(this.session, sub);
    if (opts.after !== undefined) await this.session.realm.replay(this.session, sub, opts.after, opts.snapshot === true);
    return {
      id: sub.id,
      unsubscribe: async () => {
        set.delete(handler);
        if (set.size === 0) {
          this.handlers.delete(sub.id);
          this.session.unsubscribe(sub.id);
        }
      },
    };
  }

  /** Calls with a bytes payload as it is (HTTP/MQTT-native), as publishBytes publishes. */
  callBytes(procedure: string, bytes: Uint8Array, options: ClientCallOptions = {}): Promise<ClientResult> {
    return this.call(procedure, Payload.fromBytes(bytes), undefined, options);
  }

  /** `args` may also be a ready Payload (kwargs are then ignored). */
  call(procedure: string, args?: unknown[] | Payload, kwargs?: Dict, options: ClientCallOptions = {}): Promise<ClientResult> {
    const { onProgress, signal, ...wire } = options;
    let opts: ReturnType<typeof callOptions>;
    try {
      opts = callOptions(wire);
    } catch (err) {
      return Promise.reject(err);
    }
    if (onProgress) opts.receiveProgress = true;
    const requestId = ++this.nextRequest;
    return new Promise<ClientResult>((resolve, reject) => {
      let settle = { resolve, reject };
      if (signal) {
        const abort = (): void => this.session.cancel(requestId, 'killnowait');
        if (signal.aborted) queueMicrotask(abort);
        else {
          signal.addEventListener('abort', abort, { once: true });
          const done = (): void => signal.removeEventListener('abort', abort);
          settle = {
            resolve: (r) => (done(), resolve(r)),
            reject: (e) => (done(), reject(e)),
          };
        }
      }
      this.pending.set(requestId, { ...settle, onProgress });
      try {
        this.session.call(requestId, procedure, args instanceof Payload ? args : Payload.fromArgs(args, kwargs), opts);
      } catch (err) {
        this.pending.delete(requestId);
        settle.reject(err as RouterError);
      }
    });
  }

  async register(procedure: string, fn: Procedure, options: Dict = {}): Promise<{ id: number; unregister(): Promise<void> }> {
    const opts = registerOptions(asDict(options, 'options'));
    if (options.once === true) opts.once = true;
    const reg = this.session.register(wampPattern(procedure, opts.match), opts);
    this.procedures.set(reg.id, fn);
    return {
      id: reg.id,
      unregister: async () => {
        if (!this.procedures.delete(reg.id)) return;
        if (this.session.registrations.has(reg)) this.session.unregister(reg.id);
      },
    };
  }

  /**
   * Takes the resource lock `name` (a retained topic written only when absent). With `wait` (the
   * default) it waits its turn, FIFO; without, it fails at once if the lock is held. Resolves to the
   * release function. The lock is released by the router if this client's session ends.
   */
  async lock(name: string, options: { wait?: boolean } = {}): Promise<() => Promise<void>> {
    const holder = { session: this.id, authid: this.session.authid, since: new Date().toISOString() };
    await this.publish(name, [holder], undefined, { acknowledge: true, retain: true, when: null, will: null, watch: options.wait !== false });
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await this.publish(name, [null], undefined, { acknowledge: true, retain: true });
    };
  }

  /**
   * Throws wamp.error.not_authorized (counted and logged as any refusal) unless this session's role
   * may `action` on `uri`: for a bridge about to act for this session through an API that does not
   * check by itself (queues, streams, stored replies).
   */
  authorize(action: Action, uri: string): void {
    this.session.realm.authorize(this.session, action, wampLevels(uri, this.session.realm.limits), uri);
  }

  /** Keeps `value` under `key` for `ttlMs` in the realm's store (esub stored replies). */
  storeReply(key: string, value: Uint8Array, ttlMs: number): Promise<void> {
    return storeReply(this.session.realm, key, value, ttlMs);
  }

  /** Removes and returns the live stored replies of `key`, oldest first. */
  takeReplies(key: string): Promise<Uint8Array[]> {
    return takeReplies(this.session.realm, key);
  }

  /** The live retained value of `topic` with its revision (needs 'subscribe'); undefined when none. */
  getRetained(topic: string): RetainedValue | undefined {
    return getRetained(this.session, topic);
  }

  /** A page of the live retained values one level below `topic` (needs 'subscribe' on `topic.`). */
  listRetained(topic: string, options?: RetainedListOptions): { level: string; value: RetainedValue }[] {
    return listRetained(this.session, topic, options);
  }

  /** Keeps the retained values below `topic` ordered by `rank` for ranked listings (see retained-api.ts); resolves when ready. */
  indexRetained(topic: string, rank: LevelRank, match: 'exact' | 'wildcard' = 'exact'): Promise<void> {
    try {
      return indexRetained(this.session, topic, rank, match);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The levels one below `topic` that have retained values further down (needs 'subscribe' on `topic.`). */
  retainedBranches(topic: string): string[] {
    return retainedBranches(this.session, topic);
  }

  /** A retained write with a revision condition and an expiry: the new revision, or null when the condition failed. */
  putRetained(topic: string, value: Uint8Array | Payload, options?: RetainedPutOptions): Promise<number | null> {
    try {
      return putRetained(this.session, topic, value, options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Clears a retained value: the revision it had, or null when absent or the condition failed. */
  deleteRetained(topic: string, options?: { ifRevision?: number }): Promise<number | null> {
    try {
      return deleteRetained(this.session, topic, options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The store's sets and sorted sets, each table bound to a topic for permissions and change events. */
  get collections(): CollectionApi {
    return new CollectionApi(this.session);
  }

  /** The realm's durable queues (lib/core/queues.ts); a bridge may bind them to a topic prefix. */
  get queues(): QueueApi {
    return queueApi(this.session);
  }

  /** The realm's indexed streams over history (lib/core/streams.ts). */
  get streams(): StreamApi {
    return streamApi(this.session);
  }

  close(): void {
    this.session.leave();
    for (const [, p] of this.pending) p.reject(new RouterError(ErrorUri.canceled, 'client closed'));
    this.pending.clear();
  }

  // --- Peer: what the router sends us ---

  event(d: EventDelivery): void {
    const set = this.handlers.get(d.subscriptionId);
    if (!set) return;
    const p = d.publication;
    const e: ClientEvent = {
      // lazy, as results are
      get args() {
        return p.payload.args ?? [];
      },
      get kwargs() {
        return p.payload.kwargs ?? {};
      },
      payload: p.payload,
      topic: p.topic.join('.'),
      publication: p.id,
      publisher: p.publisher,
      retained: d.retained,
    };
    for (const h of set) {
      try {
        h(e);
      } catch {
        // a handler's failure must not stop delivery to the others
      }
    }
  }

  invocation(invocationId: number, registrationId: number, payload: Payload, details: InvocationDetails): void {
    const fn = this.procedures.get(registrationId);
    if (!fn) {
      this.session.invocationError(invocationId, ErrorUri.noSuchProcedure, Payload.empty());
      return;
    }
    if (details.progress) return; // progressive invocation chunks are not surfaced by this API
    const controller = new AbortController();
    this.running.set(invocationId, controller);
    const inv: ClientInvocation = {
      // lazy: a callee that only wants the bytes (e.g. the esub bridge) never parses a big body
      get args() {
        return payload.args ?? [];
      },
      get kwargs() {
        return payload.kwargs ?? {};
      },
      payload,
      procedure: details.procedure ?? '',
      details,
      signal: controller.signal,
      progress: (args, kwargs) => this.session.yield(invocationId, Payload.fromArgs(args, kwargs), true),
    };
    const done = (): boolean => this.running.delete(invocationId);
    Promise.resolve()
      .then(() => fn(inv))
      .then(
        (value) => {
          if (done()) this.session.yield(invocationId, toPayload(value));
        },
        (err: unknown) => {
          if (!done()) return;
          const e = err instanceof RouterError ? err : new RouterError('wamp.error.runtime_error', err instanceof Error ? err.message : String(err));
          this.session.invocationError(invocationId, e.uri, Payload.fromArgs(e.errorArgs, e.kwargs));
        },
      );
  }

  interrupt(invocationId: number, mode: InterruptMode, reason: string): void {
    const c = this.running.get(invocationId);
    if (!c) return;
    if (mode === 'killnowait') this.running.delete(invocationId);
    c.abort(new RouterError(reason, `call interrupted (${mode})`));
  }

  result(requestId: number, payload: Payload, details: ResultDetails): void {
    const p = this.pending.get(requestId);
    if (!p) return;
    if (details.progress) {
      p.onProgress?.(toResult(payload));
      return;
    }
    this.pending.delete(requestId);
    p.resolve(toResult(payload));
  }

  callError(requestId: number, error: string, payload: Payload, _details: Dict): void {
    const p = this.pending.get(requestId);
    if (!p) return;
    this.pending.delete(requestId);
    const e = new RouterError(error, String(payload.args?.[0] ?? error), payload.args, payload.kwargs);
    p.reject(e);
  }

  unregistered(registrationId: number, reason = ''): void {
    this.procedures.delete(registrationId);
    this.onUnregistered?.(registrationId, reason);
  }

  unsubscribed(subscriptionId: number): void {
    this.handlers.delete(subscriptionId);
  }

  kill(reason: string, message: string): void {
    this.close();
    this.onClose?.(reason, message);
  }
}

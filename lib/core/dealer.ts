// RPC: registrations (exact, prefix, wildcard; shared with invoke policies), calls routed to
// callees with concurrency limits and a bounded wait queue, progressive results and invocations,
// cancel, timeouts, and cleanup when either side leaves.
import { ErrorUri, RouterError } from './errors.ts';
import { IdSequence } from './ids.ts';
import { Payload } from './payload.ts';
import { RegistrationEntry } from './registration.ts';
import { patternKey } from './topic.ts';
import { PatternTrie } from './trie.ts';
import type { CallRecord, Invocation, Registration, SessionHandle } from './routing-types.ts';
import type { CallOptions, Dict, InterruptMode, InvocationDetails, Pattern, RegisterOptions } from './types.ts';

export interface DealerEvents {
  onCreate(session: SessionHandle, reg: Registration): void;
  onRegister(session: SessionHandle, reg: Registration): void;
  onUnregister(session: SessionHandle, reg: Registration): void;
  onDelete(session: SessionHandle, reg: Registration): void;
}

export class Dealer {
  readonly byId = new Map<number, Registration>();
  private readonly byKey = new Map<string, Registration>();
  private readonly exact = new Map<string, Registration>();
  /** Prefix and wildcard registrations: a call walks the procedure's levels rather than every pattern. */
  private readonly patterns = new PatternTrie<Registration>();
  private readonly regIds = new IdSequence();
  private readonly invocationIds = new IdSequence();

  constructor(
    private readonly events: DealerEvents,
    private readonly maxQueued: number,
    /** Told of each call or chunk refused because a wait queue is full (a limit refusal). */
    private readonly refused: () => void = () => {},
  ) {}

  register(session: SessionHandle, pattern: Pattern, options: RegisterOptions): Registration {
    const key = patternKey(pattern);
    const policy = options.invoke ?? 'single';
    let reg = this.byKey.get(key);
    if (reg) {
      if (reg.callee(session)) throw new RouterError(ErrorUri.procedureAlreadyExists, `procedure '${pattern.uri}' already registered by this session`);
      const sameIdentity = reg.callees.every((c) => c.session.authid === session.authid && c.session.authrole === session.authrole);
      if (policy === 'single' && reg.policy === 'single' && options.forceReregister && sameIdentity) {
        const old = reg;
        for (const c of [...old.callees]) {
          this.unregister(c.session, old);
          c.session.peer.unregistered?.(old.id, 'wamp.error.replaced');
        }
        reg = undefined;
      } else if (reg.policy === 'single' || reg.policy !== policy) {
        throw new RouterError(ErrorUri.procedureAlreadyExists, `procedure '${pattern.uri}' already registered with invoke policy '${reg.policy}'`);
      }
    }
    let created = false;
    if (!reg) {
      reg = new RegistrationEntry(this.regIds.take(), pattern, key, policy);
      this.byKey.set(key, reg);
      this.byId.set(reg.id, reg);
      if (pattern.match === 'exact') this.exact.set(pattern.uri, reg);
      else this.patterns.add(pattern, reg);
      created = true;
    }
    reg.callees.push({ session, concurrency: options.concurrency ?? 0, running: 0, once: options.once ?? false });
    session.registrations.add(reg);
    if (created) this.events.onCreate(session, reg);
    this.events.onRegister(session, reg);
    // A new callee may take queued calls — after the caller of register() has its REGISTERED (or
    // registration id) in hand, so no INVOCATION can precede it.
    const registered = reg;
    queueMicrotask(() => this.drain(registered));
    return reg;
  }

  unregister(session: SessionHandle, reg: Registration): boolean {
    const idx = reg.callees.findIndex((c) => c.session === session);
    if (idx < 0) return false;
    reg.callees.splice(idx, 1);
    session.registrations.delete(reg);
    this.events.onUnregister(session, reg);
    if (reg.callees.length === 0) {
      this.byKey.delete(reg.key);
      this.byId.delete(reg.id);
      if (reg.pattern.match === 'exact') this.exact.delete(reg.pattern.uri);
      else this.patterns.remove(reg.pattern, reg);
      for (const waiting of reg.waiting.splice(0)) this.failCall(waiting, ErrorUri.canceled, 'registration removed');
      this.events.onDelete(session, reg);
    }
    return true;
  }

  /** The registration a call to `procedure` goes to: exact, else longest prefix, else most specific wildcard. */
  lookup(procedure: string, levels: readonly string[]): Registration | undefined {
    const exact = this.exact.get(procedure);
    if (exact) return exact;
    if (this.patterns.size === 0) return undefined;
    let best: Registration | undefined;
    this.patterns.match(levels, (reg) => {
      // Equal ranks: the older registration (lower id), as when patterns were scanned in creation order.
      if (!best || reg.rank > best.rank || (reg.rank === best.rank && reg.id < best.id)) best = reg;
    });
    return best;
  }

  matchingExactly(pattern: Pattern): Registration | undefined {
    return this.byKey.get(patternKey(pattern));
  }

  call(caller: SessionHandle, requestId: number, procedure: string, levels: readonly string[], payload: Payload, options: CallOptions, disclose: boolean): void {
    const existing = caller.calls.get(requestId);
    if (existing) {
      this.continueProgressive(existing, payload, options);
      return;
    }
    const reg = this.lookup(procedure, levels);
    if (!reg) throw new RouterError(ErrorUri.noSuchProcedure, `no callee registered for procedure '${procedure}'`);
    const call: CallRecord = { caller, requestId, procedure, payload, options, registration: reg, done: false, disclose };
    caller.calls.set(requestId, call);
    if (options.timeout && options.timeout > 0) {
      call.timer = setTimeout(() => this.timeout(call), options.timeout);
    }
    if (!this.tryStart(call)) {
      if (reg.waiting.length >= this.maxQueued) {
        this.refused();
        this.finish(call);
        throw new RouterError(ErrorUri.noAvailableCallee, `all callees of '${procedure}' are busy and the wait queue is full`);
      }
      reg.waiting.push(call);
    }
  }

  /** A callee's YIELD. */
  yield(callee: SessionHandle, invocationId: number, payload: Payload, progress: boolean): void {
    const inv = callee.invocations.get(invocationId);
    if (!inv) return; // already canceled or answered: late results are dropped
    const call = inv.call;
    if (progress && call.options.receiveProgress) {
      if (inv.interrupted === 'skip' || inv.interrupted === 'killnowait') return;
      call.caller.peer.result(call.requestId, payload, { progress: true });
      return;
    }
    if (progress) return; // caller did not ask for progress: drop intermediate results
    this.endInvocation(inv);
    if (!call.done) {
      this.finish(call);
      call.caller.peer.result(call.requestId, payload, {});
    }
  }

  /** A callee's ERROR for an invocation: reaches the caller unchanged. */
  error(callee: SessionHandle, invocationId: number, uri: string, payload: Payload, details: Dict): void {
    const inv = callee.invocations.get(invocationId);
    if (!inv) return;
    this.endInvocation(inv);
    const call = inv.call;
    if (!call.done) {
      this.finish(call);
      call.caller.peer.callError(call.requestId, uri, payload, details);
    }
  }

  cancel(caller: SessionHandle, requestId: number, mode: InterruptMode): void {
    const call = caller.calls.get(requestId);
    if (!call || call.done) return;
    const inv = call.invocation;
    if (!inv) {
      this.dropWaiting(call);
      this.failCall(call, ErrorUri.canceled, 'canceled by the caller');
      return;
    }
    if (mode === 'skip') {
      inv.interrupted = 'skip';
      this.failCall(call, ErrorUri.canceled, 'canceled by the caller');
      return;
    }
    inv.interrupted = mode;
    inv.callee.session.peer.interrupt(inv.id, mode, ErrorUri.canceled);
    if (mode === 'killnowait') {
      this.endInvocation(inv);
      this.failCall(call, ErrorUri.canceled, 'canceled by the caller');
    }
    // mode kill: the callee's ERROR (or RESULT) answers the caller.
  }

  /** Everything a leaving session had pending, as callee and as caller. */
  sessionLeft(session: SessionHandle): void {
    // Stop being a callee first, so that ending its invocations cannot start queued calls on it.
    for (const reg of [...session.registrations]) this.unregister(session, reg);
    for (const inv of [...session.invocations.values()]) {
      this.endInvocation(inv);
      this.failCall(inv.call, ErrorUri.canceled, 'callee left');
    }
    for (const call of [...session.calls.values()]) {
      call.done = true;
      if (call.timer) clearTimeout(call.timer);
      this.dropWaiting(call);
      const inv = call.invocation;
      if (inv) {
        this.endInvocation(inv);
        inv.callee.session.peer.interrupt(inv.id, 'killnowait', 'caller left');
      }
    }
    session.calls.clear();
  }

  private continueProgressive(call: CallRecord, payload: Payload, options: CallOptions): void {
    if (call.done) return;
    if (call.options.progress !== true || call.closedInput) {
      // A reused request id: end that call for both sides rather than guess what was meant.
      this.abort(call, ErrorUri.invalidArgument, `request id ${call.requestId} was reused while its call was pending`);
      return;
    }
    const progress = options.progress === true;
    if (!progress) call.closedInput = true;
    const inv = call.invocation;
    if (!inv) {
      const chunks = (call.pendingChunks ??= []);
      if (chunks.length >= this.maxQueued) {
        this.refused();
        throw new RouterError(ErrorUri.limitExceeded, 'too many progressive chunks waiting for a callee');
      }
      chunks.push({ payload, progress });
      return;
    }
    inv.callee.session.peer.invocation(inv.id, call.registration.id, payload, this.details(call, progress));
  }

  private tryStart(call: CallRecord): boolean {
    const callee = call.registration.pick();
    if (!callee) return false;
    const inv: Invocation = { id: this.invocationIds.take(), call, callee };
    call.invocation = inv;
    callee.running++;
    callee.session.invocations.set(inv.id, inv);
    const firstProgress = call.options.progress === true;
    callee.session.peer.invocation(inv.id, call.registration.id, call.payload, this.details(call, firstProgress));
    const chunks = call.pendingChunks;
    if (chunks !== undefined) {
      call.pendingChunks = undefined;
      for (const chunk of chunks) callee.session.peer.invocation(inv.id, call.registration.id, chunk.payload, this.details(call, chunk.progress));
    }
    if (callee.once) this.unregister(callee.session, call.registration);
    return true;
  }

  private details(call: CallRecord, progress: boolean): InvocationDetails {
    const d: InvocationDetails = {};
    if (call.registration.pattern.match !== 'exact') d.procedure = call.procedure;
    if (call.options.receiveProgress) d.receiveProgress = true;
    if (progress) d.progress = true;
    if (call.options.timeout) d.timeout = call.options.timeout;
    if (call.disclose) {
      d.caller = call.caller.id;
      d.callerAuthid = call.caller.authid;
      d.callerAuthrole = call.caller.authrole;
    }
    return d;
  }

  private dropWaiting(call: CallRecord): void {
    const w = call.registration.waiting;
    const idx = w.indexOf(call);
    if (idx >= 0) w.splice(idx, 1);
  }

  private timeout(call: CallRecord): void {
    if (call.done) return;
    this.abort(call, ErrorUri.timeout, `call to '${call.procedure}' timed out after ${call.options.timeout} ms`);
  }

  /** Ends a call for both sides: the callee gets INTERRUPT (killnowait, `uri`), the caller ERROR `uri`. */
  private abort(call: CallRecord, uri: string, message: string): void {
    const inv = call.invocation;
    if (inv) {
      this.endInvocation(inv);
      inv.callee.session.peer.interrupt(inv.id, 'killnowait', uri);
    } else {
      this.dropWaiting(call);
    }
    this.failCall(call, uri, message);
  }

  private endInvocation(inv: Invocation): void {
    const session = inv.callee.session;
    if (!session.invocations.delete(inv.id)) return;
    inv.callee.running--;
    this.drain(inv.call.registration);
  }

  /** Starts queued calls while callees have spare concurrency. */
  private drain(reg: Registration): void {
    while (reg.waiting.length > 0 && reg.hasFree()) this.tryStart(reg.waiting.shift() as CallRecord);
  }

  private failCall(call: CallRecord, uri: string, message: string): void {
    if (call.done) return;
    this.finish(call);
    call.caller.peer.callError(call.requestId, uri, Payload.fromArgs([message]), {});
  }

  private finish(call: CallRecord): void {
    call.done = true;
    if (call.timer) clearTimeout(call.timer);
    call.caller.calls.delete(call.requestId);
  }
}

// A rep (from POST /rep or a /prep message) as a router call of `esub.<key>`. The bridge checks the
// token first (synchronously, in the same tick as the call, so no takeover can slip in between),
// then calls. The dealer does the routing: an exact registration (a sub, or a WAMP callee) before
// the psub pool's wildcard registration, round robin within a shared pool; a once-registration
// serves one call, so two racing reps cannot both reach a sub. A member that fails its delivery
// leaves the pool before the call fails, and the call is made again: the next member gets it.
import { type Client, ErrorUri, RouterError } from '../../lib/index.ts';
import { procedureOf } from './keys.ts';
import type { ReplayStore } from './replay.ts';
import type { EsubState } from './state.ts';

export interface Outcome {
  status: number;
  body: string;
  /** The rep was kept for /rsub. */
  stored?: boolean;
}

export const OK: Outcome = { status: 200, body: 'OK' };
const UNKNOWN_KEY = 'Unknown key';
const NO_LISTENERS = 'No listeners remain';

type Target = { kind: 'sub' | 'pool'; token: string } | { kind: 'unknown' } | { kind: 'none' };

/** What a rep to `key` would reach, as far as the bridge knows (WAMP callees are 'unknown'). */
function target(state: EsubState, key: string, psubOnly: boolean): Target {
  if (!psubOnly) {
    const sub = state.subs.get(key);
    if (sub) return { kind: 'sub', token: sub.token };
  }
  const pool = state.pools.get(key);
  if (pool) return { kind: 'pool', token: pool.token };
  // psub=1 searches psub pools only; a key held by a sub alone is unknown to it.
  if (psubOnly && state.subs.has(key)) return { kind: 'none' };
  return { kind: 'unknown' };
}

/** True when some registration (a WAMP callee's) would take a call to `procedure`. */
async function registered(state: EsubState, procedure: string): Promise<boolean> {
  const r = await state.caller.call('wamp.registration.match', [procedure]);
  return r.args[0] !== null && r.args[0] !== undefined;
}

export interface DeliverOptions {
  /** Skip the token and permission checks (the bridge re-delivering a dead member's message). */
  trusted?: boolean;
  /** The session of the request's identity: the call is made as it (default: the bridge's own, with `trusted`). */
  caller?: Client;
}

export class Deliverer {
  constructor(
    private readonly state: EsubState,
    private readonly replay: ReplayStore,
  ) {}

  async deliver(key: string, token: string, psubOnly: boolean, body: Uint8Array, options: DeliverOptions = {}): Promise<Outcome> {
    const state = this.state;
    if (state.closing) return { status: 503, body: 'Shutting down' };
    const procedure = procedureOf(key);
    const caller = options.caller ?? state.caller;
    if (!options.trusted) {
      // before anything else: a forbidden rep must not learn whether the key is held, nor be stored
      try {
        caller.authorize('call', procedure);
      } catch (err) {
        if (err instanceof RouterError && err.uri === ErrorUri.notAuthorized) return { status: 403, body: err.message };
        throw err;
      }
    }
    const deadline = Date.now() + state.opts.repTimeoutMs;
    let failedKind: 'sub' | 'pool' | undefined;
    for (let attempt = 0; ; attempt++) {
      const t = target(state, key, psubOnly);
      if (t.kind === 'none') return this.unclaimed(key, token, body, UNKNOWN_KEY);
      if (!options.trusted) {
        if (t.kind === 'unknown') {
          // Only a WAMP callee can hold the key; it has no token, so only the empty token matches.
          if (token !== '') {
            if (await registered(state, procedure)) return { status: 403, body: 'Invalid token' };
            return this.unclaimed(key, token, body, UNKNOWN_KEY);
          }
        } else if (t.token !== token) {
          return { status: 403, body: 'Invalid token' };
        }
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) return { status: 504, body: 'Delivery timed out' };
      // No await between the token check above and this call: it reaches the target just checked.
      try {
        await caller.callBytes(procedure, body, { timeout: remaining });
        if (state.opts.storeMode === 'all') await this.replay.store(key, token, body);
        return OK;
      } catch (err) {
        const uri = err instanceof RouterError ? err.uri : '';
        if (uri === ErrorUri.noSuchProcedure) {
          return this.unclaimed(key, token, body, failedKind === 'pool' ? NO_LISTENERS : UNKNOWN_KEY);
        }
        if (uri === ErrorUri.canceled || uri === ErrorUri.unavailable) {
          // The sub or member it reached went away mid-delivery (and left the router first): again.
          if (t.kind === 'sub' || t.kind === 'pool') failedKind = t.kind;
          else failedKind ??= 'sub';
          if (t.kind === 'pool') state.metrics.redirected.inc();
          if (attempt < 1000) continue;
        }
        if (uri === ErrorUri.timeout) return { status: 504, body: 'Delivery timed out' };
        if (uri === ErrorUri.noAvailableCallee) return { status: 503, body: 'Listeners busy' };
        if (uri === ErrorUri.limitExceeded) return { status: 503, body: 'Too many reps in flight' };
        if (uri === ErrorUri.systemShutdown || state.closing) return { status: 503, body: 'Shutting down' };
        return { status: 500, body: `Failed to deliver: ${err instanceof Error ? err.message : String(err)}` };
      }
    }
  }

  /** A rep nobody took: 404, stored first when the store mode keeps unclaimed reps. */
  private async unclaimed(key: string, token: string, body: Uint8Array, why: string): Promise<Outcome> {
    const stored = this.state.opts.storeMode !== 'none' && !this.state.closing ? await this.replay.store(key, token, body) : false;
    return { status: 404, body: why, stored };
  }

  /** Re-delivers a message a dead psub member may have lost; stored (or dropped, logged) if nobody takes it. */
  redirect(key: string, token: string, body: Uint8Array): void {
    this.state.metrics.redirected.inc();
    this.deliver(key, token, true, body, { trusted: true }).then(
      (o) => {
        if (o.status !== 200 && !o.stored) this.state.opts.logger.warn({ key, status: o.status, reason: o.body }, 'esub: redirected message dropped');
      },
      (err: unknown) => this.state.opts.logger.error({ err, key }, 'esub: redirect failed'),
    );
  }
}

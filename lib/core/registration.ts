// A registration: one procedure pattern with its callees, invoke policy, concurrency and wait queue.
import type { Payload } from './payload.ts';
import type { Session } from './session.ts';
import type { CallOptions, InterruptMode, InvokePolicy, Pattern } from './types.ts';

export interface Callee {
  session: Session;
  /** 0 = unlimited. */
  concurrency: number;
  running: number;
  once: boolean;
}

/** Module-level on purpose: a closure here is re-created (and, under tsx, renamed) on every call. */
function isFree(c: Callee): boolean {
  return c.concurrency === 0 || c.running < c.concurrency;
}

/** One call as the dealer tracks it, from CALL to its final RESULT or ERROR. */
export interface CallRecord {
  caller: Session;
  requestId: number;
  procedure: string;
  payload: Payload;
  options: CallOptions;
  registration: Registration;
  invocation?: Invocation;
  timer?: NodeJS.Timeout;
  /** Chunks of a progressive invocation that arrived before a callee was free (created on the first: most calls have none). */
  pendingChunks?: { payload: Payload; progress: boolean }[];
  done: boolean;
  disclose: boolean;
  /** A progressive invocation whose final (non-progress) chunk arrived: no more input. */
  closedInput?: boolean;
}

export interface Invocation {
  id: number;
  call: CallRecord;
  callee: Callee;
  /** How the caller canceled it, if it did. */
  interrupted?: InterruptMode;
}

export class Registration {
  readonly callees: Callee[] = [];
  readonly created = new Date().toISOString();
  /** Calls accepted while every callee was at its concurrency limit, oldest first. */
  readonly waiting: CallRecord[] = [];
  /** How specific the pattern is, for choosing among matching pattern registrations: longer prefix, more fixed levels. */
  readonly rank: number;
  private next = 0;

  constructor(
    readonly id: number,
    readonly pattern: Pattern,
    readonly key: string,
    readonly policy: InvokePolicy,
  ) {
    this.rank = pattern.match === 'prefix' ? 1_000_000 + pattern.uri.length : pattern.levels.filter((l) => l !== null).length;
  }

  callee(session: Session): Callee | undefined {
    return this.callees.find((c) => c.session === session);
  }

  hasFree(): boolean {
    return this.callees.some(isFree);
  }

  /** The callee the policy picks among those with spare concurrency. */
  pick(): Callee | undefined {
    const list = this.callees;
    const free = isFree;
    switch (this.policy) {
      case 'single':
      case 'first':
        return list.find(free);
      case 'last':
        for (let i = list.length - 1; i >= 0; i--) if (free(list[i] as Callee)) return list[i];
        return undefined;
      case 'random': {
        const candidates = list.filter(free);
        return candidates[Math.floor(Math.random() * candidates.length)];
      }
      case 'roundrobin':
        for (let k = 0; k < list.length; k++) {
          const idx = (this.next + k) % list.length;
          const c = list[idx] as Callee;
          if (free(c)) {
            this.next = idx + 1;
            return c;
          }
        }
        return undefined;
    }
  }
}

// A registration: one procedure pattern with its callees, invoke policy, concurrency and wait queue.
import type { CallRecord, Callee, Registration, SessionHandle } from './routing-types.ts';
import type { InvokePolicy, Pattern } from './types.ts';

/** Module-level on purpose: a closure here is re-created (and, under tsx, renamed) on every call. */
function isFree(c: Callee): boolean {
  return c.concurrency === 0 || c.running < c.concurrency;
}

export class RegistrationEntry implements Registration {
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

  callee(session: SessionHandle): Callee | undefined {
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

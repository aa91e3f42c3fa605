// What the meta API (meta.ts, meta-session.ts, meta-pubsub.ts) needs of a realm. Declared here,
// below realm.ts, so the realm can install the meta API without an import cycle.
import type { Broker } from './broker.ts';
import type { Action, Limits } from './config.ts';
import type { Dealer } from './dealer.ts';
import type { SessionHandle } from './routing-types.ts';
import type { Dict } from './types.ts';

/** A procedure the router itself implements (meta API). Returns the result's positional args. */
export type BuiltinProcedure = (caller: SessionHandle, args: unknown[], kwargs: Dict) => unknown[] | Promise<unknown[]>;

export interface MetaRealm {
  readonly limits: Limits;
  readonly sessions: ReadonlyMap<number, SessionHandle>;
  readonly builtins: Map<string, BuiltinProcedure>;
  readonly broker: Broker;
  readonly dealer: Dealer;
  authorize(session: SessionHandle, action: Action, levels: readonly string[], uri?: string): void;
  /** Publishes a router-originated event. */
  publishMeta(uri: string, args: unknown[], kwargs?: Dict): void;
}

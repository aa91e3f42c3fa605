// What every route group of the hustmq bridge shares.
import type { Client } from '../../lib/index.ts';
import type { Context } from 'koa';
import type { AccessGuard } from '../http/access.ts';
import type { BridgeSessions } from '../http/sessions.ts';
import { Args } from './args.ts';
import type { ResolvedOptions } from './options.ts';
import type { RpcHub } from './rpc.ts';

export interface Hustmq {
  client: Client;
  opts: ResolvedOptions;
  rpc: RpcHub;
  /** Parked evget and evsub requests (each capped by maxTimerCount). */
  parked: { evget: number; evsub: number };
  /** The sessions requests act as (their permissions are checked before each operation). */
  sessions: BridgeSessions;
  /** Guards stat_all, which reveals every queue (the server's http.access). */
  access?: AccessGuard;
}

/** The URIs a queue's operations are authorized on (see auth.ts). */
export const uriOf = {
  queue: (h: Hustmq, q: string): string => `${h.opts.topicPrefix}.${q}`,
  push: (h: Hustmq, q: string): string => `${h.opts.topicPrefix}.push.${q}`,
  task: (h: Hustmq, q: string | undefined): string => (q === undefined ? `${h.opts.topicPrefix}.do` : `${h.opts.topicPrefix}.do.${q}`),
};

export function argsOf(ctx: Context): Args {
  return new Args(ctx.querystring);
}

// What every route group of the hustmq bridge shares.
import type { Client } from '../../lib/index.ts';
import type { Context } from 'koa';
import { Args } from './args.ts';
import type { ResolvedOptions } from './options.ts';
import type { RpcHub } from './rpc.ts';

export interface Hustmq {
  client: Client;
  opts: ResolvedOptions;
  rpc: RpcHub;
  /** Parked evget and evsub requests (each capped by maxTimerCount). */
  parked: { evget: number; evsub: number };
}

export function argsOf(ctx: Context): Args {
  return new Args(ctx.querystring);
}

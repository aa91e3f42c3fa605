// The error boundary every bridge puts first: an HttpFail becomes its own plain-text answer, a
// router refusal (not authorized) 403, anything else the API's generic failure — never a 5xx, never
// a dropped connection. Refusals are counted per status.
import type { Context, Middleware } from 'koa';
import { ErrorUri, RouterError } from '../../lib/index.ts';
import { fail, HttpFail } from './fail.ts';
import { reply } from './reply.ts';

export interface BoundaryOptions {
  /** Status of an unexpected failure (the API's generic failure code). */
  otherStatus: number;
  /** Headers every failure answer carries (e.g. hustdb's `Version: 0`). */
  failHeaders?: Record<string, string>;
  /** Counts refusals by status (a metrics hook). */
  refused?: Map<number, number>;
}

/** The last middleware: a path no route took is a 404 refusal like any other. */
export function noRoute(): Middleware {
  return (ctx) => {
    throw fail(`no route ${ctx.path}`, 404);
  };
}

export function errorBoundary(options: BoundaryOptions): Middleware {
  const answer = (ctx: Context, status: number, message: string, headers?: Record<string, string>): void => {
    options.refused?.set(status, (options.refused.get(status) ?? 0) + 1);
    reply(ctx, status, `${message}\n`, { ...options.failHeaders, ...headers });
  };
  return (ctx, next) =>
    next().catch((err: unknown) => {
      if (err instanceof HttpFail) answer(ctx, err.status, err.message, err.headers);
      else if (err instanceof RouterError && err.uri === ErrorUri.notAuthorized) answer(ctx, 403, err.message);
      else answer(ctx, options.otherStatus, `error: ${err instanceof Error ? err.message : String(err)}`);
    });
}

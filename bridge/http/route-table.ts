// The hust* APIs are flat sets of exact paths: one Map lookup per request instead of a router's
// walk over regular expressions. A route may be limited to some methods (others get 405).
import type { Context, Middleware } from 'koa';
import { fail } from './fail.ts';

export type Route = (ctx: Context) => Promise<void> | void;

export class RouteTable {
  private readonly routes = new Map<string, Route>();

  /** Serves `path` (and `path/`); with `methods`, other methods answer 405. */
  add(path: string, route: Route, methods?: readonly string[]): void {
    if (!methods) {
      this.routes.set(path, route);
      return;
    }
    const allowed = methods.join(', ');
    this.routes.set(path, (ctx) => {
      if (!methods.includes(ctx.method)) throw fail(`method ${ctx.method} not allowed on ${path}: use ${allowed}`, 405, { Allow: allowed });
      return route(ctx);
    });
  }

  /** Runs the route of ctx.path, else the next middleware. */
  middleware(): Middleware {
    return (ctx, next) => {
      const path = ctx.path;
      const route = this.routes.get(path) ?? (path.length > 1 && path.endsWith('/') ? this.routes.get(path.slice(0, -1)) : undefined);
      return route ? Promise.resolve(route(ctx)) : next();
    };
  }
}

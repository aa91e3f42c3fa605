// The hustmq API is a flat set of exact paths, every method accepted: one Map lookup per request
// instead of @koa/router's walk over every route's regular expression (and its Host parsing),
// which cost more than the rest of a put.
import type { Context, Middleware } from 'koa';

export type Route = (ctx: Context) => Promise<void> | void;

export class RouteTable {
  private readonly routes = new Map<string, Route>();

  /** Serves `path` (and `path/`) for every method. */
  all(path: string, route: Route): void {
    this.routes.set(path, route);
  }

  /** A middleware that runs the route of ctx.path, else the next middleware. */
  middleware(): Middleware {
    return (ctx, next) => {
      const path = ctx.path;
      const route = this.routes.get(path) ?? (path.length > 1 && path.endsWith('/') ? this.routes.get(path.slice(0, -1)) : undefined);
      return route ? route(ctx) : next();
    };
  }
}

// Plain HTTP on the shared port: handlers mounted on path prefixes (health, metrics, bridges).
import type { IncomingMessage, ServerResponse } from 'node:http';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

export class HttpMounts {
  private readonly mounts: { prefix: string; handler: HttpHandler; strip: boolean }[] = [];

  /** `strip` removes the prefix from req.url, so an app written for the root works under it. */
  mount(prefix: string, handler: HttpHandler, strip = false): void {
    this.mounts.push({ prefix, handler, strip });
    this.mounts.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    for (const m of this.mounts) {
      if (url === m.prefix || url.startsWith(m.prefix + '/') || url.startsWith(m.prefix + '?')) {
        if (m.strip) {
          // as connect/express: the app sees the stripped path; originalUrl keeps the full one
          (req as IncomingMessage & { originalUrl?: string }).originalUrl ??= url;
          req.url = url.slice(m.prefix.length) || '/';
        }
        m.handler(req, res);
        return;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`no route for ${url}\n`);
  };
}

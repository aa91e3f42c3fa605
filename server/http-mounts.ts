// Plain HTTP on the shared port: handlers mounted on path prefixes (health, metrics, bridges). A
// mount owns its paths for WebSocket upgrades too (see upgrade-routes.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UpgradeHandler } from './upgrade-routes.ts';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

interface Mount {
  prefix: string;
  handler: HttpHandler;
  strip: boolean;
  onUpgrade: UpgradeHandler | null;
}

function under(url: string, prefix: string): boolean {
  return url === prefix || url.startsWith(prefix + '/') || url.startsWith(prefix + '?');
}

export class HttpMounts {
  private readonly mounts: Mount[] = [];

  /**
   * `strip` removes the prefix from req.url, so an app written for the root works under it.
   * `onUpgrade` takes the WebSocket upgrades under the prefix (it sees the full URL).
   */
  mount(prefix: string, handler: HttpHandler, strip = false, onUpgrade?: UpgradeHandler): void {
    this.mounts.push({ prefix, handler, strip, onUpgrade: onUpgrade ?? null });
    this.mounts.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The WebSocket handler of the mount owning `path`: null if it has none, undefined if no mount owns the path. */
  upgradeHandler(path: string): UpgradeHandler | null | undefined {
    for (const m of this.mounts) if (under(path, m.prefix)) return m.onUpgrade;
    return undefined;
  }

  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    for (const m of this.mounts) {
      if (under(url, m.prefix)) {
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

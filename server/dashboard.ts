// The live dashboard at /dashboard: a handful of static files (server/dashboard/, plain ES modules,
// no build step) and the WAMP WebSocket the page talks to at /dashboard/ws. The page is an ordinary
// WAMP client of the realm: it sees what the realm's permissions let its session call and subscribe
// to (the meta API and kitsune.stats.get), nothing more. Only the files listed here are served, read
// once at start: a request can name nothing else, so no path reaches the file system.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { refuseUpgrade } from '../lib/transport/websocket-handshake.ts';
import type { HttpHandler } from './http-mounts.ts';
import type { UpgradeHandler } from './upgrade-routes.ts';

export const DASHBOARD_PATH = '/dashboard';
/** Where the page opens its WAMP session (always WAMP, whatever `websocket.paths` says). */
export const DASHBOARD_WS_PATH = `${DASHBOARD_PATH}/ws`;

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'wamp-client.js': 'text/javascript; charset=utf-8',
  'chart.js': 'text/javascript; charset=utf-8',
  'tables.js': 'text/javascript; charset=utf-8',
  'live-collection.js': 'text/javascript; charset=utf-8',
};

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // the page loads only its own files and talks only to its own origin (ws: included, CSP 3)
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function asset(body: Buffer, type: string): Asset {
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/**
 * Where the page's files are: beside this module (running from the sources, or a build that copied
 * them), else the sources' folder seen from a build in dist/server/.
 */
const ASSET_DIRS = [new URL('./dashboard/', import.meta.url), new URL('../../server/dashboard/', import.meta.url)];

/** The files by request path, or the reason they cannot be served. */
function loadAssets(realm: string): Map<string, Asset> | string {
  const dir = ASSET_DIRS.find((d) => existsSync(new URL('index.html', d)));
  if (!dir) return `the dashboard's files are not installed (looked in ${ASSET_DIRS.map((d) => d.pathname).join(', ')})`;
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) {
    const url = new URL(name, dir);
    try {
      assets.set(`/${name}`, asset(readFileSync(url), type));
    } catch (err) {
      return `the dashboard file ${url.pathname} cannot be read: ${(err as Error).message}`;
    }
  }
  assets.set('/', assets.get('/index.html')!);
  // what the page cannot know by itself: the realm to join when the URL names none
  assets.set('/config.json', asset(Buffer.from(JSON.stringify({ realm })), 'application/json; charset=utf-8'));
  return assets;
}

function send(res: ServerResponse, status: number, headers: Record<string, string | number>, body: string | Buffer, head: boolean): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers });
  res.end(head ? undefined : body);
}

function sendText(res: ServerResponse, status: number, text: string, head: boolean, extra: Record<string, string> = {}): void {
  send(res, status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...extra }, text, head);
}

export interface Dashboard {
  handler: HttpHandler;
  onUpgrade: UpgradeHandler;
}

/**
 * `realm`: the realm the page joins when its URL has no ?realm=; `wamp`: the WAMP WebSocket gate.
 * Missing files do not stop the server: the page answers 503 saying so, and `onMissing` is told.
 */
export function createDashboard(options: { realm: string; wamp: UpgradeHandler; onMissing?: (reason: string) => void }): Dashboard {
  const loaded = loadAssets(options.realm);
  if (typeof loaded === 'string') options.onMissing?.(loaded);
  const assets = typeof loaded === 'string' ? new Map<string, Asset>() : loaded;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      sendText(res, 405, `${String(req.method).slice(0, 20)} not allowed: the dashboard is read-only (GET, HEAD)\n`, false, { allow: 'GET, HEAD' });
      return;
    }
    if (path === DASHBOARD_PATH) {
      // relative, so the page's own relative URLs resolve under /dashboard/ (behind a path-prefix proxy too)
      // the query goes along only if it is printable ASCII of a sane length (it becomes a header)
      const query = q < 0 ? '' : url.slice(q);
      sendText(res, 301, 'see dashboard/\n', head, { location: `dashboard/${/^[\x21-\x7e]{0,2048}$/.test(query) ? query : ''}` });
      return;
    }
    if (typeof loaded === 'string') {
      // the reason (with its paths) went to the log; the client learns only that the page is missing
      sendText(res, 503, 'the dashboard is not installed on this server\n', head);
      return;
    }
    const file = path.startsWith(DASHBOARD_PATH + '/') ? assets.get(path.slice(DASHBOARD_PATH.length)) : undefined;
    if (!file) {
      sendText(res, 404, 'no such dashboard file\n', head);
      return;
    }
    const common = { etag: file.etag, 'cache-control': 'no-cache' };
    if (req.headers['if-none-match'] === file.etag) {
      send(res, 304, common, '', true);
      return;
    }
    send(res, 200, { ...common, 'content-type': file.type, 'content-length': file.body.length }, file.body, head);
  };
  const onUpgrade: UpgradeHandler = (req, socket, headBytes) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) === DASHBOARD_WS_PATH) options.wamp(req, socket, headBytes);
    else refuseUpgrade(socket, { status: '404 Not Found', message: `no WebSocket endpoint here; the dashboard's is ${DASHBOARD_WS_PATH}\n` });
  };
  return { handler, onUpgrade };
}

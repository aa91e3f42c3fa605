// CORS for the HTTP bridges: off unless the config lists origins. A browser request from an allowed
// origin gets Access-Control-Allow-Origin and sees every header the bridge answered with (hustmq's
// Ack-Token, hustdb's Version, esub's X-Esub-*...); a preflight is answered here. Headers are added
// when the response head is written, so they survive the bridge resetting headers on an error.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { CorsConfig } from './config-schema-gates.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const METHODS = 'GET, POST, PUT, DELETE, HEAD';
/** Headers browsers show scripts without being told (the CORS-safelisted response headers). */
const SAFELISTED = new Set(['cache-control', 'content-language', 'content-length', 'content-type', 'expires', 'last-modified', 'pragma']);

export function withCors(handler: Handler, cors: CorsConfig | undefined): Handler {
  if (!cors) return handler;
  const anyOrigin = cors.allowedOrigins.includes('*');
  const credentials = cors.allowCredentials === true;
  const maxAge = String(cors.maxAgeSec ?? 600);
  return (req, res) => {
    const origin = req.headers.origin;
    if (origin === undefined) return handler(req, res);
    const allowed = anyOrigin || cors.allowedOrigins.includes(origin);
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!allowed) {
      if (!preflight) return handler(req, res); // the browser withholds the answer: no Allow-Origin
      res.writeHead(403, { 'content-type': 'text/plain', vary: 'Origin' });
      res.end(`origin ${origin} is not allowed\n`);
      return;
    }
    const allowOrigin = anyOrigin && !credentials ? '*' : origin;
    if (preflight) {
      res.writeHead(204, {
        'access-control-allow-origin': allowOrigin,
        'access-control-allow-methods': METHODS,
        'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '',
        'access-control-max-age': maxAge,
        ...(credentials ? { 'access-control-allow-credentials': 'true' } : {}),
        vary: 'Origin',
      });
      res.end();
      return;
    }
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      const given = args.find((a): a is OutgoingHttpHeaders => typeof a === 'object' && a !== null && !Array.isArray(a));
      const names = new Set([...this.getHeaderNames(), ...Object.keys(given ?? {}).map((n) => n.toLowerCase())]);
      const exposed = [...names].filter((n) => !SAFELISTED.has(n) && !n.startsWith('access-control-'));
      this.setHeader('access-control-allow-origin', allowOrigin);
      if (credentials) this.setHeader('access-control-allow-credentials', 'true');
      if (exposed.length) this.setHeader('access-control-expose-headers', exposed.join(', '));
      this.setHeader('vary', 'Origin');
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as typeof res.writeHead;
    handler(req, res);
  };
}

// HTTP bridge doors (hustmq under /hustmq, esub under /esub): one to three pipelined requests per
// connection with odd methods, paths (bad escapes, dot segments, long or deep names), query strings
// (known argument names with wrong values, repeats, arrays), headers (lying Content-Length, chunked
// bodies that break off) and bodies; a request may also get a few mutated bytes.
import fc from 'fast-check';
import type { Door } from '../harness/door.ts';
import { applyMutations, mutations, type Mutation } from './wamp-values.ts';

interface HttpRequest {
  method: string;
  route: string;
  name: string;
  query: [string, string][];
  framing: 'length' | 'lyingLength' | 'chunked' | 'brokenChunked' | 'none';
  contentType: string;
  body: string;
  mutations: Mutation[];
}

interface HttpCase {
  requests: HttpRequest[];
  close: boolean;
}

const HUSTMQ_ROUTES = ['/put', '/get', '/ack', '/stat', '/stat_all', '/purge', '/max', '/lock', '/timeout', '/worker', '/autost', '/version', '/pub', '/sub', '/evsub', '/evget', '/do_get', '/do_post', '/do_get_status', '/do_post_status', '/', ''];
const ESUB_ROUTES = ['/ping', '/info', '/keys', '/metrics', '/sub/', '/rep/', '/psub/', '/prep', '/rsub/', '/members', '/join', '/announce', '/'];
const NAMES = ['q', 'k', '', '%zz', '%00', '..', '.', 'a.b', 'a..b', 'a/b', '$share', '#', '+', 'é', '%F0%9F%98%80', 'x'.repeat(2000), 'a.'.repeat(3000)];
const ARGS = [
  'queue', 'item', 'worker', 'ack', 'priori', 'idx', 'num', 'minute', 'on', 'peer', 'token', 'timeout', 'max', 'lock', 'shared', 'mode',
  'node', 'nodes', 'psub', 'ttl', 'after', 'last', 'id', 'key', 'type', 'token[]', '__proto__', 'constructor',
];
const VALUES = ['', '0', '1', '-1', '2', '3', '4294967296', '9007199254740993', '1e309', 'NaN', 'abc', 'q', 'k', '%zz', '%00', 'true', '[]', '{}', 'x'.repeat(5000)];
const METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'PROPFIND', 'get', 'G%T', 'XYZ'];
const CONTENT_TYPES = ['', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream; charset=nope'];

const token = (pool: string[]) => fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map(encodeURIComponent) });

const request: fc.Arbitrary<HttpRequest> = fc.record({
  method: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('GET', 'POST') }, { weight: 2, arbitrary: fc.constantFrom(...METHODS) }),
  route: fc.oneof(fc.constantFrom(...HUSTMQ_ROUTES.map((r) => `/hustmq${r}`)), fc.constantFrom(...ESUB_ROUTES.map((r) => `/esub${r}`))),
  name: token(NAMES),
  query: fc.array(fc.tuple(token(ARGS), token(VALUES)), { maxLength: 5 }),
  framing: fc.oneof({ weight: 8, arbitrary: fc.constant('length' as const) }, { weight: 1, arbitrary: fc.constantFrom('lyingLength' as const, 'chunked' as const, 'brokenChunked' as const, 'none' as const) }),
  contentType: fc.constantFrom(...CONTENT_TYPES),
  body: fc.oneof(fc.constantFrom('', '{}', '{"a":1}', '[', 'x'.repeat(70_000), 'item=1&queue=q'), fc.string({ maxLength: 30 })),
  mutations: fc.oneof({ weight: 8, arbitrary: fc.constant<Mutation[]>([]) }, { weight: 1, arbitrary: mutations }),
});

function encodeRequest(r: HttpRequest, close: boolean): Buffer {
  // Routes ending in "/" take a key (esub /sub/:key); the others get the name as the queue argument.
  const path = r.route.endsWith('/') && r.route !== '/hustmq/' && r.route !== '/esub/' ? `${r.route}${r.name}` : r.route;
  const query = [...(path === r.route ? [['queue', r.name]] : []), ...r.query].map(([k, v]) => `${k}=${v}`).join('&');
  const body = Buffer.from(r.body);
  const framing =
    r.framing === 'length' ? `Content-Length: ${body.length}\r\n`
    : r.framing === 'lyingLength' ? `Content-Length: ${body.length + 7}\r\n`
    : r.framing === 'chunked' || r.framing === 'brokenChunked' ? 'Transfer-Encoding: chunked\r\n'
    : '';
  const payload =
    r.framing === 'chunked' ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
    : r.framing === 'brokenChunked' ? Buffer.concat([Buffer.from('zz\r\n'), body])
    : r.framing === 'none' ? Buffer.alloc(0)
    : body;
  const type = r.contentType ? `Content-Type: ${r.contentType}\r\n` : '';
  const head = `${r.method} ${path}${query ? `?${query}` : ''} HTTP/1.1\r\nHost: 127.0.0.1\r\n${type}${framing}${close ? 'Connection: close\r\n' : ''}\r\n`;
  return applyMutations(Buffer.concat([Buffer.from(head, 'latin1'), payload]), r.mutations);
}

export const httpDoor: Door<HttpCase> = {
  name: 'http',
  arb: fc.record({ requests: fc.array(request, { minLength: 1, maxLength: 3 }), close: fc.boolean() }),
  listener: 'http',
  // Long polls (sub, evget, do_get...) are cut early: their abort path is part of what we test.
  lingerMs: 100,
  concurrency: 128,
  encode: (c) => c.requests.map((r, i) => encodeRequest(r, c.close && i === c.requests.length - 1)),
};

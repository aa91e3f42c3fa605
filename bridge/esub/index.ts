// The esub HTTP bridge: esub's sub/reply API served from the router, through its public client API.
//   sub   = a one-shot registration of esub.<key> (its own session; force_reregister = takeover)
//   rep   = a call of esub.<key> (no registration: 404 Unknown key)
//   psub  = a persistent (wildcard) registration of esub.<key> per WebSocket member;
//           shared=1 = invoke 'roundrobin'; the invocation's result is the read receipt
// See keys.ts for how a key becomes a URI component, and README.md ("esub bridge") for the API.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorUri, type KitsuneRouter, refuseUpgrade, RouterError } from '../../lib/index.ts';
import type { AccessGuard } from '../http/access.ts';
import { HttpFail } from '../http/fail.ts';
import type { Identity } from '../http/sessions.ts';
import { Deliverer } from './deliver.ts';
import { requestBase } from './http.ts';
import { keyProblem, procedureOf } from './keys.ts';
import { type EsubOptions, resolveEsubOptions } from './options.ts';
import { PrepServer } from './prep.ts';
import { PsubServer } from './psub.ts';
import { ReplayStore } from './replay.ts';
import { buildApp } from './routes.ts';
import { EsubState } from './state.ts';
import { SUB_CANCELED } from './sub.ts';

export type { EsubOptions, StoreMode } from './options.ts';
export { esubOptionsFromEnv, esubPortFromEnv, resolveEsubOptions } from './options.ts';
export { keyComponent, keyOfProcedure, procedureOf } from './keys.ts';
export { CloseCode } from './close-codes.ts';

export interface EsubEndpoint {
  /** The HTTP request handler. */
  callback: (req: IncomingMessage, res: ServerResponse) => void;
  /** WebSocket upgrades: /psub/:key and /prep (anything else gets an HTTP error and is closed). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export interface EsubBridge extends EsubEndpoint {
  /**
   * The same bridge (same subs, pools and state) served under another path, e.g. '/esub' on the
   * shared port: `callback` expects the prefix already stripped from req.url (it is only used for
   * redirects and Locations); `handleUpgrade` strips it itself.
   */
  at(basePath: string): EsubEndpoint;
  close(): Promise<void>;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

/** esub's answer to an upgrade it refuses: plain text, as its HTTP routes answer. */
function refuse(socket: Duplex, status: number, body: string, headers: Record<string, string> = {}): void {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  refuseUpgrade(socket, { status: `${status} ${STATUS_TEXT[status] ?? 'Error'}`, message: body, headers: `X-Content-Type-Options: nosniff\r\n${extra}` });
}

/** What the embedding server lends the bridge: the guard of its /metrics (the server's http.access). */
export interface EsubHooks {
  access?: AccessGuard;
}

export function createEsubBridge(router: KitsuneRouter, options: EsubOptions = {}, hooks: EsubHooks = {}): EsubBridge {
  const opts = resolveEsubOptions(options);
  const state = new EsubState(router, opts);
  const replay = new ReplayStore(state);
  const deliverer = new Deliverer(state, replay);
  const psub = new PsubServer(state, deliverer);
  const prep = new PrepServer(state, deliverer);
  const handler = buildApp(state, deliverer, replay, hooks.access).callback();

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer, base: string): Promise<void> => {
    let url = req.url ?? '/';
    if (base) {
      if (!url.startsWith(base + '/')) return refuse(socket, 404, '404 page not found\n');
      url = url.slice(base.length);
    }
    if (state.closing) return refuse(socket, 503, 'Shutting down');
    let u: URL;
    try {
      u = new URL(url, 'http://esub');
    } catch {
      return refuse(socket, 400, 'Bad Request\n');
    }
    const m = /^\/psub\/([^/]+)$/.exec(u.pathname);
    if (u.pathname !== '/prep' && !m) return refuse(socket, 404, '404 page not found\n');
    // who the socket acts as, decided before the 101: a refusal is a plain HTTP answer
    try {
      state.upgrades.set(req, await state.sessions.identify(req.headers));
    } catch (err) {
      if (err instanceof HttpFail) return refuse(socket, err.status, err.message, err.headers);
      throw err;
    }
    // the password check may have taken a while: the client or the bridge may be gone meanwhile
    if (socket.destroyed) return;
    if (state.closing) return refuse(socket, 503, 'Shutting down');
    if (u.pathname === '/prep') return prep.handleUpgrade(req, socket, head);
    if (!m) return;
    let key: string;
    try {
      key = decodeURIComponent(m[1] as string);
    } catch {
      return refuse(socket, 400, 'Invalid key: bad percent-encoding');
    }
    const problem = keyProblem(key, opts.maxKeyBytes);
    if (problem) return refuse(socket, 400, problem);
    try {
      state.sessions.client(state.upgrades.get(req) as Identity).authorize('register', procedureOf(key));
    } catch (err) {
      if (err instanceof RouterError && err.uri === ErrorUri.notAuthorized) return refuse(socket, 403, err.message);
      throw err;
    }
    psub.handleUpgrade(req, socket, head, key, u.searchParams.get('token') ?? '', u.searchParams.get('shared') === '1');
  };

  const endpoint = (base: string): EsubEndpoint => ({
    callback: base
      ? (req, res) => {
          requestBase.set(req, base);
          handler(req, res);
        }
      : handler,
    handleUpgrade: (req, socket, head) => {
      upgrade(req, socket, head, base).catch((err: unknown) => {
        opts.logger.error({ err }, 'esub: upgrade failed');
        socket.destroy();
      });
    },
  });

  let closed = false;
  return {
    ...endpoint(opts.basePath),
    at: (basePath) => endpoint(basePath.replace(/\/+$/, '')),
    async close() {
      if (closed) return;
      closed = true;
      state.closing = true;
      for (const sub of [...state.subs.values()]) sub.cancel(SUB_CANCELED);
      psub.close();
      prep.close();
      state.close();
    },
  };
}

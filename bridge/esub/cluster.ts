// Phases 3 and 4 on kitsune: nodes share one router (a kitsune cluster), so every node can reach
// every key and a rep sent to "the wrong node" is delivered anyway. Until the cluster issue lands a
// node answers for itself: /members lists this node, /join and /announce are accepted (with the
// shared cluster token) and have nothing to change, /keys can answer {node: [keys]}, and HEAD on
// /sub, /psub, /rsub and /rep answers with the Location of the key on this node when this node holds
// it, else 404 `Unknown key`.
import type { Context } from 'koa';
import { readBody } from '../http/body.ts';
import { basePath, param, reply } from './http.ts';
import { procedureOf } from './keys.ts';
import type { EsubState } from './state.ts';

/** This node's base URL: the configured one, else the one the client reached it by. */
export function nodeUrl(state: EsubState, ctx: Context): string {
  return state.opts.nodeUrl ?? `${ctx.protocol}://${ctx.host}${basePath(ctx)}`;
}

/** The node id used in {node: [keys]}: the address esub clients use (ip), else the name. */
export function nodeId(state: EsubState): string {
  return state.info.ip || state.info.name;
}

/** Checks the shared cluster token; answers 403 and returns false when it does not match. */
export function clusterAuth(state: EsubState, ctx: Context): boolean {
  const expected = state.opts.clusterToken;
  if (expected === null) {
    reply(ctx, 403, 'Cluster token not configured');
    return false;
  }
  if (param(ctx, 'token') !== expected) {
    reply(ctx, 403, 'Invalid token');
    return false;
  }
  return true;
}

export function members(state: EsubState, ctx: Context): void {
  if (!clusterAuth(state, ctx)) return;
  ctx.body = JSON.stringify([{ name: state.info.name, ip: state.info.ip, url: nodeUrl(state, ctx), self: true }]);
  ctx.set('Content-Type', 'application/json');
}

async function jsonBody(ctx: Context): Promise<Record<string, unknown> | string> {
  let raw: Buffer;
  try {
    raw = await readBody(ctx, 1024 * 1024);
  } catch {
    return 'body too large or unreadable';
  }
  try {
    const v: unknown = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'body must be a JSON object';
    return v as Record<string, unknown>;
  } catch {
    return 'body is not JSON';
  }
}

/** POST /join {"url" | "ip": ...}: membership comes from the kitsune cluster; accepted, nothing to do here. */
export async function join(state: EsubState, ctx: Context): Promise<void> {
  if (!clusterAuth(state, ctx)) return;
  const body = await jsonBody(ctx);
  if (typeof body === 'string') return reply(ctx, 400, `Invalid join: ${body}`);
  const peer = body.url ?? body.ip ?? param(ctx, 'node');
  if (typeof peer !== 'string' || peer === '') return reply(ctx, 400, "Invalid join: give the peer as 'url' or 'ip'");
  state.opts.logger.info({ peer }, 'esub: join accepted (single node: membership comes from the kitsune cluster)');
  reply(ctx, 200, 'OK');
}

/** POST /announce {"new": [keys], "fulfilled": [keys]}: every node routes every key; accepted. */
export async function announce(state: EsubState, ctx: Context): Promise<void> {
  if (!clusterAuth(state, ctx)) return;
  const body = await jsonBody(ctx);
  if (typeof body === 'string') return reply(ctx, 400, `Invalid announce: ${body}`);
  for (const f of ['new', 'fulfilled']) {
    const v = body[f];
    if (v !== undefined && !(Array.isArray(v) && v.every((k) => typeof k === 'string'))) return reply(ctx, 400, `Invalid announce: '${f}' must be a list of keys`);
  }
  reply(ctx, 200, 'OK');
}

/** HEAD /<route>/:key: 200 and the Location of the route on this node when it holds the key, else 404. */
export function headHeld(state: EsubState, ctx: Context, route: 'sub' | 'psub' | 'rsub' | 'rep', key: string, held: boolean): void {
  if (!held) return reply(ctx, 404, 'Unknown key');
  ctx.status = 200;
  ctx.set('Location', `${nodeUrl(state, ctx)}/${route}/${encodeURIComponent(key)}`);
}

/** HEAD /rep/:key: 200 and the Location when something holds the key, else 404. */
export async function headRep(state: EsubState, ctx: Context, key: string): Promise<void> {
  let held = state.subs.has(key) || state.pools.has(key);
  if (!held) {
    const r = await state.caller.call('wamp.registration.match', [procedureOf(key)]);
    held = r.args[0] !== null && r.args[0] !== undefined;
  }
  headHeld(state, ctx, 'rep', key, held);
}

// SessionHandle meta procedures (wamp.session.*) and testaments.
import { ErrorUri, RouterError } from './errors.ts';
import { Payload } from './payload.ts';
import type { MetaRealm } from './meta-realm.ts';
import type { SessionHandle } from './routing-types.ts';
import { wampLevels } from './topic.ts';
import type { Dict, PublishOptions } from './types.ts';

export function sessionDetails(s: SessionHandle): Dict {
  const i = s.identity;
  return { session: s.id, authid: i.authid, authrole: i.authrole, authmethod: i.authmethod, authprovider: i.authprovider, transport: { protocol: i.protocol, ...i.transport } };
}

function roleFilter(args: unknown[]): ((s: SessionHandle) => boolean) | undefined {
  const roles = args[0];
  if (roles === undefined || roles === null) return undefined;
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
    throw new RouterError(ErrorUri.invalidArgument, 'filter_authroles must be a list of strings');
  }
  return (s) => roles.includes(s.authrole);
}

function killOptions(kwargs: Dict): { reason: string; message: string } {
  const reason = typeof kwargs.reason === 'string' ? kwargs.reason : ErrorUri.killed;
  const message = typeof kwargs.message === 'string' ? kwargs.message : 'killed by the session meta API';
  return { reason, message };
}

function inProcess(s: SessionHandle): boolean {
  return s.protocol === 'local' || s.protocol === 'http';
}

/** In-process sessions (bridges, embedding code) are part of the router: remote clients cannot kill them. */
function killable(caller: SessionHandle, s: SessionHandle): boolean {
  return inProcess(caller) || !inProcess(s);
}

function killWhere(realm: MetaRealm, caller: SessionHandle, pick: (s: SessionHandle) => boolean, kwargs: Dict): unknown[] {
  const { reason, message } = killOptions(kwargs);
  const killed: number[] = [];
  for (const s of [...realm.sessions.values()]) {
    if (s === caller || !s.isOpen || !killable(caller, s) || !pick(s)) continue;
    killed.push(s.id);
    s.peer.kill(reason, message);
  }
  return [killed];
}

function publishOptionsOf(v: unknown): PublishOptions {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object') throw new RouterError(ErrorUri.invalidArgument, 'publish_options must be a dictionary');
  const o = v as Dict;
  return { retain: o.retain === true, discloseMe: o.disclose_me === true, excludeMe: false };
}

export function installSessionMeta(realm: MetaRealm): void {
  const b = realm.builtins;
  b.set('wamp.session.count', (_c, args) => {
    const f = roleFilter(args);
    let n = 0;
    for (const s of realm.sessions.values()) if (!f || f(s)) n++;
    return [n];
  });
  b.set('wamp.session.list', (_c, args) => {
    const f = roleFilter(args);
    return [[...realm.sessions.values()].filter((s) => !f || f(s)).map((s) => s.id)];
  });
  b.set('wamp.session.get', (_c, args) => {
    const s = realm.sessions.get(args[0] as number);
    if (!s) throw new RouterError(ErrorUri.noSuchSession, `no session ${String(args[0])}`);
    return [sessionDetails(s)];
  });
  b.set('wamp.session.kill', (caller, args, kwargs) => {
    const id = args[0];
    if (id === caller.id) throw new RouterError(ErrorUri.noSuchSession, 'a session cannot kill itself; use GOODBYE');
    const s = realm.sessions.get(id as number);
    if (!s || !s.isOpen) throw new RouterError(ErrorUri.noSuchSession, `no session ${String(id)}`);
    if (!killable(caller, s)) throw new RouterError(ErrorUri.notAuthorized, `session ${String(id)} is part of the router and cannot be killed`);
    const { reason, message } = killOptions(kwargs);
    s.peer.kill(reason, message);
    return [];
  });
  b.set('wamp.session.kill_by_authid', (caller, args, kwargs) => killWhere(realm, caller, (s) => s.authid === args[0], kwargs));
  b.set('wamp.session.kill_by_authrole', (caller, args, kwargs) => killWhere(realm, caller, (s) => s.authrole === args[0], kwargs));
  b.set('wamp.session.kill_all', (caller, _args, kwargs) => killWhere(realm, caller, () => true, kwargs));

  b.set('wamp.session.add_testament', (caller, args, kwargs) => {
    const [topic, tArgs, tKwargs] = args;
    const levels = wampLevels(topic, realm.limits);
    realm.authorize(caller, 'publish', levels, topic as string);
    if (tArgs !== undefined && tArgs !== null && !Array.isArray(tArgs)) throw new RouterError(ErrorUri.invalidArgument, 'testament args must be a list');
    if (tKwargs !== undefined && tKwargs !== null && (typeof tKwargs !== 'object' || Array.isArray(tKwargs))) {
      throw new RouterError(ErrorUri.invalidArgument, 'testament kwargs must be a dictionary');
    }
    const scope = kwargs.scope ?? 'destroyed';
    if (scope !== 'destroyed' && scope !== 'detached') throw new RouterError(ErrorUri.invalidArgument, "scope must be 'destroyed' or 'detached'");
    const id = caller.testaments.destroyed.length + caller.testaments.detached.length + 1;
    caller.testaments[scope].push({
      id,
      topic: levels,
      payload: Payload.fromArgs(tArgs as unknown[] | undefined, tKwargs as Dict | undefined),
      options: publishOptionsOf(kwargs.publish_options),
    });
    return [];
  });
  b.set('wamp.session.flush_testaments', (caller, _args, kwargs) => {
    const scope = kwargs.scope ?? 'destroyed';
    if (scope !== 'destroyed' && scope !== 'detached') throw new RouterError(ErrorUri.invalidArgument, "scope must be 'destroyed' or 'detached'");
    const n = caller.testaments[scope].length;
    caller.testaments[scope] = [];
    return [n];
  });
}

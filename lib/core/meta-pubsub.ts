// Subscription and registration meta procedures (wamp.subscription.*, wamp.registration.*).
import { ErrorUri, RouterError } from './errors.ts';
import type { MetaRealm } from './meta-realm.ts';
import type { Registration, Subscription } from './routing-types.ts';
import { patternMatches, wampLevels, wampPattern } from './topic.ts';
import type { Dict, MatchPolicy, Pattern } from './types.ts';

export function subscriptionDetails(sub: Subscription): Dict {
  return { id: sub.id, created: sub.created, uri: sub.pattern.uri, match: sub.pattern.match };
}

export function registrationDetails(reg: Registration): Dict {
  return { id: reg.id, created: reg.created, uri: reg.pattern.uri, match: reg.pattern.match, invoke: reg.policy };
}

function matchOption(kwargs: Dict): MatchPolicy {
  const m = kwargs.match ?? 'exact';
  if (m !== 'exact' && m !== 'prefix' && m !== 'wildcard') throw new RouterError(ErrorUri.invalidArgument, `unknown match policy '${String(m)}'`);
  return m;
}

function byPolicy<T extends { pattern: Pattern; id: number }>(items: Iterable<T>): Dict {
  const out: Record<MatchPolicy, number[]> = { exact: [], prefix: [], wildcard: [] };
  for (const i of items) out[i.pattern.match].push(i.id);
  return out;
}

function idArg(args: unknown[]): number {
  const id = args[0];
  if (typeof id !== 'number') throw new RouterError(ErrorUri.invalidArgument, 'expected an id as first argument');
  return id;
}

export function installPubSubMeta(realm: MetaRealm): void {
  const b = realm.builtins;
  const get = (args: unknown[]): Subscription => {
    const sub = realm.broker.byId.get(idArg(args));
    if (!sub) throw new RouterError(ErrorUri.noSuchSubscription, `no subscription ${String(args[0])}`);
    return sub;
  };
  b.set('wamp.subscription.list', () => [byPolicy(realm.broker.byId.values())]);
  b.set('wamp.subscription.lookup', (_c, args, kwargs) => {
    const sub = realm.broker.lookup(wampPattern(args[0], matchOption((args[1] as Dict | undefined) ?? kwargs), realm.limits));
    return [sub ? sub.id : null];
  });
  b.set('wamp.subscription.match', (_c, args) => {
    const ids = realm.broker.matching(wampLevels(args[0], realm.limits)).map((s) => s.id);
    return [ids.length > 0 ? ids : null];
  });
  b.set('wamp.subscription.get', (_c, args) => [subscriptionDetails(get(args))]);
  b.set('wamp.subscription.list_subscribers', (_c, args) => [[...get(args).subscribers.keys()].map((s) => s.id)]);
  b.set('wamp.subscription.count_subscribers', (_c, args) => [get(args).subscribers.size]);
}

export function installRpcMeta(realm: MetaRealm): void {
  const b = realm.builtins;
  const get = (args: unknown[]): Registration => {
    const reg = realm.dealer.byId.get(idArg(args));
    if (!reg) throw new RouterError(ErrorUri.noSuchRegistration, `no registration ${String(args[0])}`);
    return reg;
  };
  b.set('wamp.registration.list', () => [byPolicy(realm.dealer.byId.values())]);
  b.set('wamp.registration.lookup', (_c, args, kwargs) => {
    const reg = realm.dealer.matchingExactly(wampPattern(args[0], matchOption((args[1] as Dict | undefined) ?? kwargs), realm.limits));
    return [reg ? reg.id : null];
  });
  b.set('wamp.registration.match', (_c, args) => {
    const uri = args[0];
    const levels = wampLevels(uri, realm.limits);
    const reg = realm.dealer.lookup(uri as string, levels);
    return [reg && patternMatches(reg.pattern, levels) ? reg.id : null];
  });
  b.set('wamp.registration.get', (_c, args) => [registrationDetails(get(args))]);
  b.set('wamp.registration.list_callees', (_c, args) => [get(args).callees.map((c) => c.session.id)]);
  b.set('wamp.registration.count_callees', (_c, args) => [get(args).callees.length]);
}

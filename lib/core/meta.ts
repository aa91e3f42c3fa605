// The WAMP meta API: events about sessions, subscriptions and registrations, and the built-in
// procedures that answer questions about them. Installed on every realm.
import type { BrokerEvents } from './broker.ts';
import type { DealerEvents } from './dealer.ts';
import { installPubSubMeta, installRpcMeta, registrationDetails, subscriptionDetails } from './meta-pubsub.ts';
import { installSessionMeta, sessionDetails } from './meta-session.ts';
import type { MetaRealm } from './meta-realm.ts';
import type { SessionHandle } from './routing-types.ts';

export interface MetaEvents {
  broker: BrokerEvents;
  dealer: DealerEvents;
  joined(session: SessionHandle): void;
  left(session: SessionHandle): void;
}

export function installMetaApi(realm: MetaRealm): MetaEvents {
  installSessionMeta(realm);
  installPubSubMeta(realm);
  installRpcMeta(realm);
  // Deferred to a microtask (FIFO, so meta events keep their order): the reply to the request that
  // caused an event (e.g. SUBSCRIBED to wamp.subscription.on_create itself) must go out first.
  const publish = (uri: string, args: unknown[]): void => queueMicrotask(() => realm.publishMeta(uri, args));
  return {
    joined: (s) => publish('wamp.session.on_join', [sessionDetails(s)]),
    left: (s) => publish('wamp.session.on_leave', [s.id, s.authid, s.authrole]),
    broker: {
      onCreate: (s, sub) => publish('wamp.subscription.on_create', [s.id, subscriptionDetails(sub)]),
      onSubscribe: (s, sub) => publish('wamp.subscription.on_subscribe', [s.id, sub.id]),
      onUnsubscribe: (s, sub) => publish('wamp.subscription.on_unsubscribe', [s.id, sub.id]),
      onDelete: (s, sub) => publish('wamp.subscription.on_delete', [s.id, sub.id]),
    },
    dealer: {
      onCreate: (s, reg) => publish('wamp.registration.on_create', [s.id, registrationDetails(reg)]),
      onRegister: (s, reg) => publish('wamp.registration.on_register', [s.id, reg.id]),
      onUnregister: (s, reg) => publish('wamp.registration.on_unregister', [s.id, reg.id]),
      onDelete: (s, reg) => publish('wamp.registration.on_delete', [s.id, reg.id]),
    },
  };
}

// Per-realm durable queues and indexed streams, created on first use, and the realm's publish hook
// that lets a publication on a bound topic enqueue (queues) or take the next index (streams).
import type { Payload } from './payload.ts';
import { type BoundRealm, QueueApi, QueueService } from './queues.ts';
import type { Session } from './session.ts';
import { StreamApi, StreamService } from './streams.ts';
import type { PublishOptions } from './types.ts';

interface RealmServices {
  queues: QueueService;
  streams: StreamService;
}

const byRealm = new WeakMap<BoundRealm, RealmServices>();

function servicesOf(realm: BoundRealm): RealmServices {
  let s = byRealm.get(realm);
  if (!s) byRealm.set(realm, (s = { queues: new QueueService(realm), streams: new StreamService(realm) }));
  return s;
}

export function queueApi(session: Session): QueueApi {
  return new QueueApi(servicesOf(session.realm).queues, session);
}

export function streamApi(session: Session): StreamApi {
  return new StreamApi(servicesOf(session.realm).streams, session);
}

/**
 * Called by Realm.publish for a client's (authorized) publication: handles it when the topic is a
 * bound queue or stream, else returns undefined and the realm routes it as usual.
 */
export function publishBound(realm: BoundRealm, topic: string[], payload: Payload, options: PublishOptions, from: Session): Promise<number> | undefined {
  const s = byRealm.get(realm);
  if (!s) return undefined;
  return s.queues.publishBound(topic, payload, options, from) ?? s.streams.publishBound(topic, payload, options, from);
}

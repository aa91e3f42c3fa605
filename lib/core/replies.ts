// Stored replies (the esub bridge's phase 2): values kept per key with a TTL, taken oldest first.
// They live in the realm's store (durable with SQLite); a router without a store keeps them in
// memory. Clients reach them through Client.storeReply() / Client.takeReplies().
import type { SessionRealm } from './routing-types.ts';

interface Held {
  value: Uint8Array;
  expiresAt: number;
}

/** Per-realm fallback for routers built without a store. */
const memory = new WeakMap<SessionRealm, Map<string, Held[]>>();

function memoryOf(realm: SessionRealm): Map<string, Held[]> {
  let m = memory.get(realm);
  if (!m) memory.set(realm, (m = new Map()));
  return m;
}

export function storeReply(realm: SessionRealm, key: string, value: Uint8Array, ttlMs: number): Promise<void> {
  if (!(ttlMs > 0)) return Promise.reject(new RangeError(`reply TTL must be > 0 ms, got ${ttlMs}`));
  if (realm.store) return realm.store.storeReply(realm.name, key, value, ttlMs);
  const m = memoryOf(realm);
  let list = m.get(key);
  if (!list) m.set(key, (list = []));
  list.push({ value, expiresAt: Date.now() + ttlMs });
  return Promise.resolve();
}

/** Removes and returns the live replies of `key`, oldest first. */
export function takeReplies(realm: SessionRealm, key: string): Promise<Uint8Array[]> {
  if (realm.store) return realm.store.takeReplies(realm.name, key);
  const m = memoryOf(realm);
  const list = m.get(key) ?? [];
  m.delete(key);
  const now = Date.now();
  return Promise.resolve(list.filter((h) => h.expiresAt > now).map((h) => h.value));
}

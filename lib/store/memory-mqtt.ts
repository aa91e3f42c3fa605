// Memory engine: MQTT persistent sessions (record, offline queue, in-flight state) and esub
// stored replies.
import type { MqttInflight, MqttQueued, MqttSessionListing, MqttSessionState } from '../core/store.ts';
import { compareKeys, copyBytes, isLive, normalizeSession } from './common.ts';

interface Client {
  session?: MqttSessionState;
  queue: MqttQueued[];
  inflight: Map<number, Uint8Array>;
}

export class MemoryMqtt {
  private readonly realms = new Map<string, Map<string, Client>>();
  private lastQueued = 0;

  private client(realm: string, clientId: string, create: true): Client;
  private client(realm: string, clientId: string, create: false): Client | undefined;
  private client(realm: string, clientId: string, create: boolean): Client | undefined {
    let clients = this.realms.get(realm);
    if (!clients) {
      if (!create) return undefined;
      clients = new Map();
      this.realms.set(realm, clients);
    }
    let c = clients.get(clientId);
    if (!c && create) {
      c = { queue: [], inflight: new Map() };
      clients.set(clientId, c);
    }
    return c;
  }

  /** Forget a client entry that holds nothing any more. */
  private tidy(realm: string, clientId: string, c: Client): void {
    if (c.session || c.queue.length > 0 || c.inflight.size > 0) return;
    const clients = this.realms.get(realm)!;
    clients.delete(clientId);
    if (clients.size === 0) this.realms.delete(realm);
  }

  save(realm: string, clientId: string, state: MqttSessionState): void {
    this.client(realm, clientId, true).session = normalizeSession(state);
  }

  load(realm: string, clientId: string): MqttSessionState | null {
    const s = this.client(realm, clientId, false)?.session;
    return s ? normalizeSession(s) : null;
  }

  list(realm: string): MqttSessionListing[] {
    const clients = this.realms.get(realm);
    if (!clients) return [];
    const out: MqttSessionListing[] = [];
    for (const [clientId, c] of clients) if (c.session) out.push({ clientId, ...normalizeSession(c.session) });
    return out.sort((a, b) => compareKeys(a.clientId, b.clientId));
  }

  delete(realm: string, clientId: string): void {
    const clients = this.realms.get(realm);
    if (!clients) return;
    clients.delete(clientId);
    if (clients.size === 0) this.realms.delete(realm);
  }

  enqueue(realm: string, clientId: string, message: Uint8Array, maxQueued: number | undefined): number {
    const c = this.client(realm, clientId, true);
    const id = ++this.lastQueued;
    c.queue.push({ id, value: copyBytes(message) });
    if (maxQueued !== undefined && c.queue.length > maxQueued) c.queue.splice(0, c.queue.length - maxQueued);
    this.tidy(realm, clientId, c);
    return id;
  }

  drain(realm: string, clientId: string, limit: number | undefined): MqttQueued[] {
    const c = this.client(realm, clientId, false);
    if (!c) return [];
    const out = c.queue.splice(0, limit ?? c.queue.length);
    this.tidy(realm, clientId, c);
    return out;
  }

  peek(realm: string, clientId: string, limit: number | undefined): MqttQueued[] {
    const c = this.client(realm, clientId, false);
    if (!c) return [];
    return c.queue.slice(0, limit ?? c.queue.length);
  }

  putInflight(realm: string, clientId: string, packetId: number, state: Uint8Array): void {
    this.client(realm, clientId, true).inflight.set(packetId, copyBytes(state));
  }

  deleteInflight(realm: string, clientId: string, packetId: number): boolean {
    const c = this.client(realm, clientId, false);
    if (!c) return false;
    const had = c.inflight.delete(packetId);
    this.tidy(realm, clientId, c);
    return had;
  }

  listInflight(realm: string, clientId: string): MqttInflight[] {
    const c = this.client(realm, clientId, false);
    if (!c) return [];
    return [...c.inflight].map(([packetId, value]) => ({ packetId, value }));
  }
}

interface Reply {
  value: Uint8Array;
  expiresAt: number;
}

export class MemoryReplies {
  private readonly realms = new Map<string, Map<string, Reply[]>>();

  store(realm: string, key: string, value: Uint8Array, expiresAt: number): void {
    let keys = this.realms.get(realm);
    if (!keys) {
      keys = new Map();
      this.realms.set(realm, keys);
    }
    let list = keys.get(key);
    if (!list) {
      list = [];
      keys.set(key, list);
    }
    list.push({ value: copyBytes(value), expiresAt });
  }

  take(realm: string, key: string, now: number): Uint8Array[] {
    const keys = this.realms.get(realm);
    const list = keys?.get(key);
    if (!list) return [];
    keys!.delete(key);
    if (keys!.size === 0) this.realms.delete(realm);
    return list.filter((r) => isLive(r.expiresAt, now)).map((r) => r.value);
  }

  sweep(now: number): number {
    let n = 0;
    for (const [realm, keys] of this.realms) {
      for (const [key, list] of keys) {
        const live = list.filter((r) => isLive(r.expiresAt, now));
        n += list.length - live.length;
        if (live.length === 0) keys.delete(key);
        else if (live.length < list.length) keys.set(key, live);
      }
      if (keys.size === 0) this.realms.delete(realm);
    }
    return n;
  }
}

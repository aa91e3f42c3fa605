// kitsune.stats.get: the router's counters and this realm's sizes in one call, for the dashboard
// (server/dashboard/) and any client the realm lets call it. Counters in `router` are router-wide
// (every realm together); everything else is this realm's.
import type { Store } from './store.ts';
import type { RouterStats } from './types.ts';

/** What kitsune.stats.get reads of a realm (declared here, so this file needs nothing above it). */
export interface StatsRealm {
  readonly name: string;
  readonly store: Store | undefined;
  readonly stats: RouterStats;
  readonly sessions: ReadonlyMap<number, { readonly identity: { readonly protocol: string } }>;
  readonly builtins: { set(uri: string, procedure: () => Promise<unknown[]>): unknown };
  readonly broker: { readonly byId: { readonly size: number } };
  readonly dealer: { readonly byId: { readonly size: number } };
  readonly retention: { readonly tree: { readonly size: number }; lockCounts(): { held: number; waiting: number } };
}

/** Queues listed by name in the answer (the deepest ones); the totals count them all. */
const QUEUES_LISTED = 20;
/** One queue listing per realm per this long, however many dashboards poll. */
const QUEUE_CACHE_MS = 1_000;

interface QueueSummary {
  count: number;
  ready: number;
  unacked: number;
  deepest: { queue: string; ready: number; unacked: number; locked: boolean; max: number }[];
}

async function summarizeQueues(realm: StatsRealm): Promise<QueueSummary | null> {
  if (!realm.store) return null;
  const stats = await realm.store.queueStatAll(realm.name);
  const rows = stats.map((s) => ({ queue: s.queue, ready: s.ready[0] + s.ready[1] + s.ready[2], unacked: s.unacked, locked: s.locked, max: s.max }));
  let ready = 0;
  let unacked = 0;
  for (const r of rows) {
    ready += r.ready;
    unacked += r.unacked;
  }
  rows.sort((a, b) => b.ready + b.unacked - (a.ready + a.unacked) || (a.queue < b.queue ? -1 : 1));
  return { count: rows.length, ready, unacked, deepest: rows.slice(0, QUEUES_LISTED) };
}

function sessionsByProtocol(sessions: StatsRealm['sessions']): Record<string, number> {
  const counts: Record<string, number> = { wamp: 0, mqtt: 0, http: 0, local: 0 };
  for (const s of sessions.values()) counts[s.identity.protocol] = (counts[s.identity.protocol] ?? 0) + 1;
  return counts;
}

export function installStatsMeta(realm: StatsRealm): void {
  let cached: { at: number; summary: Promise<QueueSummary | null> } | undefined;
  const queues = (now: number): Promise<QueueSummary | null> => {
    if (!cached || now - cached.at >= QUEUE_CACHE_MS) {
      // a store that fails the listing shows as no queue data, not as a failed call
      cached = { at: now, summary: summarizeQueues(realm).catch(() => null) };
    }
    return cached.summary;
  };
  realm.builtins.set('kitsune.stats.get', async () => {
    const now = Date.now();
    const { traffic } = realm.stats;
    // every plain counter, whichever the router has
    const counters = Object.fromEntries(Object.entries(realm.stats).filter(([, v]) => typeof v === 'number'));
    const memory = process.memoryUsage();
    return [
      {
        time: now,
        realm: realm.name,
        sessions: realm.sessions.size,
        sessionsByProtocol: sessionsByProtocol(realm.sessions),
        subscriptions: realm.broker.byId.size,
        registrations: realm.dealer.byId.size,
        retained: realm.retention.tree.size,
        locks: realm.retention.lockCounts(),
        queues: await queues(now),
        router: { traffic: { wamp: { ...traffic.wamp }, mqtt: { ...traffic.mqtt } }, ...counters },
        // one process; a Redis deployment lists its nodes here
        node: { pid: process.pid, uptimeSec: Math.round(process.uptime()), rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
        nodes: null,
      },
    ];
  });
}

// The router's traffic as Prometheus metrics: messages and bytes per protocol and direction,
// publications, deliveries, calls, errors by URI, dropped deliveries by reason, queue sizes and the
// store's commit latency. The gates count in plain properties of router.stats (lib/core/types.ts);
// this file only reads them at scrape time, so the hot path never touches prom-client.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Router } from '../lib/core/router.ts';
import type { DropCounters } from '../lib/core/types.ts';

const PROTOCOLS = ['wamp', 'mqtt'] as const;

/** Prometheus label of each DropCounters field. */
const DROP_REASONS: [keyof DropCounters, string][] = [
  ['slowConsumer', 'slow_consumer'],
  ['queueFull', 'queue_full'],
  ['expired', 'expired'],
  ['tooLarge', 'too_large'],
];

/** From 0.25 ms (an idle WAL commit) to 2.5 s (a disk in trouble). */
const COMMIT_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** MQTT sessions' queued QoS 1/2 messages, by realm (the MQTT gate's registry, read at scrape time). */
export type QueuedByRealm = () => ReadonlyMap<string, number>;

/** A counter whose value lives elsewhere: `rows` is read at each scrape. */
function mirroredCounter(registry: Registry, name: string, help: string, labelNames: string[], rows: () => [Record<string, string>, number][]): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of rows()) this.inc(labels, value);
    },
  });
}

export function registerTrafficMetrics(registry: Registry, router: Router, mqttQueued?: QueuedByRealm): void {
  const stats = router.stats;
  const perDirection = (field: 'messages' | 'bytes'): [Record<string, string>, number][] =>
    PROTOCOLS.flatMap((protocol) => {
      const t = stats.traffic[protocol];
      return [
        [{ protocol, direction: 'in' }, field === 'messages' ? t.messagesIn : t.bytesIn],
        [{ protocol, direction: 'out' }, field === 'messages' ? t.messagesOut : t.bytesOut],
      ] as [Record<string, string>, number][];
    });
  mirroredCounter(registry, 'kitsune_messages_total', 'WAMP messages and MQTT packets received (in) and sent (out)', ['protocol', 'direction'], () => perDirection('messages'));
  mirroredCounter(registry, 'kitsune_bytes_total', 'Bytes of those messages (encoded, without WebSocket or RawSocket framing)', ['protocol', 'direction'], () => perDirection('bytes'));
  mirroredCounter(registry, 'kitsune_publications_total', 'Publications made by clients of any protocol', [], () => [[{}, stats.publications]]);
  mirroredCounter(registry, 'kitsune_deliveries_total', 'Publications sent to subscribers (WAMP EVENT, MQTT PUBLISH)', ['protocol'], () =>
    PROTOCOLS.map((protocol) => [{ protocol }, stats.traffic[protocol].deliveries]),
  );
  mirroredCounter(registry, 'kitsune_calls_total', 'Calls made by clients of any protocol', [], () => [[{}, stats.calls]]);
  mirroredCounter(registry, 'kitsune_errors_total', 'ERRORs sent to WAMP clients, by error URI (past 100 URIs not the router\'s own: "other")', ['uri'], () =>
    [...stats.errors.entries()].map(([uri, n]) => [{ uri }, n]),
  );
  mirroredCounter(registry, 'kitsune_dropped_deliveries_total', 'Deliveries dropped instead of sent, by protocol and reason (slow_consumer, queue_full, expired, too_large)', ['protocol', 'reason'], () =>
    PROTOCOLS.flatMap((protocol) => DROP_REASONS.map(([field, reason]) => [{ protocol, reason }, stats.dropped[protocol][field]] as [Record<string, string>, number])),
  );

  new Gauge({
    name: 'kitsune_queue_items',
    help: 'Items in the durable (hustmq) queues of the realm, ready and unacknowledged',
    labelNames: ['realm'],
    registers: [registry],
    async collect() {
      const store = router.store;
      for (const realm of router.realms.values()) {
        let items = 0;
        if (store) for (const q of await store.queueStatAll(realm.name)) items += q.ready[0] + q.ready[1] + q.ready[2] + q.unacked;
        this.set({ realm: realm.name }, items);
      }
    },
  });
  if (mqttQueued) {
    new Gauge({
      name: 'kitsune_mqtt_queued_messages',
      help: 'QoS 1/2 messages queued for MQTT sessions (offline, or past the client\'s receive window), by realm',
      labelNames: ['realm'],
      registers: [registry],
      collect() {
        const byRealm = mqttQueued();
        for (const realm of router.realms.values()) this.set({ realm: realm.name }, byRealm.get(realm.name) ?? 0);
      },
    });
  }

  const commits = new Histogram({
    name: 'kitsune_store_commit_seconds',
    help: 'Time one store transaction took, BEGIN to COMMIT (SQLite group commit; the memory store has none)',
    buckets: COMMIT_BUCKETS,
    registers: [registry],
  });
  router.store?.observeCommits?.(commits);
}

// Prometheus metrics at /metrics: sessions, subscriptions, registrations per realm, and the
// router's counters (dropped events, slow consumers, protocol errors), read at scrape time; the
// traffic metrics are in metrics-traffic.ts.
//
// With Redis (not yet), node and Redis health belong here too: gauges read at scrape time from the
// Cluster port's liveness, registered beside the per-realm ones.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Router } from '../lib/core/router.ts';
import type { Admission } from './admission.ts';
import { type QueuedByRealm, registerTrafficMetrics } from './metrics-traffic.ts';

/** A labelled counter's rows, read at scrape time. */
export type LabelledRows = () => { labels: Record<string, string>; value: number }[];

/** Requests an HTTP bridge refused, by status (the bridge's counting map, read at scrape time). */
export type BridgeRefusals = Record<string, ReadonlyMap<number, number>>;

/**
 * `upgradesRefused`: WebSocket upgrades the shared listener refused itself, by reason (upgrade-routes.ts);
 * `bridges`: each HTTP bridge's refusals by status; `mqttQueued`: the MQTT gate's queued messages by realm;
 * `accessRefused`: http.access refusals by status.
 */
export function createMetricsHandler(
  router: Router,
  admission?: Admission,
  upgradesRefused?: LabelledRows,
  bridges: BridgeRefusals = {},
  mqttQueued?: QueuedByRealm,
  accessRefused?: LabelledRows,
): (req: IncomingMessage, res: ServerResponse) => void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kitsune_process_' });
  registerTrafficMetrics(registry, router, mqttQueued);
  const perRealm = (name: string, help: string, read: (realm: import('../lib/core/realm.ts').Realm) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['realm'],
      registers: [registry],
      collect() {
        for (const realm of router.realms.values()) this.set({ realm: realm.name }, read(realm));
      },
    });
  };
  perRealm('kitsune_sessions', 'Sessions attached to the realm', (r) => r.sessions.size);
  perRealm('kitsune_subscriptions', 'Subscriptions in the realm', (r) => r.broker.byId.size);
  perRealm('kitsune_registrations', 'Registrations in the realm', (r) => r.dealer.byId.size);
  perRealm('kitsune_retained', 'Retained topics in the realm', (r) => r.retention.tree.size);
  const counter = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  counter('kitsune_dropped_events_total', 'Events and QoS 0 messages dropped for slow consumers', () => router.stats.droppedEvents);
  counter('kitsune_slow_consumers_disconnected_total', 'Connections closed past the hard send-buffer limit', () => router.stats.slowConsumersDisconnected);
  counter('kitsune_protocol_errors_total', 'Connections ended for malformed or out-of-order input', () => router.stats.protocolErrors);
  counter('kitsune_handler_errors_total', 'Connections ended by an internal error in a message handler', () => router.stats.handlerErrors);
  counter('kitsune_store_failures_total', 'Client requests refused because the store failed them', () => router.stats.storeFailures);
  counter('kitsune_limit_refusals_total', 'Requests refused at a configured limit', () => router.stats.limitRefusals);
  counter('kitsune_mqtt_forbidden_publishes_total', 'MQTT publishes the client\'s role forbids (v5 refused with 0x87; 3.1.1 dropped or disconnected, per mqtt.forbiddenPublish)', () => router.stats.mqttForbiddenPublishes);
  counter('kitsune_dropped_queued_total', 'QoS 1/2 messages dropped from a full persistent-session queue', () => router.stats.droppedQueued);
  counter('kitsune_auth_refusals_total', 'Logins refused (unknown user, wrong secret, no usable method, anonymous not allowed)', () => router.stats.authRefusals);
  counter('kitsune_wamp_too_deep_total', 'WAMP messages refused for nesting past maxNestingDepth', () => router.stats.wampTooDeep);
  counter('kitsune_wamp_unsupported_types_total', 'WAMP messages refused for a CBOR tag or MessagePack extension', () => router.stats.wampUnsupportedTypes);
  counter('kitsune_cluster_events_lost_total', "Other nodes' publications that never arrived here (gaps in their sequence)", () => router.stats.clusterEventsLost);
  counter('kitsune_cluster_messages_malformed_total', "Unreadable messages on the cluster's Redis channels, dropped", () => router.stats.clusterMalformed);
  counter('kitsune_cluster_nodes', 'Nodes with a current lease (1 when alone)', () => router.cluster?.status().nodes.length ?? 1);
  const labelled = (name: string, help: string, labelNames: string[], read: LabelledRows): void => {
    new Gauge({ name, help, labelNames, registers: [registry], collect() { for (const row of read()) this.set(row.labels, row.value); } });
  };
  if (accessRefused) labelled('kitsune_http_access_refused_total', 'Requests to the guarded endpoints (/metrics, /healthz, stat_all, esub /metrics, dashboard) refused by http.access, by status', ['status'], accessRefused);
  if (upgradesRefused) labelled('kitsune_websocket_upgrades_refused_total', 'WebSocket upgrades refused for their path or subprotocol (no_subprotocol, wrong_path, no_endpoint)', ['reason'], upgradesRefused);
  labelled('kitsune_bridge_refusals_total', 'HTTP bridge requests answered with a refusal (4xx), by bridge and status', ['bridge', 'status'], () =>
    Object.entries(bridges).flatMap(([bridge, byStatus]) => [...byStatus].map(([status, value]) => ({ labels: { bridge, status: String(status) }, value }))),
  );
  if (admission) {
    labelled('kitsune_connections', 'Open connections, by listener', ['listener'], () => admission.stats().open);
    labelled('kitsune_connections_refused_total', 'Connections refused at accept time, by listener and limit (total, address)', ['listener', 'reason'], () => admission.stats().refused);
    labelled('kitsune_connections_timed_out_total', 'Connections closed for being too slow, by listener and phase (sniff, headers, request)', ['listener', 'phase'], () => admission.stats().timedOut);
  }

  return (_req, res) => {
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`metrics failed: ${String(err)}\n`);
      },
    );
  };
}

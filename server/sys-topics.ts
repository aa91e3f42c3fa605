// MQTT $SYS topics: the subset of mosquitto's `$SYS/broker/...` that dashboards and scripts read
// most, written as retained messages in every realm every `intervalSeconds`. Only values that
// changed are written (retained overwrites: no history, and wildcard history rules never match a
// '$' topic). The writes are the router's own: they pass no permission check and count neither as
// client publications nor as traffic in; delivering them to a subscriber is traffic out, as in
// mosquitto. Reading needs subscribe permission on `$SYS/...`; wildcards at the first level (`#`,
// `+/...`) do not match them (MQTT-4.7.2-1), and clients may not publish there (lib/core/realm.ts).
import type { Logger } from '../lib/core/log.ts';
import { Payload } from '../lib/core/payload.ts';
import type { Realm } from '../lib/core/realm.ts';
import type { Router } from '../lib/core/router.ts';

/** mosquitto's default sys_interval. */
export const DEFAULT_SYS_INTERVAL_SECONDS = 10;

export interface SysTopicsOptions {
  /** Seconds between updates; 0 = no $SYS topics. */
  intervalSeconds: number;
  /** The server's version, published as "kitsune version <version>". */
  version: string;
  /** When the server started (ms since epoch), for the uptime. */
  startedAt?: number;
  logger: Logger;
}

export interface SysTopics {
  /** Writes the values that changed since the last update (the timer calls this). */
  update(): void;
  stop(): void;
}

/** Client sessions of the realm: WAMP and MQTT (the bridges' own sessions are part of the server). */
function clientsConnected(realm: Realm): number {
  let n = 0;
  for (const s of realm.sessions.values()) if (s.identity.protocol === 'wamp' || s.identity.protocol === 'mqtt') n++;
  return n;
}

/** Topic (MQTT form) → value, for one realm. Message and byte counts are the whole server's, both protocols. */
function values(router: Router, realm: Realm, version: string, uptimeSeconds: number): [string, string][] {
  const { wamp, mqtt } = router.stats.traffic;
  return [
    ['$SYS/broker/version', `kitsune version ${version}`],
    ['$SYS/broker/uptime', `${uptimeSeconds} seconds`],
    ['$SYS/broker/clients/connected', String(clientsConnected(realm))],
    ['$SYS/broker/messages/received', String(wamp.messagesIn + mqtt.messagesIn)],
    ['$SYS/broker/messages/sent', String(wamp.messagesOut + mqtt.messagesOut)],
    ['$SYS/broker/bytes/received', String(wamp.bytesIn + mqtt.bytesIn)],
    ['$SYS/broker/bytes/sent', String(wamp.bytesOut + mqtt.bytesOut)],
    ['$SYS/broker/subscriptions/count', String(realm.broker.byId.size)],
    ['$SYS/broker/retained messages/count', String(realm.retention.tree.size)],
  ];
}

/** Starts the updates (the first one at once); undefined when intervalSeconds is 0. */
export function startSysTopics(router: Router, opts: SysTopicsOptions): SysTopics | undefined {
  if (opts.intervalSeconds <= 0) return undefined;
  const startedAt = opts.startedAt ?? Date.now();
  /** What each realm last had written, by topic. */
  const written = new Map<Realm, Map<string, string>>();
  /** Realm + topic of the writes that failed last time (logged once until one succeeds). */
  const failing = new Set<string>();
  const update = (): void => {
    const uptime = Math.floor((Date.now() - startedAt) / 1000);
    for (const realm of router.realms.values()) {
      let last = written.get(realm);
      if (!last) written.set(realm, (last = new Map()));
      for (const [topic, value] of values(router, realm, opts.version, uptime)) {
        if (last.get(topic) === value) continue;
        const key = `${realm.name}\u0000${topic}`;
        last.set(topic, value);
        realm.routePublication(topic.split('/'), Payload.fromBytes(Buffer.from(value)), { retain: true, qos: 0 }, undefined).then(
          () => failing.delete(key),
          (err: unknown) => {
            last.delete(topic); // written again at the next update
            // once per topic while it keeps failing (a realm at its retained limit, a store down)
            if (failing.has(key)) return;
            failing.add(key);
            opts.logger.warn({ err, realm: realm.name, topic }, '$SYS topic could not be written');
          },
        );
      }
    }
  };
  update();
  const timer = setInterval(update, opts.intervalSeconds * 1000);
  timer.unref();
  return { update, stop: () => clearInterval(timer) };
}

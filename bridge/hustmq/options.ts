// hustmq bridge options: the knobs of hustmq ha's nginx.json and of its nodes, with their defaults.
import type { BridgeUser } from '../http/sessions.ts';

export interface HustmqAuth {
  /**
   * user → password (the http_basic_auth_file), or → { password, principal }: the user acts with
   * that realm principal's role (a bare password: with the bridge's anonymous role, authid = user).
   */
  users: Record<string, string | BridgeUser>;
  /** Routes served without auth (nginx.json auth_filter): default get, sub, version. */
  exempt?: string[];
}

export interface HustmqOptions {
  /** Realm whose queues and topics the bridge serves. */
  realm: string;
  /** authid of the sessions of requests without credentials (default 'hustmq'). */
  authid?: string;
  /**
   * Role of requests without credentials (default: the realm's anonymous role; none = such
   * requests get 401). Requests with credentials act as their principal.
   */
  authrole?: string;
  /** Topic prefix: items of queue Q are published on `<prefix>.Q`, pushes on `<prefix>.push.Q`, RPC on `<prefix>.do.Q`. */
  topicPrefix?: string;
  /** evget parking time, ms (long_polling_timeout, 180 s). */
  longPollingTimeoutMs?: number;
  /** evsub parking time, ms (subscribe_timeout, 180 s). */
  subscribeTimeoutMs?: number;
  /** do_get wait for a result, ms (do_get_timeout, 180 s). */
  doGetTimeoutMs?: number;
  /** do_post wait for a task, ms (do_post_timeout, 180 s). */
  doPostTimeoutMs?: number;
  /** Most parked evget requests, and separately evsub requests (max_timer_count, 1m). */
  maxTimerCount?: number;
  /** RPC task slots (do_get_cache_size, 1024) and parked worker slots (do_post_cache_size, 1024). */
  doGetCacheSize?: number;
  doPostCacheSize?: number;
  /** Largest do_get/do_post body, bytes (max_do_task_body_size, 8m). */
  maxDoTaskBodyBytes?: number;
  /** Largest request body, bytes (client_max_body_size, 64m); beyond it 413. */
  maxBodyBytes?: number;
  /** How often parked evget requests are re-checked against the store, ms (autost_interval, 200 ms). */
  autostIntervalMs?: number;
  /** The length of the API's "minute" in ms (60,000): /timeout?minute=M and stat's timeout. Tests shorten it. */
  minuteMs?: number;
  /** Push queues: default and largest ttl, seconds (900, mq.ttl.maximum 7200). */
  pushDefaultTtlSec?: number;
  pushMaxTtlSec?: number;
  /** Most events kept per push queue (100,000). */
  pushMaxItems?: number;
  /** Most queues (and, separately, push queues): max_queue_size / mq.queue.maximum, 8192. */
  maxQueues?: number;
  /** Invoke policy of the HTTP workers' registrations on `<prefix>.do.` ('last': the most recently parked worker first, as hustmq does). */
  doInvokePolicy?: 'single' | 'roundrobin' | 'random' | 'first' | 'last';
  /** The bridge's own Basic users (hustmq ha's); absent = requests without credentials act with `authrole`. */
  auth?: HustmqAuth;
}

export type ResolvedOptions = Required<Omit<HustmqOptions, 'auth' | 'authrole'>> & { auth?: HustmqAuth; authrole?: string };

export function resolveOptions(o: HustmqOptions): ResolvedOptions {
  return {
    realm: o.realm,
    authid: o.authid ?? 'hustmq',
    authrole: o.authrole,
    topicPrefix: o.topicPrefix ?? 'hustmq',
    longPollingTimeoutMs: o.longPollingTimeoutMs ?? 180_000,
    subscribeTimeoutMs: o.subscribeTimeoutMs ?? 180_000,
    doGetTimeoutMs: o.doGetTimeoutMs ?? 180_000,
    doPostTimeoutMs: o.doPostTimeoutMs ?? 180_000,
    maxTimerCount: o.maxTimerCount ?? 1_048_576,
    doGetCacheSize: o.doGetCacheSize ?? 1024,
    doPostCacheSize: o.doPostCacheSize ?? 1024,
    maxDoTaskBodyBytes: o.maxDoTaskBodyBytes ?? 8 * 1024 * 1024,
    maxBodyBytes: o.maxBodyBytes ?? 64 * 1024 * 1024,
    autostIntervalMs: o.autostIntervalMs ?? 200,
    minuteMs: o.minuteMs ?? 60_000,
    pushDefaultTtlSec: o.pushDefaultTtlSec ?? 900,
    pushMaxTtlSec: o.pushMaxTtlSec ?? 7200,
    pushMaxItems: o.pushMaxItems ?? 100_000,
    maxQueues: o.maxQueues ?? 8192,
    doInvokePolicy: o.doInvokePolicy ?? 'last',
    auth: o.auth,
  };
}

// --redis: several nodes on one Redis. What works today is pub/sub across nodes, cluster-wide
// session ids and node liveness; the rest of issue 20/21 is not built yet, so --redis alone stops
// the start (exit 2) with the list of what is missing — never a silent single node. An explicit
// preview opt-in (cluster.preview or KITSUNE_CLUSTER_PREVIEW=1) starts it with a warning instead.
import type { Cluster } from '../lib/core/cluster.ts';
import type { Logger } from '../lib/core/log.ts';
import { RedisCluster } from '../lib/store/redis-cluster.ts';
import { SingleNodeCluster } from '../lib/store/single-node.ts';

/** The `cluster` section of the configuration. */
export interface ClusterSettings {
  /** Start with --redis although parts are missing (pub/sub across nodes only). */
  preview?: boolean;
  /** Prefix of every Redis key and channel, so several clusters can share one Redis. */
  prefix?: string;
}

/** What several nodes do not do yet (printed when --redis is refused, logged when previewed). */
export const CLUSTER_MISSING = [
  'RPC across nodes (calls reach only callees on the same node)',
  'shared subscriptions across nodes (each node picks its own member)',
  'cluster-wide meta API (wamp.session.*, wamp.subscription.*, wamp.registration.* answer for one node)',
  'MQTT client-id takeover across nodes',
  "clean-up after a dead node (its sessions' wills, testaments and registrations)",
  'the Redis store (retained values, locks, history, queues and MQTT sessions stay per node)',
  'recovery when Redis returns empty',
];

const TRUE = new Set(['1', 'true', 'yes', 'on']);

export function clusterPreview(settings: ClusterSettings | undefined, env: NodeJS.ProcessEnv): boolean {
  const v = env.KITSUNE_CLUSTER_PREVIEW;
  if (v !== undefined && v !== '') return TRUE.has(v.toLowerCase());
  return settings?.preview === true;
}

/** The problems that stop a start with --redis (none without it, or with the preview opt-in). */
export function clusterStartProblems(redis: string | null, settings: ClusterSettings | undefined, env: NodeJS.ProcessEnv): string[] {
  if (redis === null || clusterPreview(settings, env)) return [];
  return [
    `--redis: several nodes are not complete yet; missing: ${CLUSTER_MISSING.join('; ')}.`,
    'To try what works (pub/sub across nodes, cluster-wide session ids, node liveness), set "cluster": {"preview": true} in the config file or KITSUNE_CLUSTER_PREVIEW=1.',
  ];
}

/** The Cluster engine: Redis with --redis (preview), else the single node. */
export function openCluster(redis: string | null, settings: ClusterSettings | undefined, env: NodeJS.ProcessEnv, logger: Logger): Cluster {
  const problems = clusterStartProblems(redis, settings, env);
  if (problems.length > 0) throw new Error(problems.join(' '));
  if (redis === null) return new SingleNodeCluster();
  logger.warn({ event: 'cluster.preview', missing: CLUSTER_MISSING }, 'several nodes on Redis is a preview: pub/sub across nodes, session ids and liveness work; the rest is missing');
  return new RedisCluster({ url: redis, prefix: settings?.prefix });
}

// The Cluster port: what the nodes of one router tell each other. Core declares it; the engines
// live in lib/store (single-node.ts: one process, what runs by default; redis-cluster.ts: several
// nodes on one Redis). Core imports neither engine.
//
// - identity: this node's id (random per start, so a restarted node is a new node);
// - event bus: a publication routed here is sent to the other nodes once per realm; theirs arrive
//   through ClusterHandlers.event and are matched against this node's own subscriptions;
// - inbox: opaque messages addressed to one node (for cross-node RPC, later);
// - directories: session ids claimed cluster-wide (later: registrations, share groups);
// - liveness: join, heartbeat lease, the nodes seen alive and those seen dead.
import type { Logger } from './log.ts';
import type { Publication, PublishOptions, RouterStats } from './types.ts';

/** A publication from another node, as core delivers it locally. */
export interface RemoteEvent {
  realm: string;
  publication: Publication;
  /** The publish options that decide the audience on every node (exclude/eligible, exclude_me). */
  options: PublishOptions;
}

export interface ClusterHandlers {
  readonly logger: Logger;
  /** The router's counters: the engine counts lost and malformed cluster messages there. */
  readonly stats: RouterStats;
  /** Delivers another node's publication to this node's subscribers. Never throws. */
  event(event: RemoteEvent): void;
  /** A message another node sent to this node's inbox. */
  inbox(from: string, message: Uint8Array): void;
}

export interface ClusterStatus {
  /** 'single': one process; 'redis': several nodes on one Redis. */
  mode: 'single' | 'redis';
  node: string;
  /** Whether this node can reach what the cluster shares (always true alone). */
  connected: boolean;
  /** Nodes whose lease is current, this one included. */
  nodes: string[];
  /** Nodes this node has seen declared dead since it started, most recent last (bounded). */
  dead: { node: string; at: string }[];
}

export interface Cluster {
  readonly node: string;
  /**
   * False for the single-node engine: core then skips the event bus entirely (nothing is encoded,
   * allocated or called per publish).
   */
  readonly multiNode: boolean;
  /** Joins the cluster (heartbeat, subscriptions, id pool) and starts delivering through `handlers`. */
  start(handlers: ClusterHandlers): Promise<void>;
  /** Starts receiving the events of a realm (called for each realm the router serves). */
  watchRealm(realm: string): void;
  /** Sends a routed publication to the other nodes (at most once; losses are counted by receivers). */
  publish(realm: string, publication: Publication, options: PublishOptions): void;
  /** Sends an opaque message to one node's inbox. */
  send(node: string, message: Uint8Array): Promise<void>;
  /**
   * A session id no other node uses, at once. Throws a RouterError (unavailable) when none can be
   * had now (the cluster's directory is unreachable): a new session needs cluster agreement.
   */
  takeSessionId(): number;
  /** Gives a session id back when its session ends. */
  releaseSessionId(id: number): void;
  status(): ClusterStatus;
  /** Leaves the cluster: stops the heartbeat, gives up this node's lease, closes connections. */
  close(): Promise<void>;
}

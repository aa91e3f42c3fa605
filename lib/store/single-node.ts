// The Cluster engine of a router that is one process: what runs without --redis. It has nobody to
// tell anything, so core never calls its event bus (multiNode is false) and it costs nothing.
import type { Cluster, ClusterStatus } from '../core/cluster.ts';
import { ErrorUri, RouterError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';

export class SingleNodeCluster implements Cluster {
  readonly node = `node-${randomId().toString(36)}`;
  readonly multiNode = false;

  async start(): Promise<void> {}

  watchRealm(): void {}

  publish(): void {}

  send(node: string): Promise<void> {
    return Promise.reject(new RouterError(ErrorUri.unavailable, `no node '${node}': this router is a single node`));
  }

  takeSessionId(): number {
    return randomId();
  }

  releaseSessionId(): void {}

  status(): ClusterStatus {
    return { mode: 'single', node: this.node, connected: true, nodes: [this.node], dead: [] };
  }

  async close(): Promise<void> {}
}

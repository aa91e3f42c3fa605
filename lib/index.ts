// kitsune's public API: build a router, attach in-process clients, and the types gates share.
import type { RouterConfig } from './core/config.ts';
import { Client, type ConnectOptions } from './core/client.ts';
import type { Logger } from './core/log.ts';
import { passwordLogin } from './core/auth/index.ts';
import { SecretCheckBusy } from './core/auth/secret.ts';
import { Router } from './core/router.ts';
import type { Store } from './core/store.ts';

export { Router } from './core/router.ts';
export { Client, CallResult } from './core/client.ts';
export type { ClientEvent, ClientInvocation, ClientResult, ConnectOptions, ClientCallOptions } from './core/client.ts';
export { Payload } from './core/payload.ts';
export { RouterError, ErrorUri } from './core/errors.ts';
export type { RouterConfig, RealmConfig, RoleConfig, PermissionConfig, Limits } from './core/config.ts';
export { openRealm, defaultLimits } from './core/config.ts';
export type { Store } from './core/store.ts';
export type { CollectionKind, CollectionMember, CollectionOutcome, CollectionRange, CollectionTableStat, CollectionWrite } from './core/store.ts';
export type { RetainedValue, RetainedPutOptions, RetainedListOptions } from './core/retained-api.ts';
export type { LevelRank } from './core/retained.ts';
export { CollectionApi } from './core/collections.ts';
export type { Logger } from './core/log.ts';
export { SecretCheckBusy, sameSecret } from './core/auth/secret.ts';
export type { Action } from './core/config.ts';
export type { HistoryRule } from './core/history.ts';
export { QueueApi, QueueErrorUri, readyTotal } from './core/queues.ts';
export type { QueueBindOptions, QueueWaitOptions, QueueWaitOutcome } from './core/queues.ts';
export type { QueueItem, QueueStat, QueuePriority, QueuePutResult, QueueGetOptions, WorkerRecord } from './core/store.ts';
export { LISTING_BUCKETS, listingBucket, QUEUE_DEFAULT_TIMEOUT_MS, QUEUE_WORKER_TTL_MS, parseQueueToken } from './core/store.ts';
export { StreamApi, StreamErrorUri } from './core/streams.ts';
// The WebSocket stack every gate and bridge serves its sockets with (lib/transport).
export { createWebSocketServer } from './transport/websocket-server.ts';
export { refuseUpgrade, type Refusal } from './transport/websocket-handshake.ts';
export type { WebSocketServer, WebSocketServerOptions } from './transport/websocket-server.ts';
export type { WebSocketHandler } from './transport/websocket-connection.ts';
export type { MessageSocket } from './transport/message-socket.ts';
export type { WebSocketSettings } from './transport/websocket-limits.ts';
export type { StreamBindOptions, StreamStat, StreamPublishOptions, StreamRead, StreamWaitOptions, StreamWaitResult } from './core/streams.ts';

/** The router with the in-process client API. */
export class KitsuneRouter extends Router {
  /** An in-process client session on `realm` (no socket). */
  connect(realm: string, options?: ConnectOptions): Client {
    return new Client(this, realm, options);
  }

  /**
   * The principal of `realm` whose password `secret` is, checked by the realm's password methods (a
   * ticket, plain or hashed, in constant time); undefined when the realm, the principal or the secret
   * is wrong. Never anonymous: an unknown user is refused whatever the realm's `unknownUsers`. For
   * logins that carry a user and a password (HTTP Basic, bearer tickets). Rejects with
   * SecretCheckBusy when too many hashed checks are under way. Refusals are counted in the stats.
   */
  async authenticate(realm: string, authid: string, secret: string): Promise<Principal | undefined> {
    const auth = this.realms.get(realm)?.config.auth;
    const outcome = auth && (await passwordLogin({ realm, auth, authid, authextra: {}, sessionId: 0 }, secret, 'http-anonymous'));
    if (outcome?.kind === 'ok' && outcome.result.authmethod !== 'anonymous') return { authid: outcome.result.authid, authrole: outcome.result.authrole };
    if (outcome?.kind === 'refused' && outcome.why === 'busy') {
      this.stats.limitRefusals++;
      throw new SecretCheckBusy();
    }
    this.stats.authRefusals++;
    return undefined;
  }
}

/** Who a password login proved: a principal of the realm and its role. */
export interface Principal {
  authid: string;
  authrole: string;
}

/** A router; pass a Store (see lib/store/open.ts) for durable retained state and history. */
export function createRouter(config: RouterConfig, options: { store?: Store; logger?: Logger } = {}): KitsuneRouter {
  return new KitsuneRouter(config, options);
}

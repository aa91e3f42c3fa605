// The Cluster engine for several nodes on one Redis (design.md "Several nodes on one Redis").
// Three connections: commands (publish, scripts), a subscriber (the realms' event channels and the
// control channel) and a blocking reader for this node's inbox stream.
//
// Events: a publication routed here is encoded once and PUBLISHed once on its realm's channel with
// (node, sequence); every node decodes it and delivers it against its own subscriptions (core's
// Realm.deliverRemote). At most once, like a single node's QoS 0: a gap in a node's sequence is
// counted in stats.clusterEventsLost, an unreadable message in stats.clusterMalformed (and logged
// within a budget) — never thrown. Keys and channels carry hash tags ({realm}, {cluster}, {node:…}).
import { Redis } from 'ioredis';
import type { Cluster, ClusterHandlers, ClusterStatus } from '../core/cluster.ts';
import { ErrorUri, RouterError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import { LogBudget } from '../core/log.ts';
import type { Publication, PublishOptions } from '../core/types.ts';
import { decodeEvent, encodeEvent, senderPrefix, sentBy } from './cluster-event.ts';
import { defineLiveness, Liveness } from './redis-liveness.ts';
import { SessionIdPool } from './redis-session-ids.ts';

export interface RedisClusterOptions {
  /** redis://host:port/db */
  url: string;
  /** Prefix of every key and channel (default 'kitsune'); tests isolate runs with it. */
  prefix?: string;
}

/** How many dead nodes status() remembers. */
const DEAD_KEPT = 32;
/** An inbox keeps at most about this many messages (XADD MAXLEN ~). */
const INBOX_MAX = 10_000;
const INBOX_BLOCK_MS = 1_000;

export class RedisCluster implements Cluster {
  readonly node = `n${randomId().toString(36)}`;
  readonly multiNode = true;
  private readonly prefix: string;
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly reader: Redis;
  private readonly liveness: Liveness;
  private readonly ids: SessionIdPool;
  private handlers: ClusterHandlers | undefined;
  /** Outgoing sequence per realm channel. */
  private readonly sent = new Map<string, number>();
  /** Last sequence seen per channel and sending node. */
  private readonly seen = new Map<string, Map<string, number>>();
  /** Channel name → realm, for the channels this node watches. */
  private readonly channels = new Map<string, string>();
  private alive: string[] = [];
  private readonly dead: { node: string; at: string }[] = [];
  private readonly malformedLog = new LogBudget(10);
  private readonly failureLog = new LogBudget(10);
  private closing = false;
  /** The URL without its password, for messages. */
  private readonly where: string;
  private lastError: unknown;
  private readonly ownPrefix = senderPrefix(this.node);

  constructor(options: RedisClusterOptions) {
    this.prefix = options.prefix ?? 'kitsune';
    this.where = redactedUrl(options.url);
    const connect = (name: string): Redis =>
      new Redis(options.url, { lazyConnect: true, connectionName: `${this.prefix}-${this.node}-${name}`, maxRetriesPerRequest: 2, enableAutoPipelining: name === 'cmd' });
    this.cmd = connect('cmd');
    this.sub = connect('sub');
    this.reader = connect('inbox');
    for (const c of [this.cmd, this.sub, this.reader]) {
      c.on('error', (err: unknown) => {
        this.lastError = err;
        this.failed(err, 'redis connection error');
      });
    }
    const clusterTag = `${this.prefix}:{cluster}`;
    this.liveness = new Liveness(defineLiveness(this.cmd), { nodes: `${clusterTag}:nodes`, control: this.controlChannel }, this.node, {
      declaredDead: () => this.handlers?.logger.error({ event: 'cluster.node.declared_dead', node: this.node }, 'this node was declared dead by another; it rejoins'),
      alive: (nodes) => (this.alive = nodes),
      failed: (err) => this.failed(err, 'heartbeat failed'),
    });
    this.ids = new SessionIdPool(this.cmd, this.node, { idPrefix: `${clusterTag}:session:`, nodeSet: `${clusterTag}:node:${this.node}:sessions` }, (err) => this.failed(err, 'claiming session ids failed'));
  }

  private get controlChannel(): string {
    return `${this.prefix}:{cluster}:control`;
  }

  private eventChannel(realm: string): string {
    return `${this.prefix}:{${realm}}:events`;
  }

  private get inboxKey(): string {
    return `${this.prefix}:{node:${this.node}}:inbox`;
  }

  private failed(err: unknown, msg: string): void {
    if (this.closing) return;
    const dropped = this.failureLog.take();
    if (dropped >= 0) this.handlers?.logger.warn({ err, event: 'cluster.redis.failed', node: this.node, ...(dropped ? { dropped } : {}) }, msg);
  }

  async start(handlers: ClusterHandlers): Promise<void> {
    this.handlers = handlers;
    try {
      await Promise.all([this.cmd.connect(), this.sub.connect(), this.reader.connect()]);
    } catch (err) {
      const cause = this.lastError ?? err;
      throw new Error(`cannot reach Redis at ${this.where}: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.received(channel.toString(), message));
    await this.sub.subscribe(this.controlChannel);
    await this.ids.fill();
    await this.liveness.start();
    void this.readInbox();
    handlers.logger.info({ event: 'cluster.joined', node: this.node, nodes: this.alive }, 'joined the cluster');
  }

  watchRealm(realm: string): void {
    const channel = this.eventChannel(realm);
    if (this.channels.has(channel)) return;
    this.channels.set(channel, realm);
    this.sub.subscribe(channel).catch((err: unknown) => this.failed(err, `subscribing to realm '${realm}' failed`));
  }

  publish(realm: string, publication: Publication, options: PublishOptions): void {
    const seq = (this.sent.get(realm) ?? 0) + 1;
    this.sent.set(realm, seq);
    let message: Uint8Array;
    try {
      message = encodeEvent(this.node, seq, publication, options);
    } catch (err) {
      // Not expected (the payload was routed here already); the sequence gap makes it a counted loss.
      this.failed(err, 'a publication could not be encoded for the other nodes');
      return;
    }
    this.cmd.publish(this.eventChannel(realm), Buffer.from(message.buffer, message.byteOffset, message.byteLength)).catch((err: unknown) => this.failed(err, 'publishing to the other nodes failed'));
  }

  private received(channel: string, message: Buffer): void {
    if (channel === this.controlChannel) return this.controlMessage(message.toString());
    const realm = this.channels.get(channel);
    const handlers = this.handlers;
    // This node's own publications come back on the channel: skipped without decoding.
    if (realm === undefined || handlers === undefined || sentBy(message, this.ownPrefix)) return;
    let decoded: ReturnType<typeof decodeEvent>;
    try {
      decoded = decodeEvent(message);
    } catch (err) {
      handlers.stats.clusterMalformed++;
      const dropped = this.malformedLog.take();
      if (dropped >= 0) handlers.logger.warn({ event: 'cluster.message.malformed', channel, bytes: message.length, reason: err instanceof Error ? err.message : String(err), ...(dropped ? { dropped } : {}) }, 'malformed message on a cluster channel dropped');
      return;
    }
    if (decoded.node === this.node) return;
    this.countGap(channel, decoded.node, decoded.seq);
    handlers.event({ realm, publication: decoded.publication, options: decoded.options });
  }

  /** A sequence number past the next expected one means messages were lost in between. */
  private countGap(channel: string, node: string, seq: number): void {
    let byNode = this.seen.get(channel);
    if (!byNode) this.seen.set(channel, (byNode = new Map()));
    const last = byNode.get(node);
    byNode.set(node, seq);
    if (last !== undefined && seq > last + 1 && this.handlers) this.handlers.stats.clusterEventsLost += seq - last - 1;
  }

  private controlMessage(text: string): void {
    const space = text.indexOf(' ');
    const what = text.slice(0, space);
    const node = text.slice(space + 1);
    if (node === this.node) return;
    const logger = this.handlers?.logger;
    if (what === 'dead') {
      this.dead.push({ node, at: new Date().toISOString() });
      if (this.dead.length > DEAD_KEPT) this.dead.shift();
      this.alive = this.alive.filter((n) => n !== node);
      this.forget(node);
      logger?.warn({ event: 'cluster.node.dead', node, by: this.node }, 'a node missed its lease and is declared dead');
    } else if (what === 'left') {
      this.alive = this.alive.filter((n) => n !== node);
      this.forget(node);
      logger?.info({ event: 'cluster.node.left', node }, 'a node left the cluster');
    } else if (what === 'join') {
      if (!this.alive.includes(node)) this.alive = [...this.alive, node];
      logger?.info({ event: 'cluster.node.joined', node }, 'a node joined the cluster');
    }
  }

  /** A node that is gone sends nothing more: its sequence bookkeeping goes too. */
  private forget(node: string): void {
    for (const byNode of this.seen.values()) byNode.delete(node);
  }

  async send(node: string, message: Uint8Array): Promise<void> {
    if (!this.alive.includes(node)) throw new RouterError(ErrorUri.unavailable, `node '${node}' is not alive`);
    await this.cmd.xadd(`${this.prefix}:{node:${node}}:inbox`, 'MAXLEN', '~', String(INBOX_MAX), '*', 'from', this.node, 'm', Buffer.from(message));
  }

  private async readInbox(): Promise<void> {
    let last = '$';
    while (!this.closing) {
      try {
        const res = await this.reader.xreadBuffer('BLOCK', INBOX_BLOCK_MS, 'STREAMS', this.inboxKey, last);
        for (const [, entries] of res ?? []) {
          for (const [id, fields] of entries) {
            last = id.toString();
            const from = fieldOf(fields, 'from')?.toString() ?? '';
            const m = fieldOf(fields, 'm');
            if (m) this.handlers?.inbox(from, m);
          }
        }
      } catch (err) {
        if (this.closing) return;
        this.failed(err, 'reading the inbox failed');
        await new Promise((r) => setTimeout(r, INBOX_BLOCK_MS));
      }
    }
  }

  takeSessionId(): number {
    return this.ids.take();
  }

  releaseSessionId(id: number): void {
    if (!this.closing) this.ids.release(id);
  }

  status(): ClusterStatus {
    return { mode: 'redis', node: this.node, connected: this.cmd.status === 'ready' && this.sub.status === 'ready', nodes: this.alive, dead: [...this.dead] };
  }

  async close(): Promise<void> {
    if (this.closing) return;
    await this.liveness.stop();
    this.closing = true;
    await Promise.allSettled([this.cmd.quit(), this.sub.quit()]);
    this.reader.disconnect();
  }
}

function fieldOf(fields: Buffer[], name: string): Buffer | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]?.toString() === name) return fields[i + 1];
  return undefined;
}

function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the configured URL';
  }
}

// What one esub bridge knows: its options, the router connection, the HTTP subs and psub pools it
// holds (keyed by esub key), its /prep sockets and its metrics. The router holds the registrations;
// these tables only add what the router does not know: tokens, pool membership, sockets.
import os from 'node:os';
import type { IncomingMessage } from 'node:http';
import type { Client, KitsuneRouter } from '../../lib/index.ts';
import { BridgeSessions, type Identity } from '../http/sessions.ts';
import { EsubMetrics } from './metrics.ts';
import type { ResolvedEsubOptions } from './options.ts';

/** An HTTP sub waiting on GET /sub/:key (a one-shot registration of its own session). */
export interface SubEntry {
  key: string;
  token: string;
  client: Client;
  /** Answers the waiting request with a 500 and ends the sub (bridge shutdown). */
  cancel(body: string): void;
}

/** A psub member, as the pool sees it (psub.ts implements it). */
export interface PoolMember {
  readonly client: Client;
  /** Ends the member (close frame unless `frame` is undefined); `redirect` re-delivers its last message. */
  kill(frame: { code: number; reason: string } | undefined, redirect: boolean): void;
}

/** The psub pool of one key: exclusive (one member) or shared (round robin), one token for all. */
export interface Pool {
  key: string;
  shared: boolean;
  token: string;
  members: PoolMember[];
}

export class EsubState {
  readonly subs = new Map<string, SubEntry>();
  readonly pools = new Map<string, Pool>();
  readonly preps = new Set<unknown>();
  readonly metrics: EsubMetrics;
  readonly info: { name: string; ip: string };
  /** The bridge's own (trusted) session: meta lookups, stored reps, redirects of a dead member's message. */
  private callerClient: Client | undefined;
  /** The sessions requests act as: their role decides what they may register (sub, psub) and call (rep). */
  readonly sessions: BridgeSessions;
  /** Who a WebSocket upgrade request (psub, prep) acts as, identified before the upgrade. */
  readonly upgrades = new WeakMap<IncomingMessage, Identity>();
  closing = false;

  constructor(
    readonly router: KitsuneRouter,
    readonly opts: ResolvedEsubOptions,
  ) {
    this.sessions = new BridgeSessions(router, { realm: opts.realm, name: 'esub', anonymousRole: opts.authrole });
    this.info = { name: opts.nodeName ?? hostname(), ip: opts.nodeIp ?? firstIpv4() };
    this.metrics = new EsubMetrics(opts.metricPrefix, {
      subs: () => this.subs.size,
      psubMembers: () => {
        let n = 0;
        for (const p of this.pools.values()) n += p.members.length;
        return n;
      },
      preps: () => this.preps.size,
    });
  }

  /** A new session acting as `identity` (one per sub and per psub member, so the router can tell them apart). */
  connect(identity: Identity): Client {
    return this.sessions.connect(identity, { type: 'esub' });
  }

  get caller(): Client {
    if (!this.callerClient || !this.callerClient.session.isOpen) this.callerClient = this.router.connect(this.opts.realm, { authid: 'esub', protocol: 'http', transport: { type: 'esub' } });
    return this.callerClient;
  }

  /** Keys in the original's /keys order: subs, then psub pools. */
  keys(): string[] {
    return [...this.subs.keys(), ...this.pools.keys()];
  }

  close(): void {
    this.closing = true;
    this.callerClient?.close();
    this.sessions.close();
  }
}

function hostname(): string {
  try {
    return os.hostname() || 'localhost';
  } catch {
    return 'localhost';
  }
}

/** The first non-loopback IPv4 address, 127.0.0.1 if none, '' if interfaces cannot be listed. */
function firstIpv4(): string {
  let ifaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  try {
    ifaces = os.networkInterfaces();
  } catch {
    return '';
  }
  for (const list of Object.values(ifaces)) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

// What one esub bridge knows: its options, the router connection, the HTTP subs and psub pools it
// holds (keyed by esub key), its /prep sockets and its metrics. The router holds the registrations;
// these tables only add what the router does not know: tokens, pool membership, sockets.
import os from 'node:os';
import { Client, type ConnectOptions, type Router } from '../../lib/index.ts';
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
  /** The session reps are called from (and meta lookups made through). */
  private callerClient: Client | undefined;
  closing = false;

  constructor(
    readonly router: Router,
    readonly opts: ResolvedEsubOptions,
  ) {
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

  /** A new session for the bridge (one per sub and per psub member, so the router can tell them apart). */
  connect(): Client {
    const options: ConnectOptions = { authid: 'esub', protocol: 'http', transport: { type: 'esub' } };
    if (this.opts.authrole !== undefined) options.authrole = this.opts.authrole;
    return new Client(this.router, this.opts.realm, options);
  }

  get caller(): Client {
    if (!this.callerClient || !this.callerClient.session.isOpen) this.callerClient = this.connect();
    return this.callerClient;
  }

  /** Keys in the original's /keys order: subs, then psub pools. */
  keys(): string[] {
    return [...this.subs.keys(), ...this.pools.keys()];
  }

  close(): void {
    this.closing = true;
    this.callerClient?.close();
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

// Connection admission, shared by every listening port: a server-wide limit and a per-address limit,
// applied when a connection is accepted. A refused connection is told why in its own protocol (see
// refusal.ts) and closed; an admitted one holds its slot until its socket closes, whoever owns the
// socket by then (a gate, the HTTP server, a WebSocket).
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { refusalAnswer, type ListenerKind, type RefusalReason } from './refusal.ts';

export type { ListenerKind, RefusalReason } from './refusal.ts';

/** The `connections` section of the configuration. */
export interface ConnectionSettings {
  /** Open connections on all ports together; past it HTTP gets 503, MQTT CONNACK 3 / 0x89. */
  maxConnections: number;
  /** Open connections from one IP address on all ports together; past it HTTP gets 429, MQTT CONNACK 3 / 0x97. */
  maxPerAddress: number;
  /** Addresses the per-address limit does not apply to (none by default: loopback is not special). */
  exemptAddresses: string[];
  /** A connection to the shared port that sends nothing for this long is closed. */
  sniffTimeoutMs: number;
  /** An HTTP request's headers must be complete this long after the connection opened (or after the previous response plus keepAliveTimeoutMs); else 408. */
  headersTimeoutMs: number;
  /** An HTTP request's body must be complete this long after its headers; else 408. */
  requestTimeoutMs: number;
  /** An idle keep-alive HTTP connection is closed after this long. */
  keepAliveTimeoutMs: number;
}

/**
 * The file descriptors the process may open, from /proc/self/limits (Linux); null elsewhere.
 * Node has no getrlimit, and a limit past the descriptors would never be reached: accept fails first.
 */
function openFilesLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isInteger(soft) && soft > 0 ? soft : null;
  } catch {
    return null;
  }
}

/**
 * 50,000 connections, or 90% of the descriptor limit less 100 when that is lower: the rest is left for
 * the store, logs, Redis and the connections being refused. Per address 10,000: the benchmarks open
 * ~6,000 HTTP connections from 127.0.0.1 (the esub one) and the tests a few hundred.
 */
export function defaultConnectionSettings(): ConnectionSettings {
  const fds = openFilesLimit();
  const maxConnections = fds === null ? 50_000 : Math.max(1, Math.min(50_000, Math.floor(fds * 0.9) - 100));
  return {
    maxConnections,
    maxPerAddress: Math.min(10_000, maxConnections),
    exemptAddresses: [],
    sniffTimeoutMs: 10_000,
    headersTimeoutMs: 20_000,
    requestTimeoutMs: 60_000,
    keepAliveTimeoutMs: 5_000,
  };
}

/** How long a refused connection may take to show its protocol before it is just closed. */
const REFUSAL_WAIT_MS = 2_000;
/** How long a refused connection stays open after its answer, so the client reads it before the close. */
const REFUSAL_LINGER_MS = 1_000;
/** Refused connections waiting for their first bytes at once; past it they are closed at once. */
const MAX_REFUSING = 256;

/** `::ffff:1.2.3.4` and `1.2.3.4` are one address. */
function addressOf(socket: net.Socket): string {
  const a = socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

type Counts = Map<string, Map<string, number>>;

function bump(counts: Counts, listener: string, label: string, by = 1): void {
  let inner = counts.get(listener);
  if (!inner) counts.set(listener, (inner = new Map()));
  inner.set(label, (inner.get(label) ?? 0) + by);
}

/** A metric's rows: the labels (listener and one more, named `as`) and the value. */
function rows(counts: Counts, as: string | null): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const [listener, inner] of counts) {
    for (const [label, value] of inner) out.push({ labels: as === null ? { listener } : { listener, [as]: label }, value });
  }
  return out;
}

export class Admission {
  private total = 0;
  private refusing = 0;
  private readonly perAddress = new Map<string, number>();
  private readonly exempt: ReadonlySet<string>;
  private readonly openCounts: Counts = new Map();
  private readonly refusedCounts: Counts = new Map();
  private readonly timeoutCounts: Counts = new Map();
  private readonly releasers = new Map<string, (this: net.Socket) => void>();

  constructor(private readonly limits: Pick<ConnectionSettings, 'maxConnections' | 'maxPerAddress' | 'exemptAddresses'>) {
    this.exempt = new Set(limits.exemptAddresses);
  }

  /** Open connections on all ports. */
  get open(): number {
    return this.total;
  }

  /** Open connections from one address. */
  openFrom(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /**
   * Admits a freshly accepted socket (true), or refuses it (false): then it is answered in its
   * protocol and closed here, and the caller must not use it.
   */
  accept(socket: net.Socket, listener: string, kind: ListenerKind): boolean {
    const address = addressOf(socket);
    const fromAddress = this.perAddress.get(address) ?? 0;
    const reason: RefusalReason | null =
      this.total >= this.limits.maxConnections ? 'total' : fromAddress >= this.limits.maxPerAddress && !this.exempt.has(address) ? 'address' : null;
    if (reason !== null) {
      bump(this.refusedCounts, listener, reason);
      this.refuse(socket, kind, reason);
      return false;
    }
    this.total++;
    this.perAddress.set(address, fromAddress + 1);
    bump(this.openCounts, listener, 'open');
    socket.on('close', this.releaserOf(listener));
    return true;
  }

  /**
   * The 'close' listener that gives a connection's slot back, one per listener name and shared by
   * its sockets (the socket is `this`): a closure per connection cost ~270 B of every idle one. The
   * address is read again from the socket, where Node cached it when accept() first read it.
   */
  private releaserOf(listener: string): (this: net.Socket) => void {
    let release = this.releasers.get(listener);
    if (!release) {
      const admission = this;
      release = function (this: net.Socket): void {
        admission.release(addressOf(this), listener);
      };
      this.releasers.set(listener, release);
    }
    return release;
  }

  private release(address: string, listener: string): void {
    this.total--;
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left === 0) this.perAddress.delete(address);
    else this.perAddress.set(address, left);
    bump(this.openCounts, listener, 'open', -1);
  }

  /** Counts a connection refused after admission (a failed TLS handshake, plain traffic on a TLS-only port). */
  countRefused(listener: string, reason: string): void {
    bump(this.refusedCounts, listener, reason);
  }

  /** Counts a connection closed because it was too slow (phase: sniff, tls, headers, request). */
  countTimeout(listener: string, phase: string): void {
    bump(this.timeoutCounts, listener, phase);
  }

  /** The numbers /metrics shows: open connections, refusals (by reason), timeouts (by phase). */
  stats(): Record<'open' | 'refused' | 'timedOut', { labels: Record<string, string>; value: number }[]> {
    return { open: rows(this.openCounts, null), refused: rows(this.refusedCounts, 'reason'), timedOut: rows(this.timeoutCounts, 'phase') };
  }

  /** Waits (briefly, and for a bounded number of sockets) for the first bytes, answers, closes. */
  private refuse(socket: net.Socket, kind: ListenerKind, reason: RefusalReason): void {
    socket.on('error', () => {});
    if (this.refusing >= MAX_REFUSING) return void socket.destroy();
    this.refusing++;
    socket.once('close', () => this.refusing--);
    const wait = setTimeout(() => socket.destroy(), REFUSAL_WAIT_MS).unref();
    socket.once('data', (first: Buffer) => {
      clearTimeout(wait);
      const answer = refusalAnswer(kind, first, reason);
      if (!answer) return void socket.destroy();
      socket.end(answer); // the socket keeps flowing: what else the client sends is read and dropped
      setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
    });
  }
}

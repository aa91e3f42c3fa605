// /psub/:key over WebSocket — a persistent registration of `esub.<key>` (wildcard match, so an
// HTTP sub's exact registration on the same key is served first, as in the original), one session
// per member. Exclusive: invoke 'single', a newer psub takes over (force_reregister). Shared:
// invoke 'roundrobin'. A delivery is an invocation; its result is the read receipt:
// - receipt mode: the member's next data message within receiptTimeoutMs (concurrency 1, so
//   deliveries to a member are lockstep and the dealer gives waiting reps to free members);
// - keepalive mode: the write itself. The server pings every half period; a member silent (no
//   pong, ping or message) for longer than the ping frequency is pruned. Silence is measured on the
//   monotonic clock (a wall-clock step must not prune everyone).
// A member that fails leaves the router before its invocation fails, so the rep's retry reaches the
// next member; in keepalive mode its last written message is re-delivered too, as the original does.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Client, createWebSocketServer, ErrorUri, type MessageSocket, RouterError, type WebSocketHandler, type WebSocketServer } from '../../lib/index.ts';
import type { Identity } from '../http/sessions.ts';
import { CloseCode, type CloseFrame } from './close-codes.ts';
import type { Deliverer } from './deliver.ts';
import { procedureOf } from './keys.ts';
import { isText } from './sniff.ts';
import type { EsubState, Pool, PoolMember } from './state.ts';

/** How long a closed-by-us socket may take to answer the close frame before it is cut. */
const CLOSE_GRACE_MS = 2000;

class Member implements PoolMember, WebSocketHandler {
  alive = true;
  /** performance.now() of the last frame heard from the member. */
  lastSeen = performance.now();
  /** Whether a frame came since the previous keepalive tick, and how many ticks in a row had none. */
  heard = true;
  missedTicks = 0;
  private lastSent: Uint8Array | undefined;
  private receipt: { done(): void; fail(err: Error): void } | undefined;
  private readonly started = performance.now();

  constructor(
    private readonly state: EsubState,
    private readonly deliverer: Deliverer,
    readonly pool: Pool,
    readonly ws: MessageSocket,
    readonly client: Client,
    private readonly members: Set<Member>,
  ) {
    members.add(this);
    client.onUnregistered = () => this.kill(CloseCode.takenOver, false);
    client.onClose = () => this.kill(CloseCode.shutdown, false);
  }

  // --- WebSocketHandler ---

  onPing(): void {
    this.lastSeen = performance.now();
    this.heard = true;
  }

  onPong(): void {
    this.lastSeen = performance.now();
    this.heard = true;
  }

  onMessage(): void {
    this.lastSeen = performance.now();
    this.heard = true;
    const r = this.receipt;
    this.receipt = undefined;
    r?.done();
  }

  /** Protocol errors: the stack closes the socket (1002/1007/1008/1009); onClose follows. */
  onProtocolError(): void {}

  /** A member that vanished without a close frame (1006) has its last message redirected. */
  onClose(peerCode?: number): void {
    this.kill(undefined, peerCode === undefined && !this.state.opts.confirmReceipt);
  }

  /** One delivery: resolves when the message is written (keepalive) or confirmed (receipt mode). */
  async deliver(data: Uint8Array): Promise<void> {
    if (!this.alive) throw new RouterError(ErrorUri.canceled, 'psub member gone');
    if (!this.ws.isOpen) {
      this.kill(undefined, !this.state.opts.confirmReceipt);
      throw new RouterError(ErrorUri.canceled, 'psub member unreachable');
    }
    // Written once it is in the socket's queue (compressed if the stack's compression is configured).
    this.ws.send(Buffer.from(data.buffer, data.byteOffset, data.byteLength), !isText(data));
    if (!this.state.opts.confirmReceipt) {
      this.lastSent = data;
      return;
    }
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => {
        this.receipt = undefined;
        this.kill(CloseCode.receiptTimeout, false);
        fail(new RouterError(ErrorUri.canceled, 'no read receipt'));
      }, this.state.opts.receiptTimeoutMs);
      this.receipt = {
        done: () => {
          clearTimeout(timer);
          done();
        },
        fail: (err) => {
          clearTimeout(timer);
          fail(err);
        },
      };
    });
  }

  /** Ends the member. `frame` undefined: the socket is closed already. */
  kill(frame: CloseFrame | undefined, redirect: boolean): void {
    if (!this.alive) return;
    this.alive = false;
    this.members.delete(this);
    const pool = this.pool;
    const idx = pool.members.indexOf(this);
    if (idx >= 0) pool.members.splice(idx, 1);
    if (pool.members.length === 0 && this.state.pools.get(pool.key) === pool) this.state.pools.delete(pool.key);
    // Leaving the router first: an invocation in flight fails now, and the rep tries the next member.
    this.client.close();
    const r = this.receipt;
    this.receipt = undefined;
    r?.fail(new RouterError(ErrorUri.canceled, 'psub member gone'));
    if (frame) {
      this.state.metrics.socketsClosed.inc({ reason: frame.reason });
      if (this.ws.isOpen) {
        this.ws.close(frame.code, frame.reason);
        setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
      } else {
        this.ws.terminate();
      }
    }
    this.state.metrics.observe('psub', 'GET', this.started, false, pool.token !== '');
    if (redirect && this.lastSent) this.deliverer.redirect(pool.key, pool.token, this.lastSent);
    this.lastSent = undefined;
  }
}

export class PsubServer {
  private readonly wss: WebSocketServer;
  private readonly members = new Set<Member>();
  private readonly pinger: NodeJS.Timeout;

  constructor(
    private readonly state: EsubState,
    private readonly deliverer: Deliverer,
  ) {
    this.wss = createWebSocketServer({
      limits: { maxMessageBytes: 64 * 1024, ...state.opts.websocket },
      subprotocol: () => undefined,
      accept: (ws, req) => this.join(ws, req),
      onError: (err) => state.opts.logger.error({ err }, 'esub: psub handler failed'),
    });
    this.pinger = setInterval(() => this.keepalive(), Math.max(10, state.opts.pingFrequencyMs / 2));
    this.pinger.unref();
  }

  get memberCount(): number {
    return this.members.size;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, key: string, token: string, shared: boolean): void {
    this.joining.set(req, { key, token, shared });
    this.wss.handleUpgrade(req, socket, head);
    this.joining.delete(req);
  }

  /** What handleUpgrade was told about the request being accepted. */
  private readonly joining = new WeakMap<IncomingMessage, { key: string; token: string; shared: boolean }>();

  /** Registration happens after the 101, as in the original; a refusal is a close frame. */
  private join(ws: MessageSocket, req: IncomingMessage): WebSocketHandler {
    const { key, token, shared } = this.joining.get(req) as { key: string; token: string; shared: boolean };
    const refused: WebSocketHandler = { onMessage() {}, onProtocolError() {}, onClose() {} };
    const refuse = (frame: CloseFrame): WebSocketHandler => {
      this.state.metrics.socketsClosed.inc({ reason: frame.reason });
      queueMicrotask(() => ws.close(frame.code, frame.reason));
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
      return refused;
    };
    if (this.state.closing) return refuse(CloseCode.shutdown);
    const existing = this.state.pools.get(key);
    if (existing) {
      // One token per pool: a shared joiner must bring the pool's token; an exclusive takeover is
      // refused only when the holder has a token and it differs (like a sub).
      if (shared ? existing.token !== token : existing.token !== '' && existing.token !== token) return refuse(CloseCode.invalidToken);
      if (existing.shared !== shared) return refuse(CloseCode.sharedMismatch);
    }
    let client: Client;
    try {
      client = this.state.connect(this.state.upgrades.get(req) as Identity);
    } catch {
      return refuse(CloseCode.overloaded);
    }
    const pool: Pool = existing && shared ? existing : { key, shared, token, members: [] };
    const member = new Member(this.state, this.deliverer, pool, ws, client, this.members);
    pool.members.push(member);
    this.state.pools.set(key, pool);
    const options: Record<string, unknown> = { match: 'wildcard', invoke: shared ? 'roundrobin' : 'single', force_reregister: !shared };
    if (this.state.opts.confirmReceipt) options.concurrency = 1;
    client.register(procedureOf(key), (inv) => member.deliver(inv.payload.bytes), options).catch((err: unknown) => {
      const uri = err instanceof RouterError ? err.uri : '';
      if (this.state.pools.get(key) === pool && pool.members.length === 1 && existing && !shared && existing.members.length > 0) {
        this.state.pools.set(key, existing); // the takeover did not happen: the old pool stays
      }
      member.kill(uri === ErrorUri.procedureAlreadyExists ? CloseCode.keyInUse : uri === ErrorUri.notAuthorized ? CloseCode.notAuthorized : CloseCode.overloaded, false);
    });
    return member;
  }

  /**
   * Pings every member; prunes those silent for longer than the ping frequency and through two
   * ticks in a row. The tick count keeps a starved bridge from pruning everyone: when this process
   * stalls, wall time passes but its members had no chance to be heard. The verdict waits for
   * setImmediate, after the event loop's I/O phase: after a stall the timer runs before the sockets
   * are read, and a pong that arrived meanwhile must count.
   */
  private keepalive(): void {
    setImmediate(() => this.pingOrPrune());
  }

  private pingOrPrune(): void {
    const now = performance.now();
    for (const m of [...this.members]) {
      m.missedTicks = m.heard ? 0 : m.missedTicks + 1;
      m.heard = false;
      if (m.missedTicks >= 2 && now - m.lastSeen > this.state.opts.pingFrequencyMs) {
        m.kill(CloseCode.keepaliveTimeout, !this.state.opts.confirmReceipt);
      } else if (m.ws.isOpen) {
        m.ws.ping();
      }
    }
  }

  close(): void {
    clearInterval(this.pinger);
    for (const m of [...this.members]) m.kill(CloseCode.shutdown, false);
    this.wss.close();
  }
}

// Phase 2: reps kept in the router's store (SQLite by default, so they survive a restart) with a
// TTL, and handed out oldest first by GET /rsub/:key. Each stored record carries the rep's token;
// only a request with the same token gets it back. Operations on one key run one at a time, so
// the order holds while a take puts the records it does not hand out back.
import type { EsubState } from './state.ts';

interface StoredRep {
  token: string;
  /** ms since epoch. */
  expiresAt: number;
  data: Uint8Array;
}

const FORMAT = 1;

function encode(rep: StoredRep): Uint8Array {
  const head = Buffer.from(JSON.stringify({ t: rep.token, x: rep.expiresAt }));
  const out = Buffer.allocUnsafe(5 + head.length + rep.data.length);
  out[0] = FORMAT;
  out.writeUInt32BE(head.length, 1);
  head.copy(out, 5);
  out.set(rep.data, 5 + head.length);
  return out;
}

function decode(raw: Uint8Array): StoredRep | undefined {
  try {
    const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (b[0] !== FORMAT || b.length < 5) return undefined;
    const n = b.readUInt32BE(1);
    const head = JSON.parse(b.subarray(5, 5 + n).toString('utf8')) as { t?: unknown; x?: unknown };
    if (typeof head.t !== 'string' || typeof head.x !== 'number') return undefined;
    return { token: head.t, expiresAt: head.x, data: b.subarray(5 + n) };
  } catch {
    return undefined;
  }
}

export type TakeResult = { kind: 'rep'; data: Uint8Array; remaining: number } | { kind: 'none' } | { kind: 'token' };

export class ReplayStore {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly state: EsubState) {}

  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return run;
  }

  private put(key: string, rep: StoredRep): Promise<void> {
    const ttl = rep.expiresAt - Date.now();
    if (ttl <= 0) return Promise.resolve();
    return this.state.caller.storeReply(key, encode(rep), ttl);
  }

  /** Takes every stored rep of `key` out of the store; the live ones come back, oldest first. */
  private async takeLive(key: string): Promise<StoredRep[]> {
    const now = Date.now();
    return (await this.state.caller.takeReplies(key)).map(decode).filter((r): r is StoredRep => r !== undefined && r.expiresAt > now);
  }

  /** Keeps a rep for /rsub; resolves to false (and logs) if the store refused it. */
  store(key: string, token: string, data: Uint8Array): Promise<boolean> {
    const rep = { token, data, expiresAt: Date.now() + this.state.opts.storeTtlMs };
    return this.serial(key, () => this.put(key, rep)).then(
      () => {
        this.state.metrics.stored.inc();
        return true;
      },
      (err: unknown) => {
        this.state.opts.logger.error({ err, key }, 'esub: storing a rep failed');
        return false;
      },
    );
  }

  /** Takes the oldest stored rep of `key` made with `token`; the others stay, in order. */
  take(key: string, token: string): Promise<TakeResult> {
    return this.serial(key, async () => {
      const all = await this.takeLive(key);
      const idx = all.findIndex((r) => r.token === token);
      const found = idx >= 0 ? all.splice(idx, 1)[0] : undefined;
      // Put the rest back before answering, in their order.
      await Promise.all(all.map((r) => this.put(key, r)));
      if (!found) return all.length > 0 ? { kind: 'token' } : { kind: 'none' };
      return { kind: 'rep', data: found.data, remaining: all.filter((r) => r.token === token).length };
    });
  }

  /** True when a live rep of `key` is stored (read by taking them and putting them back, in order). */
  holds(key: string): Promise<boolean> {
    return this.serial(key, async () => {
      const live = await this.takeLive(key);
      await Promise.all(live.map((r) => this.put(key, r)));
      return live.length > 0;
    });
  }

  /** Puts back a rep whose /rsub response never reached its client (it goes to the end of the line). */
  giveBack(key: string, token: string, data: Uint8Array): Promise<boolean> {
    return this.store(key, token, data);
  }
}

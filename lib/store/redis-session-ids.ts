// Session ids unique cluster-wide: each is claimed in Redis (SET NX) before a session may use it.
// Sessions attach synchronously, so each node keeps a small pool of ids it has already claimed and
// refills it in the background; an empty pool (Redis unreachable for a while) refuses new sessions
// with a clear error rather than risking a duplicate. Claimed ids are listed per node, so the node
// that cleans up after a dead one (a later step) knows which to free.
import type { Redis } from 'ioredis';
import { ErrorUri, RouterError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';

const POOL_TARGET = 64;
const POOL_LOW = 32;

// KEYS[1] the node's id set; ARGV[1] node, ARGV[2] key prefix, ARGV[3..] candidate ids. Returns the ids claimed.
// The id keys share KEYS[1]'s hash tag (built from the prefix), so a Redis Cluster keeps them in one slot.
const CLAIM_LUA = `
local out = {}
for i = 3, #ARGV do
  if redis.call('SET', ARGV[2] .. ARGV[i], ARGV[1], 'NX') then
    redis.call('SADD', KEYS[1], ARGV[i])
    out[#out + 1] = ARGV[i]
  end
end
return out
`;

const RELEASE_LUA = `
local key = ARGV[2] .. ARGV[3]
if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
redis.call('SREM', KEYS[1], ARGV[3])
return 0
`;

interface SessionIdRedis extends Redis {
  kitsuneClaimIds(nodeSet: string, node: string, prefix: string, ...ids: string[]): Promise<string[]>;
  kitsuneReleaseId(nodeSet: string, node: string, prefix: string, id: string): Promise<number>;
}

export class SessionIdPool {
  private readonly pool: number[] = [];
  private refilling: Promise<void> | undefined;
  private readonly redis: SessionIdRedis;

  constructor(
    redis: Redis,
    private readonly node: string,
    private readonly keys: { idPrefix: string; nodeSet: string },
    private readonly failed: (err: unknown) => void,
  ) {
    redis.defineCommand('kitsuneClaimIds', { numberOfKeys: 1, lua: CLAIM_LUA });
    redis.defineCommand('kitsuneReleaseId', { numberOfKeys: 1, lua: RELEASE_LUA });
    this.redis = redis as SessionIdRedis;
  }

  /** Fills the pool (rejects when Redis cannot be reached). */
  fill(): Promise<void> {
    return (this.refilling ??= this.claim().finally(() => (this.refilling = undefined)));
  }

  private async claim(): Promise<void> {
    const wanted = POOL_TARGET - this.pool.length;
    if (wanted <= 0) return;
    const candidates = Array.from({ length: wanted }, () => String(randomId()));
    const claimed = await this.redis.kitsuneClaimIds(this.keys.nodeSet, this.node, this.keys.idPrefix, ...candidates);
    for (const id of claimed) this.pool.push(Number(id));
  }

  take(): number {
    const id = this.pool.pop();
    if (this.pool.length < POOL_LOW) this.fill().catch(this.failed);
    if (id === undefined) throw new RouterError(ErrorUri.unavailable, 'no session id can be claimed now: the cluster (Redis) is unreachable');
    return id;
  }

  release(id: number): void {
    this.redis.kitsuneReleaseId(this.keys.nodeSet, this.node, this.keys.idPrefix, String(id)).catch(this.failed);
  }
}

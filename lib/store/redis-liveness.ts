// Node liveness in Redis by heartbeat lease (not keyspace notifications: those are lost while a
// node is disconnected and fire late). The nodes are a sorted set scored by lease expiry, in
// Redis's clock. One script renews this node's lease, claims the nodes whose lease expired and
// announces joins and deaths on the control channel — write and notify in one step, so every node
// hears of a death exactly when it happened in Redis's order.
import type { Redis } from 'ioredis';

export const HEARTBEAT_MS = 1_000;
export const LEASE_MS = 3_000;
/** How often expired leases are looked for (beats renew only every HEARTBEAT_MS). */
export const SWEEP_MS = 250;

// KEYS[1] nodes (sorted set), KEYS[2] control channel. ARGV[1] node, ARGV[2] lease ms, ARGV[3] '1' to renew.
// Returns {joined: 0|1 (0: this node was not in the set: first beat, or declared dead), alive nodes}.
const LIVENESS_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local known = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ARGV[3] == '1' or known then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
end
if ARGV[3] == '1' and not known then redis.call('PUBLISH', KEYS[2], 'join ' .. ARGV[1]) end
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
for _, n in ipairs(dead) do
  redis.call('ZREM', KEYS[1], n)
  redis.call('PUBLISH', KEYS[2], 'dead ' .. n)
end
return {known and 1 or 0, redis.call('ZRANGE', KEYS[1], 0, -1)}
`;

const LEAVE_LUA = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then redis.call('PUBLISH', KEYS[2], 'left ' .. ARGV[1]) end
return 0
`;

/** A connection with the liveness scripts defined (ioredis adds defined commands as methods). */
export interface LivenessRedis extends Redis {
  kitsuneLiveness(nodesKey: string, control: string, node: string, leaseMs: string, renew: '0' | '1'): Promise<[number, string[]]>;
  kitsuneLeave(nodesKey: string, control: string, node: string): Promise<number>;
}

export function defineLiveness(redis: Redis): LivenessRedis {
  redis.defineCommand('kitsuneLiveness', { numberOfKeys: 2, lua: LIVENESS_LUA });
  redis.defineCommand('kitsuneLeave', { numberOfKeys: 2, lua: LEAVE_LUA });
  return redis as LivenessRedis;
}

export interface LivenessEvents {
  /** This node's beat found it missing after it had joined: another node declared it dead. */
  declaredDead(): void;
  alive(nodes: string[]): void;
  failed(err: unknown): void;
}

/** Runs the beat and the sweep on timers until stopped. */
export class Liveness {
  private beatTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private joined = false;
  private lastBeat = 0;
  private running = false;

  constructor(
    private readonly redis: LivenessRedis,
    private readonly keys: { nodes: string; control: string },
    private readonly node: string,
    private readonly events: LivenessEvents,
  ) {}

  /** Joins (the first beat) and starts the timers. */
  async start(): Promise<void> {
    await this.step(true);
    this.beatTimer = setInterval(() => void this.step(true), HEARTBEAT_MS);
    this.sweepTimer = setInterval(() => {
      // A sweep that would land on a beat's tick is the beat's job.
      if (Date.now() - this.lastBeat > SWEEP_MS) void this.step(false);
    }, SWEEP_MS);
    this.beatTimer.unref();
    this.sweepTimer.unref();
  }

  private async step(renew: boolean): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      if (renew) this.lastBeat = Date.now();
      const [known, alive] = await this.redis.kitsuneLiveness(this.keys.nodes, this.keys.control, this.node, String(LEASE_MS), renew ? '1' : '0');
      if (renew && known === 0 && this.joined) this.events.declaredDead();
      if (renew) this.joined = true;
      this.events.alive(alive);
    } catch (err) {
      this.events.failed(err);
    } finally {
      this.running = false;
    }
  }

  /** Stops the timers and gives up the lease (the other nodes hear 'left', not 'dead'). */
  async stop(): Promise<void> {
    clearInterval(this.beatTimer);
    clearInterval(this.sweepTimer);
    await this.redis.kitsuneLeave(this.keys.nodes, this.keys.control, this.node).catch(() => undefined);
  }
}

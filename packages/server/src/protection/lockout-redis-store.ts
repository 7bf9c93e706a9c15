import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  type FailureCount,
  type Lockout,
  type LockoutBackend,
  type LockoutSettings,
  type LockState,
  lockDecision,
} from './lockout.js';

// The counting rule of LockoutBackend, applied atomically in Redis. KEYS: the address's hash,
// the registry of locked addresses. ARGV: now, window ms, lock ms, attempts, address.
// Returns the count and the lock's end (0 when none), and 1 when this failure started it.
const FAIL = `
local now = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'failures', 'window_ends_at', 'locked_until')
local failures = tonumber(h[1]) or 0
local window_ends = tonumber(h[2]) or 0
local locked_until = tonumber(h[3]) or 0
if locked_until > now then return {failures, locked_until, 0} end
if window_ends <= now then
  failures = 0
  window_ends = now + tonumber(ARGV[2])
end
failures = failures + 1
local started = 0
if failures >= tonumber(ARGV[4]) then
  locked_until = now + tonumber(ARGV[3])
  window_ends = locked_until
  started = 1
  redis.call('ZADD', KEYS[2], locked_until, ARGV[5])
else
  locked_until = 0
end
redis.call('HSET', KEYS[1], 'failures', failures, 'window_ends_at', window_ends, 'locked_until', locked_until)
redis.call('PEXPIREAT', KEYS[1], window_ends)
return {failures, locked_until, started}
`;

// A success forgets the failures of an address that is not locked. ARGV: now.
const SUCCEED = `
local locked_until = tonumber(redis.call('HGET', KEYS[1], 'locked_until')) or 0
if locked_until <= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) end
return 0
`;

// Lifts a lock and forgets the failures. ARGV: now, address. Returns 1 when it was locked.
const CLEAR = `
local locked_until = tonumber(redis.call('HGET', KEYS[1], 'locked_until')) or 0
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
if locked_until > tonumber(ARGV[1]) then return 1 end
return 0
`;

type Scripted = Redis & {
  lockoutFail(
    hash: string,
    registry: string,
    ...args: (string | number)[]
  ): Promise<[number, number, number]>;
  lockoutSucceed(hash: string, now: number): Promise<number>;
  lockoutClear(hash: string, registry: string, now: number, address: string): Promise<number>;
};

/**
 * Lockouts in Redis, shared by every instance on it and by `latchkey lockouts`: one hash per
 * address (`<prefix>:lockout:<address>`, expiring with its window or lock) and a sorted
 * set of the locked addresses (`<prefix>:lockouts`). Each change is one script, so
 * concurrent failures from several instances count exactly. The check reads the hash, one
 * round trip, so a lock or a clear anywhere counts at once.
 *
 * While Redis cannot be reached, the check lets requests through and failures go uncounted
 * (each logged): the rate limits, which fall back to this process's memory, still bound
 * how many attempts an address can make.
 */
export class RedisLockoutStore implements LockoutBackend {
  private readonly redis: Scripted;
  private readonly registry: string;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly settings: LockoutSettings,
    private readonly logger: Logger,
  ) {
    redis.defineCommand('lockoutFail', { numberOfKeys: 2, lua: FAIL });
    redis.defineCommand('lockoutSucceed', { numberOfKeys: 1, lua: SUCCEED });
    redis.defineCommand('lockoutClear', { numberOfKeys: 2, lua: CLEAR });
    this.redis = redis as Scripted;
    this.registry = `${prefix}:lockouts`;
  }

  private hash(address: string): string {
    return `${this.prefix}:lockout:${address}`;
  }

  async state(address: string, now: number): Promise<LockState> {
    let failures: string | null | undefined;
    let windowEnds: string | null | undefined;
    let lockedUntil: string | null | undefined;
    try {
      [failures, windowEnds, lockedUntil] = await this.redis.hmget(
        this.hash(address),
        'failures',
        'window_ends_at',
        'locked_until',
      );
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not read a lockout from Redis; not checked');
      return { locked: false, failures: 0, retryAfterS: 0 };
    }
    const { locked, retryAfterS } = lockDecision(Number(lockedUntil ?? 0), now);
    if (locked) return { locked, failures: this.settings.attempts, retryAfterS };
    return { locked, failures: Number(windowEnds ?? 0) > now ? Number(failures ?? 0) : 0, retryAfterS };
  }

  async fail(address: string, now: number): Promise<FailureCount> {
    const { attempts, windowS, durationS } = this.settings;
    let counted: [number, number, number];
    try {
      counted = await this.redis.lockoutFail(
        this.hash(address),
        this.registry,
        now,
        windowS * 1000,
        durationS * 1000,
        attempts,
        address,
      );
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not count a failure in Redis');
      return { failures: 0, lock: undefined };
    }
    const [failures, lockedUntil, started] = counted;
    return { failures, lock: started ? { address, lockedUntil: new Date(lockedUntil) } : undefined };
  }

  async succeed(address: string, now: number): Promise<void> {
    try {
      await this.redis.lockoutSucceed(this.hash(address), now);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not forget failures in Redis');
    }
  }

  async list(now: number): Promise<Lockout[]> {
    await this.redis.zremrangebyscore(this.registry, '-inf', now);
    const flat = await this.redis.zrangebyscore(this.registry, `(${now}`, '+inf', 'WITHSCORES');
    const out: Lockout[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      out.push({ address: flat[i] as string, lockedUntil: new Date(Number(flat[i + 1])) });
    }
    return out;
  }

  async clear(address: string, now: number): Promise<boolean> {
    return (await this.redis.lockoutClear(this.hash(address), this.registry, now, address)) === 1;
  }

  async close(): Promise<void> {}
}

import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';

/**
 * Where counters live: this process's memory, or Redis so that every instance shares
 * them. Redis-backed limiters fall back to memory while Redis is unreachable, so an
 * outage degrades to per-instance limits instead of refusing every request.
 */
export class LimiterStore {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(
    readonly redis: Redis | undefined,
    private readonly prefix: string,
  ) {}

  /** A limiter counting `points` per `durationS` under `name`; created once and reused. */
  limiter(name: string, points: number, durationS: number): RateLimiterAbstract {
    const id = `${name}:${points}:${durationS}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      const keyPrefix = `${this.prefix}:${id}`;
      const memory = new RateLimiterMemory({ points, duration: durationS, keyPrefix });
      limiter = this.redis
        ? new RateLimiterRedis({
            storeClient: this.redis,
            points,
            duration: durationS,
            keyPrefix,
            insuranceLimiter: memory,
          })
        : memory;
      this.limiters.set(id, limiter);
    }
    return limiter;
  }
}

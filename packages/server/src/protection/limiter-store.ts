import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterCluster,
  RateLimiterMemory,
  RateLimiterRedis,
} from 'rate-limiter-flexible';

/**
 * Where counters live: this process's memory; the primary process's memory when this is a
 * worker of `latchkey serve --workers N` (rate-limiter-flexible's cluster limiter asks the
 * primary over the cluster's IPC channel, so every worker counts against one counter); or
 * Redis, so that every instance shares them. Redis-backed limiters fall back to memory while
 * Redis is unreachable, so an outage degrades to per-instance limits instead of refusing
 * every request.
 */
export class LimiterStore {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(
    readonly redis: Redis | undefined,
    private readonly prefix: string,
    /** Count in the cluster's primary process (a worker without Redis). */
    private readonly inPrimary = false,
  ) {}

  /** A limiter counting `points` per `durationS` under `name`; created once and reused. */
  limiter(name: string, points: number, durationS: number): RateLimiterAbstract {
    const id = `${name}:${points}:${durationS}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      const keyPrefix = `${this.prefix}:${id}`;
      if (!this.redis && this.inPrimary) {
        limiter = new RateLimiterCluster({ points, duration: durationS, keyPrefix, timeoutMs: 5000 });
        this.limiters.set(id, limiter);
        return limiter;
      }
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

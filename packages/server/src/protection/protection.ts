import type { RequestCounter, RulesConfig, WindowCount } from '@latchkey/core';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { LimiterStore } from './limiter-store.js';
import { LockoutGuard, type LockoutSettings } from './lockout.js';

/**
 * Where the counts behind rate limits and lockouts live: this process's memory, or Redis
 * shared by every instance (LATCHKEY_REDIS_URL). The decisions are the core's.
 */
export class ProtectionStores {
  readonly requests: RequestCounter;
  readonly lockouts: LockoutGuard;

  private constructor(
    private readonly store: LimiterStore,
    lockout: LockoutSettings,
    prefix: string,
  ) {
    this.lockouts = new LockoutGuard(store, lockout, prefix);
    this.requests = {
      consume: async (identity, limit, windowS, cost): Promise<WindowCount> => {
        let res: RateLimiterRes;
        try {
          res = await store.limiter('requests', limit, windowS).consume(identity, cost);
        } catch (err) {
          if (!(err instanceof RateLimiterRes)) throw err;
          res = err;
        }
        return { consumed: res.consumedPoints, msBeforeReset: res.msBeforeNext };
      },
    };
  }

  static async open(
    config: Pick<RulesConfig, 'lockoutAttempts' | 'lockoutWindowS' | 'lockoutDurationS'> & {
      redisUrl: string | undefined;
      redisPrefix: string;
    },
    logger: Logger,
  ): Promise<ProtectionStores> {
    let redis: Redis | undefined;
    if (config.redisUrl) {
      redis = new Redis(config.redisUrl, {
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
      });
      redis.on('error', (err) => logger.warn({ err: err.message }, 'redis error'));
      await redis.connect();
    }
    return new ProtectionStores(
      new LimiterStore(redis, config.redisPrefix),
      {
        attempts: config.lockoutAttempts,
        windowS: config.lockoutWindowS,
        durationS: config.lockoutDurationS,
      },
      config.redisPrefix,
    );
  }

  async close(): Promise<void> {
    await this.store.redis?.quit().catch(() => {});
  }
}

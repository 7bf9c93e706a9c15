import type { RequestCounter, RulesConfig, WindowCount } from '@latchkey/core';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Database } from '../db/database.types.js';
import { LimiterStore } from './limiter-store.js';
import { LockoutGuard, type LockoutSettings } from './lockout.js';
import { DatabaseLockoutStore } from './lockout-database-store.js';
import { RedisLockoutStore } from './lockout-redis-store.js';

/**
 * Where the counts behind rate limits and lockouts live. With LATCHKEY_REDIS_URL both live
 * in Redis, shared by every instance; without, rate limits live in this process's memory (in
 * the primary's, for the workers of `latchkey serve --workers N`) and lockouts in the
 * database, so that `latchkey lockouts` and every process on the database see them. The
 * decisions are the core's.
 */
export class ProtectionStores {
  readonly requests: RequestCounter;

  private constructor(
    private readonly store: LimiterStore,
    readonly lockouts: LockoutGuard,
  ) {
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
    db: Kysely<Database>,
    /** A worker of `latchkey serve --workers N`: without Redis, rate limits are counted by the primary. */
    clusterWorker = false,
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
    const settings: LockoutSettings = {
      attempts: config.lockoutAttempts,
      windowS: config.lockoutWindowS,
      durationS: config.lockoutDurationS,
    };
    let lockouts: LockoutGuard;
    if (redis) {
      lockouts = new LockoutGuard(
        new RedisLockoutStore(redis, config.redisPrefix, settings, logger),
        settings,
      );
    } else {
      const backend = new DatabaseLockoutStore(db, settings, logger);
      await backend.watch();
      lockouts = new LockoutGuard(backend, settings);
    }
    return new ProtectionStores(new LimiterStore(redis, config.redisPrefix, clusterWorker), lockouts);
  }

  async close(): Promise<void> {
    await this.lockouts.close();
    await this.store.redis?.quit().catch(() => {});
  }
}

import { ApiError } from '@latchkey/core';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { AuditService } from '../audit/audit.service.js';
import type { Principal } from '../auth/credential.js';
import type { Config } from '../config/config.js';
import type { Database } from '../db/database.types.js';
import { resolveClientIp } from './client-ip.js';
import { LimiterStore } from './limiter-store.js';
import { type FailureCount, LockoutGuard, type LockoutSettings } from './lockout.js';
import { DatabaseLockoutStore } from './lockout-database-store.js';
import { RedisLockoutStore } from './lockout-redis-store.js';
import { decideRateLimit, type RateLimitDecision, type RateLimitPolicy } from './rate-limit.js';

/**
 * Rate limits per credential (per address when anonymous) and lockout of addresses
 * after failed authentications. With LATCHKEY_REDIS_URL both live in Redis, shared by
 * every instance; without, rate limits live in this process's memory and lockouts in the
 * database.
 */
export class Protection {
  readonly lockouts: LockoutGuard;
  private readonly store: LimiterStore;

  private constructor(
    private readonly config: Config,
    private readonly audit: AuditService,
    redis: Redis | undefined,
    lockouts: LockoutGuard,
  ) {
    this.store = new LimiterStore(redis, config.redisPrefix);
    this.lockouts = lockouts;
  }

  /**
   * Rate limits in memory, or Redis with LATCHKEY_REDIS_URL; lockouts in Redis then, or
   * else in the database, so that `latchkey lockouts` and every process on the database see
   * them.
   */
  static async create(
    config: Config,
    audit: AuditService,
    logger: Logger,
    db: Kysely<Database>,
  ): Promise<Protection> {
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
      const store = new DatabaseLockoutStore(db, settings, logger);
      await store.watch();
      lockouts = new LockoutGuard(store, settings);
    }
    return new Protection(config, audit, redis, lockouts);
  }

  clientIp(socketAddress: string, forwardedFor: string): string {
    return resolveClientIp(socketAddress, forwardedFor, this.config.trustedProxies);
  }

  /** Refuses a locked-out address with 429, whatever credential it brings. */
  async assertNotLockedOut(address: string): Promise<{ failures: number }> {
    const state = await this.lockouts.state(address);
    if (state.locked) {
      throw new ApiError(
        'LOCKED_OUT',
        `Too many failed authentication attempts from this address; try again in ${state.retryAfterS} seconds.`,
        { headers: { 'Retry-After': String(state.retryAfterS) }, retryAfter: state.retryAfterS },
      );
    }
    return { failures: state.failures };
  }

  /**
   * Counts a failed authentication and records the lock it may start. With a detail, the
   * failure itself is audited too (password endpoints audit their own failures).
   */
  async recordFailure(address: string, detail?: string): Promise<FailureCount> {
    const counted = await this.lockouts.fail(address);
    const { lock } = counted;
    if (lock) {
      await this.audit.record({
        action: 'auth.locked_out',
        outcome: 'failure',
        actor: { clientIp: address },
        target: { type: 'address', id: address },
        detail: `locked until ${lock.lockedUntil.toISOString()} after ${this.config.lockoutAttempts} failures`,
      });
    }
    if (detail !== undefined) {
      await this.audit.record({
        action: 'auth.failed',
        outcome: 'failure',
        actor: { clientIp: address },
        detail,
      });
    }
    return counted;
  }

  async recordSuccess(address: string, failures: number): Promise<void> {
    if (failures > 0) await this.lockouts.succeed(address);
  }

  /** The policy that applies: a key's own limit, or the server's. */
  policyFor(principal: Principal | undefined): RateLimitPolicy {
    const key = principal?.key;
    if (key && key.rate_limit !== null && key.rate_window_s !== null) {
      return { name: 'key', limit: key.rate_limit, windowS: key.rate_window_s };
    }
    return { name: 'default', limit: this.config.rateLimit, windowS: this.config.rateWindowS };
  }

  /** Counts one request of the caller and decides; the count is atomic in the store. */
  async consume(
    principal: Principal | undefined,
    address: string,
    now: number = Date.now(),
  ): Promise<RateLimitDecision> {
    const policy = this.policyFor(principal);
    const identity = principal
      ? principal.key
        ? `key:${principal.key.id}`
        : `user:${principal.user.id}`
      : `ip:${address}`;
    const limiter = this.store.limiter('requests', policy.limit, policy.windowS);
    let res: RateLimiterRes;
    try {
      res = await limiter.consume(identity);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      res = err;
    }
    return decideRateLimit(policy, { consumed: res.consumedPoints, msBeforeReset: res.msBeforeNext }, now);
  }

  async close(): Promise<void> {
    await this.lockouts.close();
    await this.store.redis?.quit().catch(() => {});
  }
}

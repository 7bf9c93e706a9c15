import { ApiError } from '@latchkey/core';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { AuditService } from '../audit/audit.service.js';
import type { Principal } from '../auth/credential.js';
import type { Config } from '../config/config.js';
import { type Metrics, NO_METRICS } from '../metrics/metrics.js';
import { resolveClientIp } from './client-ip.js';
import { LimiterStore } from './limiter-store.js';
import { LockoutGuard } from './lockout.js';
import { decideRateLimit, type RateLimitDecision, type RateLimitPolicy } from './rate-limit.js';

/**
 * Rate limits per credential (per address when anonymous) and lockout of addresses
 * after failed authentications, in memory or, with LATCHKEY_REDIS_URL, in Redis shared
 * by every instance.
 */
export class Protection {
  readonly lockouts: LockoutGuard;
  private readonly store: LimiterStore;

  private constructor(
    private readonly config: Config,
    private readonly audit: AuditService,
    redis: Redis | undefined,
    private readonly metrics: Metrics,
  ) {
    this.store = new LimiterStore(redis, config.redisPrefix);
    this.lockouts = new LockoutGuard(
      this.store,
      {
        attempts: config.lockoutAttempts,
        windowS: config.lockoutWindowS,
        durationS: config.lockoutDurationS,
      },
      config.redisPrefix,
    );
  }

  static async create(
    config: Config,
    audit: AuditService,
    logger: Logger,
    metrics: Metrics = NO_METRICS,
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
    return new Protection(config, audit, redis, metrics);
  }

  clientIp(socketAddress: string, forwardedFor: string): string {
    return resolveClientIp(socketAddress, forwardedFor, this.config.trustedProxies);
  }

  /** Refuses a locked-out address with 429, whatever credential it brings. */
  async assertNotLockedOut(address: string): Promise<{ failures: number }> {
    const state = await this.lockouts.state(address);
    if (state.locked) {
      this.metrics.lockedOutRefusal();
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
  async recordFailure(address: string, detail?: string): Promise<void> {
    const lock = await this.lockouts.fail(address);
    if (lock) {
      this.metrics.lockoutStarted();
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
    await this.store.redis?.quit().catch(() => {});
  }
}

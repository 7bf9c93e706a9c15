import type { Lockout, LockoutStore, LockState } from '@latchkey/core';
import type { Redis } from 'ioredis';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { LimiterStore } from './limiter-store.js';

export interface LockoutSettings {
  attempts: number;
  windowS: number;
  durationS: number;
}

/**
 * Locks a client address out after too many failed authentications in a window. Counts
 * live in the limiter store (memory or Redis); locked addresses are also listed in a
 * registry so that admins can see and clear them.
 */
export class LockoutGuard implements LockoutStore {
  private readonly memoryRegistry = new Map<string, number>();
  private readonly registryKey: string;

  constructor(
    private readonly store: LimiterStore,
    readonly settings: LockoutSettings,
    prefix: string,
  ) {
    this.registryKey = `${prefix}:lockouts`;
  }

  private get failures() {
    // One point per failure; a lock is a block of the key beyond the points.
    return this.store.limiter('auth-failures', this.settings.attempts, this.settings.windowS);
  }

  private get redis(): Redis | undefined {
    return this.store.redis;
  }

  async state(address: string): Promise<LockState> {
    const res = await this.failures.get(address);
    if (!res) return { locked: false, failures: 0, retryAfterS: 0 };
    const locked = res.consumedPoints > this.settings.attempts;
    return {
      locked,
      failures: Math.min(res.consumedPoints, this.settings.attempts),
      retryAfterS: locked ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : 0,
    };
  }

  /** Counts a failure; returns the failures so far, and the lock when this failure started one. */
  async fail(
    address: string,
    now: number = Date.now(),
  ): Promise<{ failures: number; lock: Lockout | undefined }> {
    let consumed: number;
    try {
      consumed = (await this.failures.consume(address)).consumedPoints;
    } catch (err) {
      if (err instanceof RateLimiterRes) return { failures: err.consumedPoints, lock: undefined };
      throw err;
    }
    if (consumed < this.settings.attempts) return { failures: consumed, lock: undefined };
    await this.failures.block(address, this.settings.durationS);
    const lockedUntil = now + this.settings.durationS * 1000;
    if (this.redis) {
      await this.redis.zadd(this.registryKey, lockedUntil, address);
    } else {
      this.memoryRegistry.set(address, lockedUntil);
    }
    return { failures: consumed, lock: { address, lockedUntil: new Date(lockedUntil) } };
  }

  /** A success before the lock forgets the failures. */
  async succeed(address: string): Promise<void> {
    await this.failures.delete(address);
  }

  async list(now: number = Date.now()): Promise<Lockout[]> {
    let entries: [string, number][];
    if (this.redis) {
      await this.redis.zremrangebyscore(this.registryKey, '-inf', now);
      const flat = await this.redis.zrangebyscore(this.registryKey, now, '+inf', 'WITHSCORES');
      entries = [];
      for (let i = 0; i + 1 < flat.length; i += 2) entries.push([flat[i] as string, Number(flat[i + 1])]);
    } else {
      for (const [address, until] of this.memoryRegistry)
        if (until <= now) this.memoryRegistry.delete(address);
      entries = [...this.memoryRegistry];
    }
    const out: Lockout[] = [];
    for (const [address] of entries) {
      // The registry may outlive a lock that was cleared elsewhere; the counter decides.
      const state = await this.state(address);
      if (state.locked) out.push({ address, lockedUntil: new Date(now + state.retryAfterS * 1000) });
    }
    return out.sort((a, b) => a.lockedUntil.getTime() - b.lockedUntil.getTime());
  }

  /** Lifts a lock and forgets the failures; false when the address was not locked. */
  async clear(address: string): Promise<boolean> {
    const { locked } = await this.state(address);
    await this.failures.delete(address);
    if (this.redis) await this.redis.zrem(this.registryKey, address);
    else this.memoryRegistry.delete(address);
    return locked;
  }
}

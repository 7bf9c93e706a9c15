import { ApiError } from '../api-error.js';
import { type Actor, anonymousActor } from '../audit/audit.record.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Principal } from '../auth/credential.js';
import type { KeyRecord } from '../keys/key.record.js';
import { canonicalAddress } from '../net/ip-rules.js';
import type { Lockout, LockState } from '../ports.js';
import type { ServiceDeps } from '../services.js';
import type { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import { decideRateLimit, type RateLimitDecision, type RateLimitPolicy } from './rate-limit.js';

/**
 * Rate limits per credential (per address when anonymous) and lockout of addresses after
 * failed authentications. The decisions are made here; the counts live in the ports.
 */
export class ProtectionService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly audit: AuditService,
    private readonly outbox: WebhookOutbox,
  ) {}

  /** Refuses a locked-out address with 429 LOCKED_OUT, whatever credential it brings. */
  async assertNotLockedOut(address: string): Promise<LockState> {
    const state = await this.deps.lockouts.state(address);
    if (state.locked) {
      throw new ApiError(
        'LOCKED_OUT',
        `Too many failed authentication attempts from this address; try again in ${state.retryAfterS} seconds.`,
        { headers: { 'Retry-After': String(state.retryAfterS) }, retryAfter: state.retryAfterS },
      );
    }
    return state;
  }

  /**
   * Counts a failed authentication and records the lock it may start. With a detail, the
   * failure itself is audited too (password endpoints audit their own failures). Returns
   * how many more failures the address may make before it is locked out.
   */
  async recordFailure(address: string, detail?: string): Promise<number> {
    const { failures, lock } = await this.deps.lockouts.fail(address);
    if (lock) {
      this.deps.observe?.({ type: 'lockout_started' });
      try {
        await this.deps.store.transaction(async (tx) => {
          await this.audit.record(
            {
              action: 'auth.locked_out',
              outcome: 'failure',
              actor: anonymousActor(address),
              target: { type: 'address', id: address },
              detail: `locked until ${lock.lockedUntil.toISOString()} after ${this.deps.config.lockoutAttempts} failures`,
            },
            tx,
          );
          await this.outbox.raise(tx, 'auth.locked_out', {
            address,
            locked_until: lock.lockedUntil.toISOString(),
            failures,
          });
        });
      } catch (err) {
        // The lock itself is in place; a failed record must not turn the refusal into a 500.
        this.deps.report('could not record a lockout', { err, address });
      }
    }
    if (detail !== undefined) {
      await this.audit.record({
        action: 'auth.failed',
        outcome: 'failure',
        actor: anonymousActor(address),
        detail,
      });
    }
    return lock ? 0 : Math.max(0, this.deps.config.lockoutAttempts - failures);
  }

  /** What a refusal adds when the address has one failed attempt left, so that nobody is locked out unwarned. */
  lastAttemptWarning(remaining: number): string {
    if (remaining !== 1) return '';
    const minutes = Math.ceil(this.deps.config.lockoutDurationS / 60);
    return ` One more failed attempt from this address locks it out for ${minutes} minute${minutes === 1 ? '' : 's'}.`;
  }

  /** A success forgets earlier failures of the address. */
  async recordSuccess(address: string, state: LockState): Promise<void> {
    if (state.failures > 0) await this.deps.lockouts.succeed(address);
  }

  /** The policy that applies: a key's own limit, or the server's. */
  policyFor(principal: Principal | undefined): RateLimitPolicy {
    return this.keyPolicy(principal?.key);
  }

  private keyPolicy(key: KeyRecord | undefined): RateLimitPolicy {
    const own = key?.rate_limit;
    if (own) return { name: 'key', limit: own.limit, windowS: own.window_s };
    return { name: 'default', limit: this.deps.config.rateLimit, windowS: this.deps.config.rateWindowS };
  }

  /** Counts one request of the caller (its key, its user, or its address) and decides. */
  /** Counts `cost` against a key's own rate limit (the verify API); 0 only reads it. */
  async consumeKey(key: KeyRecord, cost: number): Promise<RateLimitDecision> {
    const policy = this.keyPolicy(key);
    const count = await this.deps.requests.consume(`key:${key.id}`, policy.limit, policy.windowS, cost);
    return decideRateLimit(policy, count, this.deps.clock());
  }

  async consume(principal: Principal | undefined, address: string, cost = 1): Promise<RateLimitDecision> {
    const policy = this.policyFor(principal);
    const identity = principal
      ? principal.key
        ? `key:${principal.key.id}`
        : `user:${principal.user.id}`
      : `ip:${address}`;
    const count = await this.deps.requests.consume(identity, policy.limit, policy.windowS, cost);
    return decideRateLimit(policy, count, this.deps.clock());
  }

  /** Current lockouts, soonest to end first. */
  listLockouts(): Promise<Lockout[]> {
    return this.deps.lockouts.list();
  }

  /** Lets a locked-out address authenticate again at once; 404 LOCKOUT_NOT_FOUND when it is not locked. */
  async clearLockout(actor: Actor, address: string, field = 'path.address'): Promise<string> {
    const canonical = canonicalAddress(address);
    if (!canonical) throw ApiError.field(field, `"${address}" is not an IP address`);
    if (!(await this.deps.lockouts.clear(canonical))) {
      throw new ApiError('LOCKOUT_NOT_FOUND', `${canonical} is not locked out.`);
    }
    await this.audit.record({
      action: 'lockout.cleared',
      actor,
      target: { type: 'address', id: canonical },
      detail: `${canonical} may authenticate again`,
    });
    return canonical;
  }
}

import type { VerifyResult } from '../generated/types.gen.js';

/** The most one verification may spend (the contract's bound on `cost`). */
export const MAX_COST = 1000;

interface Entry {
  result: VerifyResult;
  /** Milliseconds since the epoch after which Latchkey is asked again. */
  until: number;
}

/** A key's rate limit as the guard last heard it, counted down by the answers it gave from the cache. */
interface Budget {
  limit: number;
  remaining: number;
  reset: number;
  /** Cost of answers given from the cache that Latchkey has not been told of yet. */
  owed: number;
}

/** Verdicts after which the key's rate limit can never be charged again. */
const GONE = new Set<VerifyResult['code']>(['NOT_FOUND', 'INVALID_FORMAT', 'DISABLED', 'EXPIRED']);

/**
 * Latchkey's verdicts for a short time, keyed by a digest of the key and the shape of the
 * request (client address, safe or unsafe method, permissions asked for), at most `maxEntries`
 * of them (the oldest go first).
 *
 * A cached VALID verdict answers a request only while the key's rate limit, as Latchkey last
 * reported it, has room for the request's cost; the room is counted down here, and what the
 * cached answers spent is owed to Latchkey and added to the cost of the key's next
 * verification. So Latchkey counts every request, at most one TTL late, and one guard never
 * lets through more than the key had left. Refusals are cached as they are; a RATE_LIMITED
 * verdict no longer than the window's reset, a VALID one no longer than the key's expiry.
 *
 * @example
 * ```ts
 * const cache = new VerdictCache(1000, 10_000);
 * cache.store(digest, 'r|', result, 1, 1, Date.now());
 * cache.take(digest, 'r|', 1, Date.now()); // the verdict, its remaining count one lower
 * ```
 */
export class VerdictCache {
  private readonly verdicts = new Map<string, Entry>();
  private readonly budgets = new Map<string, Budget>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  /** How many verdicts are kept now. */
  get size(): number {
    return this.verdicts.size;
  }

  /**
   * A verdict that may answer a request of `cost` now, with the rate limit counted down;
   * undefined when Latchkey must be asked.
   */
  take(digest: string, shape: string, cost: number, now: number): VerifyResult | undefined {
    const name = `${digest}|${shape}`;
    const entry = this.verdicts.get(name);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.verdicts.delete(name);
      return undefined;
    }
    const { result } = entry;
    if (result.code !== 'VALID') return result;
    const budget = this.budgets.get(digest);
    if (!budget || budget.remaining < cost) return undefined;
    budget.remaining -= cost;
    budget.owed += cost;
    return {
      ...result,
      ratelimit: { limit: budget.limit, remaining: budget.remaining, reset: budget.reset },
    };
  }

  /** What the key's next verification should spend: the request's own cost and what is owed. */
  costToSend(digest: string, cost: number): number {
    return Math.min(MAX_COST, cost + (this.budgets.get(digest)?.owed ?? 0));
  }

  /** Keeps Latchkey's answer to a verification that spent `sent`, of which `cost` was the request's own. */
  store(digest: string, shape: string, result: VerifyResult, cost: number, sent: number, now: number): void {
    const before = this.budgets.get(digest);
    this.budgets.delete(digest);
    if (result.ratelimit) {
      // Latchkey counted all of `sent`: what was owed is paid, up to what was sent for it.
      const owed = Math.max(0, (before?.owed ?? 0) - (sent - cost));
      this.budgets.set(digest, { ...result.ratelimit, owed });
    } else if (before && !GONE.has(result.code)) {
      this.budgets.set(digest, before);
    }
    trim(this.budgets, this.maxEntries);

    if (this.ttlMs <= 0) return;
    let until = now + this.ttlMs;
    if (result.code === 'VALID' && result.expires_at) until = Math.min(until, Date.parse(result.expires_at));
    if (result.code === 'RATE_LIMITED' && result.ratelimit)
      until = Math.min(until, result.ratelimit.reset * 1000);
    const name = `${digest}|${shape}`;
    this.verdicts.delete(name);
    if (until > now) this.verdicts.set(name, { result, until });
    trim(this.verdicts, this.maxEntries);
  }

  /** Forgets every verdict and what is owed. */
  clear(): void {
    this.verdicts.clear();
    this.budgets.clear();
  }
}

/** Drops the oldest entries (a Map keeps the order of insertion) until at most `max` are left. */
function trim(map: Map<string, unknown>, max: number): void {
  for (const name of map.keys()) {
    if (map.size <= max) return;
    map.delete(name);
  }
}

import type { Clock } from './config.js';

// The rate limit: a pure decision from a count, and a fixed-window counter per identity.

export interface RateLimitPolicy {
  /** "default" for the server's limit, "key" for a key's own. */
  name: 'default' | 'key';
  limit: number;
  windowS: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Seconds to wait when refused. */
  retryAfterS: number;
  headers: Record<string, string>;
}

/** Pure: what a count means for the response, with the same headers as the server. */
export function decideRateLimit(
  policy: RateLimitPolicy,
  count: { consumed: number; msBeforeReset: number },
  now: number,
): RateLimitDecision {
  const remaining = Math.max(0, policy.limit - count.consumed);
  const resetS = Math.max(1, Math.ceil(count.msBeforeReset / 1000));
  const allowed = count.consumed <= policy.limit;
  return {
    allowed,
    retryAfterS: allowed ? 0 : resetS,
    headers: {
      'X-RateLimit-Limit': String(policy.limit),
      'X-RateLimit-Remaining': String(remaining),
      'X-RateLimit-Reset': String(Math.ceil((now + count.msBeforeReset) / 1000)),
      'RateLimit-Policy': `"${policy.name}";q=${policy.limit};w=${policy.windowS}`,
      RateLimit: `"${policy.name}";r=${remaining};t=${resetS}`,
    },
  };
}

/** Counts requests per identity in fixed windows that start at the first request. */
export class RateLimiter {
  private readonly windows = new Map<string, { startedAt: number; windowS: number; consumed: number }>();

  constructor(private readonly clock: Clock) {}

  consume(identity: string, policy: RateLimitPolicy): RateLimitDecision {
    const now = this.clock();
    let window = this.windows.get(identity);
    if (!window || now >= window.startedAt + window.windowS * 1000 || window.windowS !== policy.windowS) {
      window = { startedAt: now, windowS: policy.windowS, consumed: 0 };
      this.windows.set(identity, window);
    }
    window.consumed++;
    return decideRateLimit(
      policy,
      { consumed: window.consumed, msBeforeReset: window.startedAt + window.windowS * 1000 - now },
      now,
    );
  }

  reset(): void {
    this.windows.clear();
  }
}

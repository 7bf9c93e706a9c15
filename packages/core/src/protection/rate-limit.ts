// Pure: what a rate-limit count means for the response. The count itself is kept
// atomically by rate-limiter-flexible in memory or Redis.

export interface RateLimitPolicy {
  /** "default" for the server's limit, "key" for a key's own. */
  name: 'default' | 'key';
  limit: number;
  windowS: number;
}

export interface RateLimitCount {
  /** Requests counted in the current window, this one included. */
  consumed: number;
  /** Milliseconds until the window resets. */
  msBeforeReset: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Seconds to wait when refused. */
  retryAfterS: number;
  limit: number;
  remaining: number;
  /** When the window resets, in seconds since the epoch. */
  resetAt: number;
  headers: Record<string, string>;
}

export function decideRateLimit(
  policy: RateLimitPolicy,
  count: RateLimitCount,
  now: number,
): RateLimitDecision {
  const remaining = Math.max(0, policy.limit - count.consumed);
  const resetS = Math.max(1, Math.ceil(count.msBeforeReset / 1000));
  const allowed = count.consumed <= policy.limit;
  const resetAt = Math.ceil((now + count.msBeforeReset) / 1000);
  return {
    allowed,
    retryAfterS: allowed ? 0 : resetS,
    limit: policy.limit,
    remaining,
    resetAt,
    headers: {
      'X-RateLimit-Limit': String(policy.limit),
      'X-RateLimit-Remaining': String(remaining),
      'X-RateLimit-Reset': String(resetAt),
      'RateLimit-Policy': `"${policy.name}";q=${policy.limit};w=${policy.windowS}`,
      RateLimit: `"${policy.name}";r=${remaining};t=${resetS}`,
    },
  };
}

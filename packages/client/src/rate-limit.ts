/**
 * The rate limit the server last reported; a part is null when the server did not say.
 *
 * @example
 * ```ts
 * const { limit, remaining, resetAt }: RateLimit = client.rateLimit ?? { limit: null, remaining: null, resetAt: null };
 * ```
 */
export interface RateLimit {
  /** Requests allowed per window. */
  limit: number | null;
  /** Requests left in the current window. */
  remaining: number | null;
  /** When the window resets. */
  resetAt: Date | null;
}

/** Values of `X-RateLimit-Reset` above this are epoch seconds; below, seconds from now. */
const EPOCH_THRESHOLD_S = 1_000_000_000;

function nonNegativeInteger(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : null;
}

function resetFrom(seconds: number | null, now: number, allowEpoch: boolean): Date | null {
  if (seconds === null) return null;
  return new Date(allowEpoch && seconds >= EPOCH_THRESHOLD_S ? seconds * 1000 : now + seconds * 1000);
}

/** One member of a structured-field list or dictionary (RFC 8941), kept as text. */
interface Member {
  key: string;
  value: string | undefined;
  params: Record<string, string>;
}

/** Splits on `separator` outside double quotes. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '\\' && quoted && i + 1 < text.length) {
      current += char + text[++i];
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === separator && !quoted) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part.length > 0);
}

function unquote(text: string): string {
  const trimmed = text.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
    ? trimmed.slice(1, -1).replace(/\\(.)/g, '$1')
    : trimmed;
}

function parseMembers(field: string): Member[] {
  return splitOutsideQuotes(field, ',').map((member) => {
    const [head = '', ...paramParts] = splitOutsideQuotes(member, ';');
    const equals = head.startsWith('"') ? -1 : head.indexOf('=');
    const params: Record<string, string> = {};
    for (const part of paramParts) {
      const at = part.indexOf('=');
      if (at > 0) params[part.slice(0, at).trim().toLowerCase()] = unquote(part.slice(at + 1));
    }
    return equals > 0
      ? { key: head.slice(0, equals).trim().toLowerCase(), value: unquote(head.slice(equals + 1)), params }
      : { key: unquote(head), value: undefined, params };
  });
}

/**
 * The IETF fields: `RateLimit: "default";r=42;t=17` with `RateLimit-Policy: "default";q=100;w=60`
 * (draft-ietf-httpapi-ratelimit-headers 08 and later), the dictionary form
 * `RateLimit: limit=100, remaining=42, reset=17` (draft 07), and the separate
 * `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` fields of earlier drafts.
 * Resets are seconds from now. When several policies are listed, the tightest one wins.
 */
function parseIetf(headers: Headers, now: number): RateLimit | undefined {
  const field = headers.get('ratelimit');
  if (field !== null) {
    const members = parseMembers(field);
    const dictionary = new Map(members.filter((m) => m.value !== undefined).map((m) => [m.key, m.value]));
    if (dictionary.has('remaining') || dictionary.has('limit')) {
      return {
        limit: nonNegativeInteger(dictionary.get('limit')),
        remaining: nonNegativeInteger(dictionary.get('remaining')),
        resetAt: resetFrom(nonNegativeInteger(dictionary.get('reset')), now, false),
      };
    }
    const policies = parseMembers(headers.get('ratelimit-policy') ?? '');
    let tightest: Member | undefined;
    for (const member of members) {
      const remaining = nonNegativeInteger(member.params.r);
      if (remaining === null) continue;
      if (!tightest || remaining < (nonNegativeInteger(tightest.params.r) ?? Number.POSITIVE_INFINITY)) {
        tightest = member;
      }
    }
    if (tightest) {
      const policy =
        policies.find((p) => p.key === tightest.key) ?? (policies.length === 1 ? policies[0] : undefined);
      return {
        limit: nonNegativeInteger(policy?.params.q),
        remaining: nonNegativeInteger(tightest.params.r),
        resetAt: resetFrom(nonNegativeInteger(tightest.params.t), now, false),
      };
    }
  }
  const limit = nonNegativeInteger(headers.get('ratelimit-limit'));
  const remaining = nonNegativeInteger(headers.get('ratelimit-remaining'));
  if (limit === null && remaining === null) return undefined;
  return {
    limit,
    remaining,
    resetAt: resetFrom(nonNegativeInteger(headers.get('ratelimit-reset')), now, false),
  };
}

/**
 * Reads the rate limit from a response's headers: `X-RateLimit-Limit`, `-Remaining` and
 * `-Reset` (epoch seconds, or seconds from now when small), completed or replaced by the
 * IETF `RateLimit` / `RateLimit-Policy` fields. Undefined when the response carries none.
 *
 * @example
 * ```ts
 * parseRateLimit(new Headers({ 'X-RateLimit-Limit': '100', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1767225600' }));
 * // { limit: 100, remaining: 0, resetAt: 2026-01-01T00:00:00.000Z }
 * ```
 */
export function parseRateLimit(headers: Headers, now: number = Date.now()): RateLimit | undefined {
  const limit = nonNegativeInteger(headers.get('x-ratelimit-limit'));
  const remaining = nonNegativeInteger(headers.get('x-ratelimit-remaining'));
  const resetAt = resetFrom(nonNegativeInteger(headers.get('x-ratelimit-reset')), now, true);
  const ietf = parseIetf(headers, now);
  if (limit === null && remaining === null && resetAt === null) return ietf;
  return {
    limit: limit ?? ietf?.limit ?? null,
    remaining: remaining ?? ietf?.remaining ?? null,
    resetAt: resetAt ?? ietf?.resetAt ?? null,
  };
}

/**
 * How long `Retry-After` asks to wait, in milliseconds (delay-seconds or an HTTP date);
 * undefined when the header is missing or unreadable.
 *
 * @example
 * ```ts
 * parseRetryAfter(new Headers({ 'Retry-After': '2' })); // 2000
 * ```
 */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * What browser pages on other origins may do: the one list of methods and headers that the
 * server's CORS middleware and the mock HTTP server both answer with. Browser-safe, no I/O.
 */

/** The methods of the contract's operations. */
export const CORS_ALLOWED_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'];

/**
 * Request headers a page may send besides the configured API key headers: the credentials
 * (`Authorization` carries Bearer, Token and Basic), the CSRF token of a login session, a
 * JSON or compressed body, and a request id a page may pass on.
 */
export const CORS_REQUEST_HEADERS: readonly string[] = [
  'Authorization',
  'X-API-Key',
  'X-CSRF-Token',
  'Content-Type',
  'Content-Encoding',
  'X-Request-Id',
];

/**
 * Response headers a page may read besides the ones browsers always show (Content-Type,
 * Cache-Control, …): rate limits, the identity of the caller, where a created key is, and the
 * request's id to quote when reporting a problem.
 */
export const CORS_EXPOSED_HEADERS: readonly string[] = [
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'RateLimit',
  'RateLimit-Policy',
  'Retry-After',
  'X-Auth-Method',
  'X-Auth-Expires',
  'X-Auth-Token-Id',
  'X-Auth-User-Id',
  'X-Auth-User-Username',
  'Location',
  'X-Request-Id',
];

/** How long a browser may reuse a preflight's answer, in seconds. */
export const CORS_MAX_AGE_S = 600;

/**
 * The CORS answer for a set of allowed origins.
 *
 * @example
 * ```ts
 * const policy = corsPolicy(['https://app.example'], ['X-API-Key', 'X-ArchiveBox-API-Key']);
 * policy.allows('https://app.example'); // true
 * ```
 */
export interface CorsPolicy {
  /** The allowed origins, exactly as browsers send them in `Origin`. */
  origins: readonly string[];
  allowMethods: readonly string[];
  /** {@link CORS_REQUEST_HEADERS} and every configured API key header. */
  allowHeaders: readonly string[];
  exposeHeaders: readonly string[];
  maxAgeS: number;
  /** Whether a request with this `Origin` gets CORS headers. */
  allows(origin: string | undefined): boolean;
}

/**
 * Checks one configured origin and returns it. An origin is what a browser sends in `Origin`:
 * scheme, host and a port other than the scheme's default, nothing else. `*` is refused:
 * Latchkey allows credentials (the session cookie), and browsers refuse a wildcard origin
 * with credentials.
 *
 * @example
 * ```ts
 * checkCorsOrigin('https://app.example'); // 'https://app.example'
 * checkCorsOrigin('https://app.example/'); // throws: no trailing slash
 * ```
 */
export function checkCorsOrigin(raw: string): string {
  if (raw === '*') {
    throw new Error(
      '"*" is not allowed: responses to listed origins allow credentials (the session cookie), and browsers refuse a wildcard origin together with credentials; list each origin instead',
    );
  }
  if (raw === 'null') {
    throw new Error(
      '"null" is not allowed: sandboxed frames and local files all send it, so it would let any of them in',
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`"${raw}" is not an origin; write scheme://host[:port], for example https://app.example`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`"${raw}" is not an http:// or https:// origin`);
  }
  if (url.origin !== raw) {
    throw new Error(
      `"${raw}" is not an origin as browsers send it; write ${url.origin} (scheme://host[:port], lower-case, no path, no trailing slash, no default port)`,
    );
  }
  return raw;
}

/**
 * The policy for the given origins (each checked with {@link checkCorsOrigin}) and API key
 * headers.
 *
 * @example
 * ```ts
 * const policy = corsPolicy(['http://localhost:5173'], ['X-API-Key']);
 * policy.allowHeaders; // ['Authorization', 'X-API-Key', 'X-CSRF-Token', …]
 * ```
 */
export function corsPolicy(origins: readonly string[], apiKeyHeaders: readonly string[]): CorsPolicy {
  const allowed = new Set(origins.map(checkCorsOrigin));
  const allowHeaders = [...CORS_REQUEST_HEADERS];
  for (const name of apiKeyHeaders) {
    if (!allowHeaders.some((h) => h.toLowerCase() === name.toLowerCase())) allowHeaders.push(name);
  }
  return {
    origins: [...allowed],
    allowMethods: CORS_ALLOWED_METHODS,
    allowHeaders,
    exposeHeaders: CORS_EXPOSED_HEADERS,
    maxAgeS: CORS_MAX_AGE_S,
    allows: (origin) => origin !== undefined && allowed.has(origin),
  };
}

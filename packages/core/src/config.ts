/** The authentication methods an operator can switch on or off. */
export const AUTH_METHOD_SWITCHES = ['header', 'bearer', 'token', 'query', 'basic', 'session'] as const;
export type AuthMethodSwitch = (typeof AUTH_METHOD_SWITCHES)[number];

/** The SameSite values of the session and CSRF cookies. */
export const COOKIE_SAME_SITE = ['lax', 'strict', 'none'] as const;
export type CookieSameSite = (typeof COOKIE_SAME_SITE)[number];

/**
 * The settings the rules depend on. The server reads them from `LATCHKEY_*` variables; the
 * mock takes them as options. Every field has the server's default in {@link DEFAULT_RULES}.
 *
 * @example
 * ```ts
 * const rules: RulesConfig = { ...DEFAULT_RULES, rateLimit: 5, authMethods: ['header'] };
 * ```
 */
export interface RulesConfig {
  /** Prefix of generated keys (`LATCHKEY_KEY_PREFIX`). */
  keyPrefix: string;
  /** Methods accepted (`LATCHKEY_AUTH_METHODS`). */
  authMethods: AuthMethodSwitch[];
  /** Header names that carry an API key (`LATCHKEY_API_KEY_HEADERS`). */
  apiKeyHeaders: string[];
  /** Only superusers may use the API (`LATCHKEY_SUPERUSER_ONLY`). */
  superuserOnly: boolean;
  /**
   * Forward authentication needs a credential (`LATCHKEY_LOGIN_REQUIRED`); when false, a
   * request without one and with a safe method passes as Anonymous.
   */
  loginRequired: boolean;
  /** Lifetime of a login, in seconds (`LATCHKEY_JWT_TTL_S`). */
  jwtTtlSeconds: number;
  /** Lifetime of tokens from get_api_token, in days (`LATCHKEY_API_TOKEN_TTL_DAYS`). */
  apiTokenTtlDays: number;
  /** Always mark the session cookie Secure (`LATCHKEY_COOKIE_SECURE`). */
  cookieSecure: boolean;
  /** SameSite of the session and CSRF cookies (`LATCHKEY_COOKIE_SAMESITE`). */
  cookieSameSite: CookieSameSite;
  /** Minimum length of a new password (`LATCHKEY_PASSWORD_MIN_LENGTH`). */
  passwordMinLength: number;
  /** Largest accepted request body in bytes (`LATCHKEY_MAX_BODY_BYTES`). */
  maxBodyBytes: number;
  /** Requests per window per credential, per address when anonymous (`LATCHKEY_RATE_LIMIT`). */
  rateLimit: number;
  /** The rate-limit window in seconds (`LATCHKEY_RATE_WINDOW_S`). */
  rateWindowS: number;
  /** Failed authentications from one address that lock it out (`LATCHKEY_LOCKOUT_ATTEMPTS`). */
  lockoutAttempts: number;
  /** Window in which those failures count, in seconds (`LATCHKEY_LOCKOUT_WINDOW_S`). */
  lockoutWindowS: number;
  /** How long a lockout lasts, in seconds (`LATCHKEY_LOCKOUT_DURATION_S`). */
  lockoutDurationS: number;
  /** Proxies whose X-Forwarded-For is believed (`LATCHKEY_TRUSTED_PROXIES`). */
  trustedProxies: string[];
  /** Webhooks may use http:// URLs (`LATCHKEY_WEBHOOK_ALLOW_HTTP`). */
  webhookAllowHttp: boolean;
  /**
   * Host names and address rules webhooks may reach although they are private
   * (`LATCHKEY_WEBHOOK_ALLOWED_HOSTS`), normalised by `parseAllowedHosts`.
   */
  webhookAllowedHosts: string[];
  /** Days before a key expires that `key.expiring` is sent, besides 1 day (`LATCHKEY_WEBHOOK_EXPIRING_DAYS`). */
  webhookExpiringDays: number;
  /** Attempts of a delivery before it has failed (`LATCHKEY_WEBHOOK_MAX_ATTEMPTS`). */
  webhookMaxAttempts: number;
  /** The wait after the first failed attempt, in ms; each next one is 4 times longer (`LATCHKEY_WEBHOOK_RETRY_BASE_MS`). */
  webhookRetryBaseMs: number;
  /** How long one attempt may take in all, in ms (`LATCHKEY_WEBHOOK_TIMEOUT_MS`). */
  webhookTimeoutMs: number;
}

/**
 * The server's defaults.
 *
 * @example
 * ```ts
 * const strict = { ...DEFAULT_RULES, lockoutAttempts: 3 };
 * ```
 */
export const DEFAULT_RULES: RulesConfig = {
  keyPrefix: 'lk_',
  authMethods: [...AUTH_METHOD_SWITCHES],
  apiKeyHeaders: ['X-API-Key'],
  superuserOnly: false,
  loginRequired: true,
  jwtTtlSeconds: 7 * 24 * 3600,
  apiTokenTtlDays: 30,
  cookieSecure: false,
  cookieSameSite: 'lax',
  passwordMinLength: 10,
  maxBodyBytes: 65_536,
  rateLimit: 100,
  rateWindowS: 60,
  lockoutAttempts: 5,
  lockoutWindowS: 300,
  lockoutDurationS: 300,
  trustedProxies: [],
  webhookAllowHttp: false,
  webhookAllowedHosts: [],
  webhookExpiringDays: 7,
  webhookMaxAttempts: 8,
  webhookRetryBaseMs: 15_000,
  webhookTimeoutMs: 10_000,
};

/** Fixed limits of the API, reported by /meta. */
export const LIMITS = {
  maxPageSize: 200,
  defaultPageSize: 50,
  maxRotationGraceSeconds: 86_400,
  /** The longest time the old signing secret of a webhook keeps signing after a rotation. */
  maxSecretGraceSeconds: 7 * 86_400,
  /** How deep a JSON body may nest; no operation needs more than a few levels. */
  maxBodyDepth: 32,
} as const;

/**
 * What is wrong with the cookie settings, or undefined: browsers drop a SameSite=None cookie
 * that is not Secure, so `none` needs `cookieSecure`.
 *
 * @example
 * ```ts
 * cookieSettingsProblem({ cookieSameSite: 'none', cookieSecure: false }); // 'SameSite none needs …'
 * ```
 */
export function cookieSettingsProblem(
  rules: Pick<RulesConfig, 'cookieSameSite' | 'cookieSecure'>,
): string | undefined {
  return rules.cookieSameSite === 'none' && !rules.cookieSecure
    ? 'SameSite none needs Secure cookies: browsers drop a SameSite=None cookie that is not Secure'
    : undefined;
}

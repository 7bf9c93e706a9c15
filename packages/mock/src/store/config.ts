/**
 * How the mock behaves where the server is configurable; every field has the server's default.
 *
 * @example
 * ```ts
 * const config: Partial<MockConfig> = { rateLimit: 3, rateWindowS: 10, lockoutAttempts: 2, superuserOnly: true };
 * createLatchkeyMock({ baseUrl: 'http://latchkey.test', config });
 * ```
 */
export interface MockConfig {
  /** The prefix of generated keys (`LATCHKEY_KEY_PREFIX`). Default `lk_`. */
  keyPrefix: string;
  /** Header names that carry an API key (`LATCHKEY_API_KEY_HEADERS`). Default `['X-API-Key']`. */
  apiKeyHeaders: string[];
  /** Requests per window per credential (per address when anonymous). Default 100. */
  rateLimit: number;
  /** The rate-limit window in seconds. Default 60. */
  rateWindowS: number;
  /** Failed authentications from one address that lock it out. Default 5. */
  lockoutAttempts: number;
  /** The window in which those failures count, in seconds. Default 300. */
  lockoutWindowS: number;
  /** How long a lockout lasts, in seconds. Default 300. */
  lockoutDurationS: number;
  /** Minimum password length. Default 10. */
  passwordMinLength: number;
  /** Login JWT and session lifetime, in seconds. Default 7 days. */
  jwtTtlS: number;
  /** Lifetime of tokens from get_api_token, in days. Default 30. */
  apiTokenTtlDays: number;
  /** Only superusers may use the API. Default false. */
  superuserOnly: boolean;
  /** Largest accepted request body, in bytes. Default 65536. */
  maxBodyBytes: number;
  /** The version the meta endpoints report. */
  version: string;
}

/**
 * The server's defaults.
 *
 * @example
 * ```ts
 * const strict: MockConfig = { ...DEFAULT_CONFIG, rateLimit: 10 };
 * ```
 */
export const DEFAULT_CONFIG: MockConfig = {
  keyPrefix: 'lk_',
  apiKeyHeaders: ['X-API-Key'],
  rateLimit: 100,
  rateWindowS: 60,
  lockoutAttempts: 5,
  lockoutWindowS: 300,
  lockoutDurationS: 300,
  passwordMinLength: 10,
  jwtTtlS: 7 * 24 * 3600,
  apiTokenTtlDays: 30,
  superuserOnly: false,
  maxBodyBytes: 65_536,
  version: '0.1.0',
};

export const MAX_PAGE_SIZE = 200;
export const MAX_GRACE_SECONDS = 86_400;

/** A clock in epoch milliseconds; tests can move it. */
export type Clock = () => number;

/** An ISO 8601 UTC timestamp with milliseconds, as the server writes them. */
export const iso = (ms: number): string => new Date(ms).toISOString();

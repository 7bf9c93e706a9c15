/** A Latchkey to run the shared scenarios against: the real server, the msw mock or the mock HTTP server. */
export interface Target {
  baseUrl: string;
  /** The fetch that reaches it (msw intercepts the global fetch for the in-process mock). */
  fetch: typeof globalThis.fetch;
  /** Lifts a lockout from outside the API (the server's CLI, the mock's store). */
  clearLockout(address: string): Promise<void>;
  close(): Promise<void>;
}

/** Settings a scenario needs; every target starts with one superuser, ADMIN, unless `empty`. */
export interface TargetSettings {
  rateLimit?: number;
  lockoutAttempts?: number;
  /** Authentication methods switched on (all by default). */
  authMethods?: ('header' | 'bearer' | 'token' | 'query' | 'basic' | 'session')[];
  /** Start with no user and no key (bootstrap). */
  empty?: boolean;
  /** Header names that carry an API key (the server's LATCHKEY_API_KEY_HEADERS). */
  apiKeyHeaders?: string[];
  /** Forward authentication needs a credential (LATCHKEY_LOGIN_REQUIRED); true by default. */
  loginRequired?: boolean;
  /** Origins of browser pages allowed to call it (LATCHKEY_CORS_ORIGINS); HTTP targets only. */
  corsOrigins?: string[];
}

/** The mock's settings for a scenario's. */
export function mockConfig(settings: TargetSettings) {
  return {
    ...(settings.rateLimit ? { rateLimit: settings.rateLimit } : {}),
    ...(settings.lockoutAttempts ? { lockoutAttempts: settings.lockoutAttempts } : {}),
    ...(settings.authMethods ? { authMethods: settings.authMethods } : {}),
    ...(settings.apiKeyHeaders ? { apiKeyHeaders: settings.apiKeyHeaders } : {}),
    ...(settings.loginRequired === false ? { loginRequired: false } : {}),
  };
}

/** The mock's seed for a scenario's settings. */
export function mockSeed(settings: TargetSettings) {
  return settings.empty ? {} : { users: [{ ...ADMIN, is_superuser: true }] };
}

export type StartTarget = (settings: TargetSettings) => Promise<Target>;

export const ADMIN = { username: 'admin', password: 'shared-suite-admin-password-7' };

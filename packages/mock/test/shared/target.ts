/** A Latchkey to run the shared scenarios against: the real server, the msw mock or the mock HTTP server. */
export interface Target {
  baseUrl: string;
  /** The fetch that reaches it (msw intercepts the global fetch for the in-process mock). */
  fetch: typeof globalThis.fetch;
  /** Lifts a lockout from outside the API (the server's CLI, the mock's store). */
  clearLockout(address: string): Promise<void>;
  close(): Promise<void>;
}

/** Settings a scenario needs; every target starts with one superuser, ADMIN. */
export interface TargetSettings {
  rateLimit?: number;
  lockoutAttempts?: number;
}

export type StartTarget = (settings: TargetSettings) => Promise<Target>;

export const ADMIN = { username: 'admin', password: 'shared-suite-admin-password-7' };

import type { UsernamePassword } from './credentials.js';

/** What a login answers that the client keeps. */
export interface LoginGrant {
  token: string;
  expiresAt: Date;
}

/** A JWT this close to its expiry is renewed before use, so it cannot lapse in flight. */
export const RENEW_BEFORE_MS = 30_000;

/**
 * Holds the login JWT for `{ login }` credentials: logs in on first use, shares one login
 * between concurrent requests, logs in again when the JWT is about to expire or was
 * reported revoked.
 *
 * @example
 * ```ts
 * const session = new LoginSession({ username, password }, (who) => logIn(who));
 * const jwt = await session.token(); // logs in
 * await session.token(); // the same JWT, no request
 * ```
 */
export class LoginSession {
  private grant: LoginGrant | undefined;
  private pending: Promise<LoginGrant> | undefined;

  constructor(
    private readonly account: UsernamePassword,
    private readonly logIn: (account: UsernamePassword) => Promise<LoginGrant>,
    private readonly now: () => number = Date.now,
  ) {}

  /** A JWT that is valid for at least RENEW_BEFORE_MS more, logging in when needed. */
  async token(): Promise<string> {
    const grant = this.grant;
    if (grant && grant.expiresAt.getTime() - this.now() > RENEW_BEFORE_MS) return grant.token;
    if (!this.pending) {
      this.pending = this.logIn(this.account)
        .then((fresh) => {
          this.grant = fresh;
          return fresh;
        })
        .finally(() => {
          this.pending = undefined;
        });
    }
    return (await this.pending).token;
  }

  /** Forgets `token` if it is still the current JWT (the server said it is no longer valid). */
  invalidate(token: string): void {
    if (this.grant?.token === token) this.grant = undefined;
  }

  /** True when `token` is the JWT this session holds. */
  holds(token: string): boolean {
    return this.grant?.token === token;
  }

  /** Forgets the JWT (after a logout); the next request logs in again. */
  clear(): void {
    this.grant = undefined;
  }
}

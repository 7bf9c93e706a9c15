import { ApiError, suppliedKeyProblem } from '@latchkey/core';
import { AuditLog } from './audit.js';
import { type Clock, DEFAULT_CONFIG, type MockConfig } from './config.js';
import { type KeyRecord, KeyStore } from './keys.js';
import { LockoutGuard } from './lockout.js';
import { RateLimiter } from './rate-limit.js';
import { SessionStore } from './sessions.js';
import { type UserRecord, UserStore } from './users.js';

/**
 * The whole in-memory state of one mock: users, keys, sessions, the audit log, rate-limit
 * counters and lockouts, with the server's rules. Handlers read and change it; tests may too.
 *
 * @example
 * ```ts
 * const store = new MockStore({ rateLimit: 3 });
 * const alice = store.users.create({ username: 'alice', password: 'a-long-password-1' });
 * const key = store.keys.create(alice, { name: 'ci' }, 'api');
 * console.log(key.secret.startsWith('lk_'));
 * ```
 */
export class MockStore {
  readonly config: MockConfig;
  readonly clock: Clock;
  readonly users: UserStore;
  readonly keys: KeyStore;
  readonly sessions: SessionStore;
  readonly audit: AuditLog;
  readonly limiter: RateLimiter;
  readonly lockouts: LockoutGuard;

  constructor(config: Partial<MockConfig> = {}, clock: Clock = () => Date.now()) {
    this.config = { ...DEFAULT_CONFIG, ...config };
    this.clock = clock;
    this.users = new UserStore(clock, this.config.passwordMinLength);
    this.keys = new KeyStore(clock, this.config.keyPrefix);
    this.sessions = new SessionStore(clock, this.config.jwtTtlS);
    this.audit = new AuditLog(clock);
    this.limiter = new RateLimiter(clock);
    this.lockouts = new LockoutGuard(clock, {
      attempts: this.config.lockoutAttempts,
      windowS: this.config.lockoutWindowS,
      durationS: this.config.lockoutDurationS,
    });
  }

  /** True only while there are no users and no keys. */
  bootstrapStatus(): { needs_bootstrap: boolean; has_db_keys: boolean } {
    const keys = this.keys.byId.size;
    return { needs_bootstrap: this.users.byId.size === 0 && keys === 0, has_db_keys: keys > 0 };
  }

  /** proxbox-api's bootstrap: the first key, owned by a new superuser `admin` without a password. */
  registerFirstKey(apiKey: string, label: string | undefined): { user: UserRecord; key: KeyRecord } {
    const why = suppliedKeyProblem(apiKey, this.config.keyPrefix);
    if (why) throw ApiError.field('body.api_key', why);
    if (!this.bootstrapStatus().needs_bootstrap) {
      throw new ApiError(
        'BOOTSTRAP_DONE',
        'This server is already set up: users or keys exist. Authenticate with an existing key, or ask an administrator for one.',
      );
    }
    const user = this.users.create({ username: 'admin', password: null, is_superuser: true });
    try {
      const name = label?.trim() ? label.trim() : 'bootstrap-key';
      const key = this.keys.create(user, { name, key: apiKey }, 'api', { keyField: 'body.api_key' });
      return { user, key };
    } catch (err) {
      this.users.byId.delete(user.id);
      throw err;
    }
  }

  /** Deletes a user with their keys and sessions. */
  deleteUser(id: string): UserRecord {
    const user = this.users.delete(id);
    this.keys.deleteOwnedBy(id);
    this.sessions.endAllOf(id);
    return user;
  }
}

import { ApiError } from '../api-error.js';
import type { Actor } from '../audit/audit.record.js';
import type { AuditService } from '../audit/audit.service.js';
import { isoAt } from '../keys/key.rules.js';
import type { ServiceDeps } from '../services.js';
import type { Page, PageOf, Store, UserChange, UserFilter } from '../store/store.js';
import { userEventData } from '../webhooks/webhook-events.js';
import type { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import { removesLastSuperuser } from './last-superuser.js';
import { checkNewUser, passwordProblem } from './password-policy.js';
import { newUserRecord, USER_FLAGS, type UserFlags, type UserRecord } from './user.record.js';

export interface NewUser {
  username: string;
  /** Null for a user who cannot log in with a password (bootstrap's admin). */
  password: string | null;
  isSuperuser?: boolean | undefined;
  canCreateTokens?: boolean | undefined;
  canVerifyKeys?: boolean | undefined;
}

// Every change that could remove a superuser takes this lock, so that two concurrent
// demotions cannot both see "one other left".
const SUPERUSER_LOCK = 'superusers';

function lastSuperuserError(user: UserRecord, what: string): ApiError {
  return new ApiError(
    'LAST_SUPERUSER',
    `${user.username} is the last active superuser; ${what} would leave nobody to administer the server. Make another user a superuser first.`,
  );
}

function userNotFound(what: string): ApiError {
  return new ApiError('USER_NOT_FOUND', `No user ${what}.`);
}

/** "is_active: true → false" for each flag that changed. */
function flagChanges(before: UserRecord, after: UserRecord): string {
  const changes = USER_FLAGS.filter((f) => before[f] !== after[f]).map(
    (f) => `${f}: ${before[f]} → ${after[f]}`,
  );
  return `${after.username}: ${changes.length ? changes.join(', ') : 'no change'}`;
}

/**
 * Users, their passwords and flags; every change is audited, raised as a webhook event in
 * the same transaction, and forgotten by the cache.
 */
export class UserService {
  /** Password checks under way, by the cache entry of their pair: concurrent requests share one. */
  private readonly checking = new Map<
    string,
    { generation: number; result: Promise<UserRecord | undefined> }
  >();

  constructor(
    private readonly deps: ServiceDeps,
    private readonly audit: AuditService,
    private readonly outbox: WebhookOutbox,
  ) {}

  private get store(): Store {
    return this.deps.store;
  }

  /** A new user record, its password hashed; refuses a bad username or a weak password. */
  async newRecord(input: NewUser): Promise<UserRecord> {
    checkNewUser(input.username, input.password, this.deps.config.passwordMinLength);
    return newUserRecord(input, {
      id: globalThis.crypto.randomUUID(),
      passwordHash: input.password === null ? null : await this.deps.passwords.hash(input.password),
      now: this.deps.clock(),
    });
  }

  /** Stores a new user record and raises `user.created`; 409 USERNAME_TAKEN when the name is in use. */
  async insert(user: UserRecord, tx: Store = this.store): Promise<void> {
    if (!(await tx.users.insert(user)))
      throw ApiError.field('body.username', 'is already taken', 'USERNAME_TAKEN');
    await this.outbox.raise(tx, 'user.created', userEventData(user));
  }

  /** Creates a user; refuses a bad username, a weak password or a taken username. */
  async create(actor: Actor, input: NewUser): Promise<UserRecord> {
    const user = await this.newRecord(input);
    await this.store.transaction(async (tx) => {
      await this.insert(user, tx);
      await this.audit.record(
        {
          action: 'user.created',
          actor,
          target: { type: 'user', id: user.id },
          detail: `${user.username} (is_superuser: ${user.is_superuser}, can_create_tokens: ${user.can_create_tokens}, can_verify_keys: ${user.can_verify_keys})`,
        },
        tx,
      );
    });
    return user;
  }

  /** The user with this id; 404 USER_NOT_FOUND otherwise. */
  async get(id: string, tx: Store = this.store): Promise<UserRecord> {
    const user = await tx.users.findById(id);
    if (!user) throw userNotFound(`with id ${id}`);
    return user;
  }

  /** The user with this username; 404 USER_NOT_FOUND otherwise. */
  async getByUsername(username: string): Promise<UserRecord> {
    const user = await this.store.users.findByUsername(username);
    if (!user) throw userNotFound(`named "${username}"`);
    return user;
  }

  findByUsername(username: string): Promise<UserRecord | undefined> {
    return this.store.users.findByUsername(username);
  }

  list(filter: UserFilter, page: Page): Promise<PageOf<UserRecord>> {
    return this.store.users.list(filter, page);
  }

  /**
   * Changes a user's flags in one transaction with the last-superuser check, so that no
   * sequence of concurrent changes leaves the server without an active superuser.
   * Deactivation ends the user's sessions; their keys stop at once with the user.
   */
  async updateFlags(actor: Actor, id: string, flags: UserFlags): Promise<UserRecord> {
    const { before, after } = await this.store.transaction(
      async (tx) => {
        const before = await this.get(id, tx);
        const demote: { is_superuser?: boolean; is_active?: boolean } = {};
        if (flags.is_superuser !== undefined) demote.is_superuser = flags.is_superuser;
        if (flags.is_active !== undefined) demote.is_active = flags.is_active;
        if (removesLastSuperuser(before, demote, await tx.users.countOtherActiveSuperusers(id))) {
          throw lastSuperuserError(before, flags.is_active === false ? 'deactivating them' : 'demoting them');
        }
        const change: UserChange = {};
        for (const flag of USER_FLAGS) {
          const value = flags[flag];
          if (value !== undefined && value !== before[flag]) change[flag] = value;
        }
        if (!Object.keys(change).length) return { before, after: before };
        change.updated_at = isoAt(this.deps.clock());
        await tx.users.update(id, change);
        if (change.is_active === false) await tx.sessions.deleteForUser(id);
        const after = { ...before, ...change };
        await this.audit.record(
          { action: 'user.updated', actor, target: { type: 'user', id }, detail: flagChanges(before, after) },
          tx,
        );
        await this.outbox.raise(tx, 'user.updated', {
          ...userEventData(after),
          changes: Object.keys(change).filter((f) => f !== 'updated_at'),
        });
        return { before, after };
      },
      { lock: SUPERUSER_LOCK },
    );
    // After the commit: a read that starts earlier must not cache the old flags.
    if (before !== after) await this.deps.cache.invalidate({ kind: 'user', id });
    return after;
  }

  /**
   * Activates or deactivates a user from the command line. Unlike the API, this may
   * deactivate the last superuser: the operator on the machine is the way back in.
   */
  async setActive(actor: Actor, id: string, active: boolean): Promise<UserRecord> {
    const changed = await this.store.transaction(async (tx) => {
      const before = await this.get(id, tx);
      if (before.is_active === active) return before;
      const after = { ...before, is_active: active, updated_at: isoAt(this.deps.clock()) };
      await tx.users.update(id, { is_active: active, updated_at: after.updated_at });
      if (!active) await tx.sessions.deleteForUser(id);
      await this.audit.record(
        { action: 'user.updated', actor, target: { type: 'user', id }, detail: flagChanges(before, after) },
        tx,
      );
      await this.outbox.raise(tx, 'user.updated', { ...userEventData(after), changes: ['is_active'] });
      return after;
    });
    await this.deps.cache.invalidate({ kind: 'user', id });
    return changed;
  }

  /** Deletes a user with their keys and sessions; never the last active superuser. */
  async delete(actor: Actor, id: string): Promise<UserRecord> {
    const deleted = await this.store.transaction(
      async (tx) => {
        const user = await this.get(id, tx);
        if (removesLastSuperuser(user, 'delete', await tx.users.countOtherActiveSuperusers(id))) {
          throw lastSuperuserError(user, 'deleting them');
        }
        await tx.users.delete(id);
        await this.audit.record(
          {
            action: 'user.deleted',
            actor,
            target: { type: 'user', id },
            detail: `${user.username}, with their keys and sessions`,
          },
          tx,
        );
        await this.outbox.raise(tx, 'user.deleted', userEventData(user));
        return user;
      },
      { lock: SUPERUSER_LOCK },
    );
    await this.deps.cache.invalidate({ kind: 'user', id });
    return deleted;
  }

  /** Sets a new password (the same policy as everywhere) and ends every login of the old one. */
  async resetPassword(actor: Actor, id: string, password: string): Promise<UserRecord> {
    const user = await this.get(id);
    const problem = passwordProblem(password, this.deps.config.passwordMinLength, user.username);
    if (problem) throw ApiError.field('body.password', problem);
    const hash = await this.deps.passwords.hash(password);
    await this.store.transaction(async (tx) => {
      await tx.users.update(id, { password_hash: hash, updated_at: isoAt(this.deps.clock()) });
      await tx.sessions.deleteForUser(id);
      await this.audit.record(
        {
          action: 'user.password_reset',
          actor,
          target: { type: 'user', id },
          detail: `${user.username}: new password, sessions ended`,
        },
        tx,
      );
      await this.outbox.raise(tx, 'user.password_changed', {
        ...userEventData(user),
        by_administrator: true,
      });
    });
    await this.deps.cache.invalidate({ kind: 'user', id });
    return user;
  }

  /**
   * A user changes their own password: the current one must match, the new one follows the
   * policy. Every other login of the user ends (`keepSessionId` is the one making the change,
   * if any); cached credentials of the user are forgotten everywhere.
   */
  async changePassword(
    actor: Actor,
    user: UserRecord,
    current: string,
    next: string,
    keepSessionId?: string,
  ): Promise<{ endedSessions: number }> {
    const stored = await this.get(user.id);
    if (!(await this.deps.passwords.verify(stored.password_hash, current))) {
      await this.audit.record({
        action: 'auth.failed',
        outcome: 'failure',
        actor,
        target: { type: 'user', id: user.id },
        detail: `password change: wrong current password for ${stored.username}`,
      });
      throw ApiError.field('body.current_password', 'is wrong', 'CURRENT_PASSWORD_WRONG');
    }
    const problem = passwordProblem(next, this.deps.config.passwordMinLength, stored.username);
    if (problem) throw ApiError.field('body.new_password', problem);
    const hash = await this.deps.passwords.hash(next);
    const ended = await this.store.transaction(async (tx) => {
      await tx.users.update(user.id, { password_hash: hash, updated_at: isoAt(this.deps.clock()) });
      const sessions = await tx.sessions.deleteForUser(user.id, keepSessionId);
      await this.audit.record(
        {
          action: 'user.password_changed',
          actor,
          target: { type: 'user', id: user.id },
          detail: `${stored.username}: new password, ${sessions.length} other session(s) ended`,
        },
        tx,
      );
      await this.outbox.raise(tx, 'user.password_changed', {
        ...userEventData(stored),
        by_administrator: false,
      });
      return sessions.length;
    });
    await this.deps.cache.invalidate({ kind: 'user', id: user.id });
    return { endedSessions: ended };
  }

  /** The active user with this username and password, or undefined, in the same time either way. */
  async authenticate(username: string, password: string): Promise<UserRecord | undefined> {
    const { cache } = this.deps;
    if (!cache.enabled) return this.checkPassword(username, password);
    // A pair that verified before is found by its cache entry, without a password hash; a
    // wrong password is never cached and always costs the full hash.
    const entry = cache.entryId('basic', `${username}:${password}`);
    const hit = cache.getBasic(entry);
    if (hit) return hit.is_active ? hit : undefined;
    // Requests that arrive while the pair is being checked wait for that check instead of
    // each hashing. A check that started before an invalidation is not joined.
    const generation = cache.generation;
    const running = this.checking.get(entry);
    if (running?.generation === generation) return running.result;
    const result = this.checkPassword(username, password).then((user) => {
      if (user) cache.putBasic(entry, user, generation);
      return user;
    });
    const check = { generation, result };
    this.checking.set(entry, check);
    try {
      return await result;
    } finally {
      if (this.checking.get(entry) === check) this.checking.delete(entry);
    }
  }

  private async checkPassword(username: string, password: string): Promise<UserRecord | undefined> {
    // A NUL cannot be stored as text: such a name belongs to nobody.
    const user = username.includes('\u0000') ? undefined : await this.store.users.findByUsername(username);
    const ok = await this.deps.passwords.verify(user?.password_hash, password);
    return ok && user?.is_active ? user : undefined;
  }

  /** Creates the first superuser from the environment when no user exists yet. */
  async ensureAdmin(actor: Actor, username: string, password: string): Promise<UserRecord | undefined> {
    if ((await this.store.counts()).users > 0) return undefined;
    try {
      return await this.create(actor, { username, password, isSuperuser: true });
    } catch (err) {
      // Another instance starting at the same moment created it first.
      if (err instanceof ApiError && err.code === 'USERNAME_TAKEN') return undefined;
      throw err;
    }
  }
}

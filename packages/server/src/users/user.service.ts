import { randomUUID } from 'node:crypto';
import { ApiError } from '@latchkey/core';
import type { Kysely } from 'kysely';
import { AuthCache } from '../cache/auth-cache.js';
import { isoNow, isUniqueViolation, lockWithinTransaction } from '../db/database.js';
import type { Database } from '../db/database.types.js';
import { removesLastSuperuser, type UserChange } from './last-superuser.js';
import { hashPassword, passwordProblem, verifyPassword } from './password.js';
import { UserRepository } from './user.repository.js';
import type { UserRow } from './user.table.js';

export class UserInputError extends Error {
  constructor(
    readonly field: 'username' | 'password',
    /** What is wrong with the field, for example "is too common". */
    readonly reason: string,
  ) {
    super(`${field} ${reason}`);
    this.name = 'UserInputError';
  }
}

/** The username is well-formed but belongs to someone already. */
export class UsernameTakenError extends UserInputError {
  constructor() {
    super('username', 'is already taken');
    this.name = 'UsernameTakenError';
  }
}

export interface NewUser {
  username: string;
  password: string;
  isSuperuser?: boolean | undefined;
  canCreateTokens?: boolean | undefined;
}

/** The flags an administrator can change. */
export interface UserFlags {
  is_superuser?: boolean | undefined;
  is_active?: boolean | undefined;
  can_create_tokens?: boolean | undefined;
}

const USERNAME = /^[\w.@+-]{1,150}$/;

// Every change that could remove a superuser takes this lock (Postgres; SQLite runs one
// write transaction at a time), so two concurrent demotions cannot both see "one other left".
const SUPERUSER_LOCK = 'superusers';

/** A new user row; without a password (`password_hash` null) nobody can log in as them with one. */
export function newUserRow(
  username: string,
  passwordHash: string | null,
  flags: { isSuperuser?: boolean | undefined; canCreateTokens?: boolean | undefined },
  now: Date = new Date(),
): UserRow {
  const at = isoNow(now);
  return {
    id: randomUUID(),
    username,
    password_hash: passwordHash,
    is_superuser: flags.isSuperuser ? 1 : 0,
    is_active: 1,
    can_create_tokens: flags.canCreateTokens === false ? 0 : 1,
    created_at: at,
    updated_at: at,
  };
}

function lastSuperuserError(user: UserRow, what: string): ApiError {
  return new ApiError(
    'LAST_SUPERUSER',
    `${user.username} is the last active superuser; ${what} would leave nobody to administer the server. Make another user a superuser first.`,
  );
}

export class UserService {
  readonly users: UserRepository;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly passwordMinLength: number,
    /** Verified Basic credentials; every change to a user invalidates what they hold. */
    readonly cache: AuthCache = AuthCache.disabled(),
  ) {
    this.users = new UserRepository(db);
  }

  /** Creates a user; refuses a bad username, a weak password or a taken username. */
  async create(input: NewUser): Promise<UserRow> {
    if (!USERNAME.test(input.username)) {
      throw new UserInputError('username', 'may hold only letters, digits and . @ + - _ (1 to 150)');
    }
    const problem = passwordProblem(input.password, this.passwordMinLength, input.username);
    if (problem) throw new UserInputError('password', problem);
    const row = newUserRow(input.username, await hashPassword(input.password), input);
    try {
      await this.users.insert(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new UsernameTakenError();
      throw err;
    }
    return row;
  }

  /** The user with this id; 404 USER_NOT_FOUND otherwise. */
  async get(id: string): Promise<UserRow> {
    const user = await this.users.findById(id);
    if (!user) throw new ApiError('USER_NOT_FOUND', `No user with id ${id}.`);
    return user;
  }

  /**
   * Changes a user's flags in one transaction with the last-superuser check, so that no
   * sequence of concurrent changes leaves the server without an active superuser.
   * Deactivation goes through setActive: the user's sessions end and keys stop at once.
   */
  async updateFlags(id: string, flags: UserFlags): Promise<{ before: UserRow; after: UserRow }> {
    const changed = await this.db.transaction().execute(async (trx) => {
      await lockWithinTransaction(trx, SUPERUSER_LOCK);
      const inTrx = new UserService(trx, this.passwordMinLength);
      const before = await inTrx.get(id);
      const change: UserChange = {};
      if (flags.is_superuser !== undefined) change.is_superuser = flags.is_superuser;
      if (flags.is_active !== undefined) change.is_active = flags.is_active;
      if (removesLastSuperuser(before, change, await inTrx.users.countOtherActiveSuperusers(id))) {
        throw lastSuperuserError(before, flags.is_active === false ? 'deactivating them' : 'demoting them');
      }
      const now = isoNow();
      const next: Partial<UserRow> = {};
      if (flags.is_superuser !== undefined && Boolean(before.is_superuser) !== flags.is_superuser)
        next.is_superuser = flags.is_superuser ? 1 : 0;
      if (
        flags.can_create_tokens !== undefined &&
        Boolean(before.can_create_tokens) !== flags.can_create_tokens
      )
        next.can_create_tokens = flags.can_create_tokens ? 1 : 0;
      if (Object.keys(next).length) await inTrx.users.update(id, { ...next, updated_at: now });
      if (flags.is_active !== undefined && Boolean(before.is_active) !== flags.is_active) {
        await inTrx.setActive(id, flags.is_active, now);
        next.is_active = flags.is_active ? 1 : 0;
      }
      const after = Object.keys(next).length ? { ...before, ...next, updated_at: now } : before;
      return { before, after };
    });
    // After the commit: a read that starts earlier must not cache the old flags.
    await this.cache.invalidate({ kind: 'user', id });
    return changed;
  }

  /** Deletes a user with their keys and sessions; never the last active superuser. */
  async delete(id: string): Promise<UserRow> {
    const deleted = await this.db.transaction().execute(async (trx) => {
      await lockWithinTransaction(trx, SUPERUSER_LOCK);
      const inTrx = new UserService(trx, this.passwordMinLength);
      const user = await inTrx.get(id);
      if (removesLastSuperuser(user, 'delete', await inTrx.users.countOtherActiveSuperusers(id))) {
        throw lastSuperuserError(user, 'deleting them');
      }
      await inTrx.users.delete(id);
      return user;
    });
    await this.cache.invalidate({ kind: 'user', id });
    return deleted;
  }

  /** Password checks under way, by the cache key of their pair: concurrent requests share one. */
  private readonly checking = new Map<string, { generation: number; result: Promise<UserRow | undefined> }>();

  /** The active user with this username and password, or undefined, in the same time either way. */
  async authenticate(username: string, password: string): Promise<UserRow | undefined> {
    if (!this.cache.enabled) return this.checkPassword(username, password);
    // A pair that verified before is found by its keyed digest, without a password hash;
    // a wrong password is never cached and always costs the full hash.
    const cacheKey = this.cache.basicDigest(username, password);
    const hit = this.cache.getBasic(cacheKey);
    if (hit) return hit.is_active ? hit : undefined;
    // When an entry expires under load, the requests that arrive during the hash wait for
    // it instead of each running argon2 (50 at once stalled a core for half a second). A
    // check that started before an invalidation is not joined.
    const generation = this.cache.generation;
    const running = this.checking.get(cacheKey);
    if (running?.generation === generation) return running.result;
    const result = this.checkPassword(username, password).then((user) => {
      if (user) this.cache.putBasic(cacheKey, user, generation);
      return user;
    });
    const entry = { generation, result };
    this.checking.set(cacheKey, entry);
    try {
      return await result;
    } finally {
      if (this.checking.get(cacheKey) === entry) this.checking.delete(cacheKey);
    }
  }

  private async checkPassword(username: string, password: string): Promise<UserRow | undefined> {
    // A NUL cannot be stored as text: such a name belongs to nobody.
    const user = username.includes('\u0000') ? undefined : await this.users.findByUsername(username);
    const ok = await verifyPassword(user?.password_hash, password);
    return ok && user?.is_active ? user : undefined;
  }

  async setPassword(user: UserRow, password: string): Promise<void> {
    const problem = passwordProblem(password, this.passwordMinLength, user.username);
    if (problem) throw new UserInputError('password', problem);
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set({ password_hash: await hashPassword(password), updated_at: isoNow() })
        .where('id', '=', user.id)
        .execute();
      // A new password ends every login of the old one.
      await trx.deleteFrom('sessions').where('user_id', '=', user.id).execute();
    });
    await this.cache.invalidate({ kind: 'user', id: user.id });
  }

  /**
   * Activates or deactivates a user. Deactivation ends their login sessions; their keys
   * stop authenticating at once because every check joins the user's is_active flag.
   */
  async setActive(userId: string, active: boolean, now: string = isoNow()): Promise<void> {
    const write = async (db: Kysely<Database>) => {
      await db
        .updateTable('users')
        .set({ is_active: active ? 1 : 0, updated_at: now })
        .where('id', '=', userId)
        .execute();
      if (!active) await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
    };
    // Within a transaction already (updateFlags), its writes join it.
    if (this.db.isTransaction) {
      // The caller (updateFlags) invalidates once its transaction commits.
      await write(this.db);
    } else {
      await this.db.transaction().execute(write);
      await this.cache.invalidate({ kind: 'user', id: userId });
    }
  }

  /** Creates the first superuser from the environment when no user exists yet. */
  async ensureAdmin(username: string, password: string): Promise<UserRow | undefined> {
    if ((await this.users.count()) > 0) return undefined;
    try {
      return await this.create({ username, password, isSuperuser: true });
    } catch (err) {
      // Another instance starting at the same moment created it first.
      if (
        err instanceof UserInputError &&
        err.field === 'username' &&
        (await this.users.findByUsername(username))
      ) {
        return undefined;
      }
      throw err;
    }
  }
}

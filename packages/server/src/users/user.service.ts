import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isoNow, isUniqueViolation } from '../db/database.js';
import type { Database } from '../db/database.types.js';
import { hashPassword, passwordProblem, verifyPassword } from './password.js';
import { UserRepository } from './user.repository.js';
import type { UserRow } from './user.table.js';

export class UserInputError extends Error {
  constructor(
    readonly field: 'username' | 'password',
    message: string,
  ) {
    super(`${field} ${message}`);
    this.name = 'UserInputError';
  }
}

export interface NewUser {
  username: string;
  password: string;
  isSuperuser?: boolean;
  canCreateTokens?: boolean;
}

const USERNAME = /^[\w.@+-]{1,150}$/;

export class UserService {
  readonly users: UserRepository;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly passwordMinLength: number,
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
    const now = isoNow();
    const row: UserRow = {
      id: randomUUID(),
      username: input.username,
      password_hash: await hashPassword(input.password),
      is_superuser: input.isSuperuser ? 1 : 0,
      is_active: 1,
      can_create_tokens: input.canCreateTokens === false ? 0 : 1,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.users.insert(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new UserInputError('username', 'is already taken');
      throw err;
    }
    return row;
  }

  /** The active user with this username and password, or undefined, in the same time either way. */
  async authenticate(username: string, password: string): Promise<UserRow | undefined> {
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
  }

  /**
   * Activates or deactivates a user. Deactivation ends their login sessions; their keys
   * stop authenticating at once because every check joins the user's is_active flag.
   */
  async setActive(userId: string, active: boolean): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set({ is_active: active ? 1 : 0, updated_at: isoNow() })
        .where('id', '=', userId)
        .execute();
      if (!active) await trx.deleteFrom('sessions').where('user_id', '=', userId).execute();
    });
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

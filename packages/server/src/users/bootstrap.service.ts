import { ApiError } from '@latchkey/core';
import type { Kysely } from 'kysely';
import { lockWithinTransaction } from '../db/database.js';
import type { Database } from '../db/database.types.js';
import type { KeyService } from '../keys/key.service.js';
import type { ApiKeyRow } from '../keys/key.table.js';
import { UserRepository } from './user.repository.js';
import { newUserRow } from './user.service.js';
import type { UserRow } from './user.table.js';

/** The superuser that register-key creates; it has no password until an admin sets one. */
export const BOOTSTRAP_USERNAME = 'admin';
export const DEFAULT_BOOTSTRAP_LABEL = 'bootstrap-key';

export interface BootstrapStatus {
  needsBootstrap: boolean;
  hasDbKeys: boolean;
}

/** Pure: the first key may be registered without authentication only while nothing exists. */
export function bootstrapStatus(counts: { users: number; keys: number }): BootstrapStatus {
  return { needsBootstrap: counts.users === 0 && counts.keys === 0, hasDbKeys: counts.keys > 0 };
}

async function countRows(db: Kysely<Database>): Promise<{ users: number; keys: number }> {
  const [users, keys] = await Promise.all([
    db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { users: Number(users.n), keys: Number(keys.n) };
}

/**
 * proxbox-api's bootstrap: while the database holds no user and no key, the first key can
 * be registered without authentication; it belongs to a new superuser.
 */
export class BootstrapService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly keys: KeyService,
  ) {}

  async status(): Promise<BootstrapStatus> {
    return bootstrapStatus(await countRows(this.db));
  }

  /**
   * Registers `apiKey` for a new superuser `admin` without a password. The check and both
   * inserts are one transaction under one lock, so of concurrent calls exactly one wins;
   * the others, and every later call, get 409 BOOTSTRAP_DONE.
   */
  async register(apiKey: string, label: string | undefined): Promise<{ user: UserRow; key: ApiKeyRow }> {
    const why = this.keys.suppliedKeyProblem(apiKey);
    if (why) throw ApiError.field('body.api_key', why);
    const name = label?.trim() ? label.trim() : DEFAULT_BOOTSTRAP_LABEL;
    return this.db.transaction().execute(async (trx) => {
      await lockWithinTransaction(trx, 'bootstrap');
      if (!bootstrapStatus(await countRows(trx)).needsBootstrap) {
        throw new ApiError(
          'BOOTSTRAP_DONE',
          'This server is already set up: users or keys exist. Authenticate with an existing key, or ask an administrator for one.',
        );
      }
      const user = newUserRow(BOOTSTRAP_USERNAME, null, { isSuperuser: true, canCreateTokens: true });
      await new UserRepository(trx).insert(user);
      const { row } = await this.keys.withinTransaction(trx).create(user, { name, key: apiKey }, 'api');
      return { user, key: row };
    });
  }
}

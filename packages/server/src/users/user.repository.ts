import type { Page, PageOf, UserChange, UserFilter, UserRecord, UserRepository } from '@latchkey/core';
import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../db/database.js';
import type { Database } from '../db/database.types.js';
import type { NewUserRow, UserRow, UserRowUpdate } from './user.table.js';

/** A stored row as the rules see it. */
export function toUserRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    password_hash: row.password_hash,
    is_superuser: Boolean(row.is_superuser),
    is_active: Boolean(row.is_active),
    can_create_tokens: Boolean(row.can_create_tokens),
    can_verify_keys: Boolean(row.can_verify_keys),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function toUserRow(user: UserRecord): NewUserRow {
  return {
    ...user,
    is_superuser: user.is_superuser ? 1 : 0,
    is_active: user.is_active ? 1 : 0,
    can_create_tokens: user.can_create_tokens ? 1 : 0,
    can_verify_keys: user.can_verify_keys ? 1 : 0,
  };
}

function toRowUpdate(change: UserChange): UserRowUpdate {
  const out: UserRowUpdate = {};
  if (change.is_superuser !== undefined) out.is_superuser = change.is_superuser ? 1 : 0;
  if (change.is_active !== undefined) out.is_active = change.is_active ? 1 : 0;
  if (change.can_create_tokens !== undefined) out.can_create_tokens = change.can_create_tokens ? 1 : 0;
  if (change.can_verify_keys !== undefined) out.can_verify_keys = change.can_verify_keys ? 1 : 0;
  if (change.password_hash !== undefined) out.password_hash = change.password_hash;
  if (change.updated_at !== undefined) out.updated_at = change.updated_at;
  return out;
}

/** Users in SQLite or Postgres. */
export class KyselyUserRepository implements UserRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async findById(id: string): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUserRecord(row);
  }

  async findByUsername(username: string): Promise<UserRecord | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    return row && toUserRecord(row);
  }

  async list(filter: UserFilter, page: Page): Promise<PageOf<UserRecord>> {
    let query = this.db.selectFrom('users');
    if (filter.isActive !== undefined) query = query.where('is_active', '=', filter.isActive ? 1 : 0);
    if (filter.isSuperuser !== undefined)
      query = query.where('is_superuser', '=', filter.isSuperuser ? 1 : 0);
    const [{ n } = { n: 0 }] = await query
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .execute();
    const rows = await query
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .limit(page.limit)
      .offset(page.offset)
      .execute();
    return { count: Number(n), rows: rows.map(toUserRecord) };
  }

  async countOtherActiveSuperusers(exceptId: string): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('is_superuser', '=', 1)
      .where('is_active', '=', 1)
      .where('id', '!=', exceptId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(user: UserRecord): Promise<boolean> {
    try {
      await this.db.insertInto('users').values(toUserRow(user)).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async update(id: string, change: UserChange): Promise<void> {
    await this.db.updateTable('users').set(toRowUpdate(change)).where('id', '=', id).execute();
  }

  /** Deletes a user; their keys and sessions go with them (ON DELETE CASCADE). */
  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('users').where('id', '=', id).execute();
  }
}

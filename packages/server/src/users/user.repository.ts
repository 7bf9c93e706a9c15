import type { Kysely } from 'kysely';
import type { Database } from '../db/database.types.js';
import type { NewUserRow, UserRow, UserRowUpdate } from './user.table.js';

export class UserRepository {
  constructor(private readonly db: Kysely<Database>) {}

  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByUsername(username: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  list(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('created_at').orderBy('username').execute();
  }

  /** A page of users, oldest first, with optional flag filters. */
  async listPage(
    filter: { isActive?: boolean | undefined; isSuperuser?: boolean | undefined },
    page: { limit: number; offset: number },
  ): Promise<{ count: number; rows: UserRow[] }> {
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
    return { count: Number(n), rows };
  }

  /** How many active superusers exist besides the given user. */
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

  async insert(row: NewUserRow): Promise<void> {
    await this.db.insertInto('users').values(row).execute();
  }

  async update(id: string, patch: UserRowUpdate): Promise<void> {
    await this.db.updateTable('users').set(patch).where('id', '=', id).execute();
  }

  /** Deletes a user; their keys and sessions go with them (ON DELETE CASCADE). */
  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('users').where('id', '=', id).execute();
  }
}

import type { FoundSession, SessionRecord, SessionRepository } from '@latchkey/core';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.types.js';
import { toUserRecord } from '../users/user.repository.js';

/** Login sessions in SQLite or Postgres. */
export class KyselySessionRepository implements SessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(session: SessionRecord): Promise<void> {
    await this.db.insertInto('sessions').values(session).execute();
  }

  private async findOne(where: { id?: string; digest?: string }): Promise<FoundSession | undefined> {
    let query = this.db
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .selectAll('s')
      .select([
        'u.username',
        'u.password_hash',
        'u.is_superuser',
        'u.is_active',
        'u.can_create_tokens',
        'u.can_verify_keys',
        'u.created_at as u_created_at',
        'u.updated_at as u_updated_at',
      ]);
    if (where.id !== undefined) query = query.where('s.id', '=', where.id);
    if (where.digest !== undefined) query = query.where('s.digest', '=', where.digest);
    const row = await query.executeTakeFirst();
    if (!row) return undefined;
    return {
      session: {
        id: row.id,
        user_id: row.user_id,
        digest: row.digest,
        csrf_token: row.csrf_token,
        created_at: row.created_at,
        expires_at: row.expires_at,
      },
      user: toUserRecord({
        id: row.user_id,
        username: row.username,
        password_hash: row.password_hash,
        is_superuser: row.is_superuser,
        is_active: row.is_active,
        can_create_tokens: row.can_create_tokens,
        can_verify_keys: row.can_verify_keys,
        created_at: row.u_created_at,
        updated_at: row.u_updated_at,
      }),
    };
  }

  findById(id: string): Promise<FoundSession | undefined> {
    return this.findOne({ id });
  }

  findByDigest(digest: string): Promise<FoundSession | undefined> {
    return this.findOne({ digest });
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id', '=', id).execute();
  }

  async deleteForUser(userId: string, exceptId?: string): Promise<string[]> {
    let query = this.db.deleteFrom('sessions').where('user_id', '=', userId);
    if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
    const rows = await query.returning('id').execute();
    return rows.map((r) => r.id);
  }

  async prune(now: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
  }
}

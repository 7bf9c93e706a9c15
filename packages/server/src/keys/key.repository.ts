import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from '../db/database.types.js';
import type { UserRow } from '../users/user.table.js';
import type { ApiKeyRow, ApiKeyRowUpdate, NewApiKeyRow } from './key.table.js';

export interface KeyWithOwner {
  key: ApiKeyRow;
  user: UserRow;
}

/** Last-used rows per transaction, on either path (this one, or the SQLite writer thread). */
export const USAGE_CHUNK = 500;

const KEY_COLUMNS = [
  'k.id',
  'k.user_id',
  'k.name',
  'k.start',
  'k.digest',
  'k.pepper_id',
  'k.write_enabled',
  'k.is_active',
  'k.expires_at',
  'k.allowed_ips',
  'k.created_at',
  'k.updated_at',
  'k.last_used_at',
  'k.last_used_ip',
  'k.created_via',
  'k.rotated_from_id',
  'k.sealed_key',
  'k.rate_limit',
  'k.rate_window_s',
] as const;

type DigestRow = Awaited<ReturnType<ReturnType<KeyRepository['selectByDigest']>['executeTakeFirstOrThrow']>>;

export class KeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private selectByDigest(digest: string) {
    return this.db
      .selectFrom('api_keys as k')
      .innerJoin('users as u', 'u.id', 'k.user_id')
      .select(KEY_COLUMNS)
      .select([
        'u.username as u_username',
        'u.password_hash as u_password_hash',
        'u.is_superuser as u_is_superuser',
        'u.is_active as u_is_active',
        'u.can_create_tokens as u_can_create_tokens',
        'u.created_at as u_created_at',
        'u.updated_at as u_updated_at',
      ])
      .where('k.digest', '=', digest);
  }

  /** Built and compiled once: building the query per request cost more than running it. */
  private digestQuery: CompiledQuery<DigestRow> | undefined;

  /** The hot path: one read through the unique digest index, joined with the owner. */
  async findByDigest(digest: string): Promise<KeyWithOwner | undefined> {
    this.digestQuery ??= this.selectByDigest('').compile();
    const { rows } = await this.db.executeQuery<DigestRow>({ ...this.digestQuery, parameters: [digest] });
    const row = rows[0];
    if (!row) return undefined;
    const {
      u_username,
      u_password_hash,
      u_is_superuser,
      u_is_active,
      u_can_create_tokens,
      u_created_at,
      u_updated_at,
      ...key
    } = row;
    return {
      key,
      user: {
        id: key.user_id,
        username: u_username,
        password_hash: u_password_hash,
        is_superuser: u_is_superuser,
        is_active: u_is_active,
        can_create_tokens: u_can_create_tokens,
        created_at: u_created_at,
        updated_at: u_updated_at,
      },
    };
  }

  findOwned(userId: string, id: string): Promise<ApiKeyRow | undefined> {
    return this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }

  async listOwned(
    userId: string,
    page: { limit: number; offset: number; isActive?: boolean | undefined },
  ): Promise<{ count: number; rows: ApiKeyRow[] }> {
    let query = this.db.selectFrom('api_keys').where('user_id', '=', userId);
    if (page.isActive !== undefined) query = query.where('is_active', '=', page.isActive ? 1 : 0);
    const [{ n } = { n: 0 }] = await query
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .execute();
    const rows = await query
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute();
    return { count: Number(n), rows };
  }

  findById(id: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Every user's keys, newest first: the admin list, with its filters. */
  async listAll(
    filter: { userId?: string | undefined; isActive?: boolean | undefined; expired?: boolean | undefined },
    nowIso: string,
    page: { limit: number; offset: number },
  ): Promise<{ count: number; rows: ApiKeyRow[] }> {
    let query = this.db.selectFrom('api_keys');
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
    if (filter.isActive !== undefined) query = query.where('is_active', '=', filter.isActive ? 1 : 0);
    // Timestamps are fixed-width ISO strings, so they compare as text; a key expires at expires_at.
    if (filter.expired === true)
      query = query.where('expires_at', 'is not', null).where('expires_at', '<=', nowIso);
    if (filter.expired === false)
      query = query.where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', nowIso)]));
    const [{ n } = { n: 0 }] = await query
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .execute();
    const rows = await query
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute();
    return { count: Number(n), rows };
  }

  /** The newest token that get_api_token issued to this user and that still works. */
  newestIssuedToken(userId: string, nowIso: string): Promise<ApiKeyRow | undefined> {
    return this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .where('created_via', '=', 'get_api_token')
      .where('is_active', '=', 1)
      .where('sealed_key', 'is not', null)
      .where('expires_at', '>', nowIso)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  async insert(row: NewApiKeyRow): Promise<void> {
    await this.db.insertInto('api_keys').values(row).execute();
  }

  async update(id: string, patch: ApiKeyRowUpdate): Promise<void> {
    await this.db.updateTable('api_keys').set(patch).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('api_keys').where('id', '=', id).execute();
  }

  /**
   * Writes buffered last-used times, 500 keys per transaction: a batch can hold every key
   * used in the last seconds, and on SQLite a transaction holds the one connection, so one
   * big transaction would stall every lookup behind it. The statement is compiled once.
   */
  async recordUsage(entries: { id: string; at: string; ip: string }[]): Promise<void> {
    for (let start = 0; start < entries.length; start += USAGE_CHUNK) {
      const chunk = entries.slice(start, start + USAGE_CHUNK);
      await this.db.transaction().execute(async (trx) => {
        const update = trx
          .updateTable('api_keys')
          .set({ last_used_at: '', last_used_ip: '' })
          .where('id', '=', '')
          .compile();
        for (const e of chunk) {
          await trx.executeQuery({ ...update, parameters: [e.at, e.ip, e.id] });
        }
      });
    }
  }
}

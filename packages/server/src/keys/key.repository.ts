import type {
  KeyChange,
  KeyFilter,
  KeyRecord,
  KeyRepository,
  KeyWithOwner,
  Page,
  PageOf,
  UsageEntry,
} from '@latchkey/core';
import type { CompiledQuery, Kysely } from 'kysely';
import { isUniqueViolation } from '../db/database.js';
import type { Database } from '../db/database.types.js';
import { toUserRecord } from '../users/user.repository.js';
import type { ApiKeyRow, ApiKeyRowUpdate, NewApiKeyRow } from './key.table.js';

/** Last-used rows per transaction, on either path (this one, or the SQLite writer thread). */
export const USAGE_CHUNK = 500;

const NO_RULES: string[] = [];

/** A stored row as the rules see it: booleans, arrays, one rate-limit object. */
export function toKeyRecord(row: ApiKeyRow): KeyRecord {
  return {
    id: row.id,
    user_id: row.user_id,
    name: row.name,
    start: row.start,
    digest: row.digest,
    pepper_id: row.pepper_id,
    write_enabled: Boolean(row.write_enabled),
    is_active: Boolean(row.is_active),
    expires_at: row.expires_at,
    // Most keys have no address rules: no JSON parse for them.
    allowed_ips: row.allowed_ips === '[]' ? NO_RULES : (JSON.parse(row.allowed_ips) as string[]),
    rate_limit:
      row.rate_limit !== null && row.rate_window_s !== null
        ? { limit: row.rate_limit, window_s: row.rate_window_s }
        : null,
    permissions: row.permissions === null ? null : (JSON.parse(row.permissions) as string[]),
    created_at: row.created_at,
    updated_at: row.updated_at,
    last_used_at: row.last_used_at,
    last_used_ip: row.last_used_ip,
    created_via: row.created_via,
    rotated_from_id: row.rotated_from_id,
    sealed_key: row.sealed_key,
  };
}

function toKeyRow(key: KeyRecord): NewApiKeyRow {
  return {
    id: key.id,
    user_id: key.user_id,
    name: key.name,
    start: key.start,
    digest: key.digest,
    pepper_id: key.pepper_id,
    write_enabled: key.write_enabled ? 1 : 0,
    is_active: key.is_active ? 1 : 0,
    expires_at: key.expires_at,
    allowed_ips: JSON.stringify(key.allowed_ips),
    created_at: key.created_at,
    updated_at: key.updated_at,
    last_used_at: key.last_used_at,
    last_used_ip: key.last_used_ip,
    created_via: key.created_via,
    rotated_from_id: key.rotated_from_id,
    sealed_key: key.sealed_key,
    rate_limit: key.rate_limit?.limit ?? null,
    rate_window_s: key.rate_limit?.window_s ?? null,
    permissions: key.permissions === null ? null : JSON.stringify(key.permissions),
  };
}

function toRowUpdate(change: KeyChange): ApiKeyRowUpdate {
  const out: ApiKeyRowUpdate = {};
  if (change.name !== undefined) out.name = change.name;
  if (change.write_enabled !== undefined) out.write_enabled = change.write_enabled ? 1 : 0;
  if (change.is_active !== undefined) out.is_active = change.is_active ? 1 : 0;
  if (change.expires_at !== undefined) out.expires_at = change.expires_at;
  if (change.allowed_ips !== undefined) out.allowed_ips = JSON.stringify(change.allowed_ips);
  if (change.permissions !== undefined)
    out.permissions = change.permissions === null ? null : JSON.stringify(change.permissions);
  if (change.updated_at !== undefined) out.updated_at = change.updated_at;
  return out;
}

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
  'k.permissions',
] as const;

type DigestRow = Awaited<
  ReturnType<ReturnType<KyselyKeyRepository['selectByDigest']>['executeTakeFirstOrThrow']>
>;

/** API keys in SQLite or Postgres. */
export class KyselyKeyRepository implements KeyRepository {
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
        'u.can_verify_keys as u_can_verify_keys',
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
      u_can_verify_keys,
      u_created_at,
      u_updated_at,
      ...key
    } = row;
    return {
      key: toKeyRecord(key),
      user: toUserRecord({
        id: key.user_id,
        username: u_username,
        password_hash: u_password_hash,
        is_superuser: u_is_superuser,
        is_active: u_is_active,
        can_create_tokens: u_can_create_tokens,
        can_verify_keys: u_can_verify_keys,
        created_at: u_created_at,
        updated_at: u_updated_at,
      }),
    };
  }

  async findById(id: string): Promise<KeyRecord | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toKeyRecord(row);
  }

  async list(filter: KeyFilter, page: Page): Promise<PageOf<KeyRecord>> {
    let query = this.db.selectFrom('api_keys');
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
    if (filter.isActive !== undefined) query = query.where('is_active', '=', filter.isActive ? 1 : 0);
    // Timestamps are fixed-width ISO strings, so they compare as text; a key expires at expires_at.
    if (filter.expired === true)
      query = query.where('expires_at', 'is not', null).where('expires_at', '<=', filter.now);
    if (filter.expired === false)
      query = query.where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', filter.now)]));
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
    return { count: Number(n), rows: rows.map(toKeyRecord) };
  }

  async newestIssuedToken(userId: string, now: string): Promise<KeyRecord | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .where('created_via', '=', 'get_api_token')
      .where('is_active', '=', 1)
      .where('sealed_key', 'is not', null)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toKeyRecord(row);
  }

  async insert(key: KeyRecord): Promise<boolean> {
    try {
      await this.db.insertInto('api_keys').values(toKeyRow(key)).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async update(id: string, change: KeyChange): Promise<void> {
    await this.db.updateTable('api_keys').set(toRowUpdate(change)).where('id', '=', id).execute();
  }

  async claimForRotation(
    id: string,
    expected: Pick<KeyRecord, 'updated_at' | 'expires_at'>,
    change: Pick<KeyRecord, 'updated_at' | 'expires_at'>,
  ): Promise<boolean> {
    // On Postgres a concurrent claim waits for the row and then sees updated_at changed.
    const claimed = await this.db
      .updateTable('api_keys')
      .set({ expires_at: change.expires_at, updated_at: change.updated_at })
      .where('id', '=', id)
      .where('is_active', '=', 1)
      .where('updated_at', '=', expected.updated_at)
      .where((eb) =>
        expected.expires_at === null
          ? eb('expires_at', 'is', null)
          : eb('expires_at', '=', expected.expires_at),
      )
      .where((eb) =>
        eb.not(eb.exists(eb.selectFrom('api_keys as s').select('s.id').where('s.rotated_from_id', '=', id))),
      )
      .executeTakeFirst();
    return Number(claimed.numUpdatedRows) === 1;
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await this.db.deleteFrom('api_keys').where('id', '=', id).executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  }

  /**
   * Writes buffered last-used times, 500 keys per transaction: a batch can hold every key
   * used in the last seconds, and on SQLite a transaction holds the one connection, so one
   * big transaction would stall every lookup behind it. The statement is compiled once.
   */
  async recordUsage(entries: readonly UsageEntry[]): Promise<void> {
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

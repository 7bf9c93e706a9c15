import { type Kysely, SqliteAdapter, sql } from 'kysely';

// Permissions on keys (a JSON list, or null for everything the owner may do) and the flag
// that lets a user verify keys for other services. On SQLite, the change-log trigger of
// api_keys names its columns: it is made again with the new one, so that a change of a
// key's permissions by another process reaches this server's cache.

const KEY_COLUMNS = [
  'id',
  'user_id',
  'name',
  'start',
  'digest',
  'pepper_id',
  'write_enabled',
  'is_active',
  'expires_at',
  'allowed_ips',
  'created_at',
  'updated_at',
  'created_via',
  'rotated_from_id',
  'sealed_key',
  'rate_limit',
  'rate_window_s',
];

const isSqlite = (db: Kysely<unknown>) => db.getExecutor().adapter instanceof SqliteAdapter;

async function keyTrigger(db: Kysely<unknown>, columns: string[]): Promise<void> {
  await sql`drop trigger if exists api_keys_changed`.execute(db);
  await sql
    .raw(
      `create trigger api_keys_changed after update of ${columns.join(', ')} on api_keys begin insert into credential_changes (kind, ref) values ('key', old.id); end`,
    )
    .execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('permissions', 'text').execute();
  await db.schema
    .alterTable('users')
    .addColumn('can_verify_keys', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  if (isSqlite(db)) await keyTrigger(db, [...KEY_COLUMNS, 'permissions']);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (isSqlite(db)) await keyTrigger(db, KEY_COLUMNS);
  await db.schema.alterTable('users').dropColumn('can_verify_keys').execute();
  await db.schema.alterTable('api_keys').dropColumn('permissions').execute();
}

import { type Kysely, SqliteAdapter, sql } from 'kysely';

// SQLite only: a counter that every change to a credential bumps, whichever connection makes
// it (this server, the CLI, the sqlite3 shell), except the last-used times that the usage
// writer thread records. The server reads it every 250 ms and forgets its cached credentials
// when it moved (src/cache/invalidation-bus.ts). `PRAGMA data_version` cannot tell the usage
// writer's commits from the CLI's: both come from another connection.
// Postgres deployments tell other instances through Redis and have no such table.

/** Every api_keys column but last_used_at and last_used_ip. A new column belongs here too. */
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

const TRIGGERS: [name: string, event: string][] = [
  ['api_keys_changed', `after update of ${KEY_COLUMNS.join(', ')} on api_keys`],
  ['api_keys_deleted', 'after delete on api_keys'],
  ['users_changed', 'after update on users'],
  ['users_deleted', 'after delete on users'],
  ['sessions_changed', 'after update on sessions'],
  ['sessions_deleted', 'after delete on sessions'],
];

const isSqlite = (db: Kysely<unknown>) => db.getExecutor().adapter instanceof SqliteAdapter;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isSqlite(db)) return;
  await sql`create table credential_changes (id integer primary key check (id = 1), n integer not null)`.execute(
    db,
  );
  await sql`insert into credential_changes (id, n) values (1, 0)`.execute(db);
  for (const [name, event] of TRIGGERS) {
    await sql
      .raw(`create trigger ${name} ${event} begin update credential_changes set n = n + 1; end`)
      .execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!isSqlite(db)) return;
  for (const [name] of TRIGGERS) await sql.raw(`drop trigger if exists ${name}`).execute(db);
  await sql`drop table credential_changes`.execute(db);
}

import { type Kysely, SqliteAdapter, sql } from 'kysely';

// SQLite only: a log of which key, user or session changed, written by triggers whatever
// connection makes the change (this server, the CLI, the sqlite3 shell), except the
// last-used times that the usage writer thread records. The server reads the new rows every
// 250 ms and forgets exactly those credentials from its cache (src/cache/invalidation-bus.ts).
// `PRAGMA data_version` cannot tell the usage writer's commits from the CLI's: both come
// from another connection. Postgres deployments tell other instances through Redis and
// have no such table.

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

const TRIGGERS: [name: string, event: string, kind: 'key' | 'user' | 'session'][] = [
  ['api_keys_changed', `after update of ${KEY_COLUMNS.join(', ')} on api_keys`, 'key'],
  ['api_keys_deleted', 'after delete on api_keys', 'key'],
  ['users_changed', 'after update on users', 'user'],
  ['users_deleted', 'after delete on users', 'user'],
  ['sessions_changed', 'after update on sessions', 'session'],
  ['sessions_deleted', 'after delete on sessions', 'session'],
];

const isSqlite = (db: Kysely<unknown>) => db.getExecutor().adapter instanceof SqliteAdapter;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isSqlite(db)) return;
  await sql`create table credential_changes (
    seq integer primary key autoincrement,
    at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    kind text not null,
    ref text not null
  )`.execute(db);
  for (const [name, event, kind] of TRIGGERS) {
    await sql
      .raw(
        `create trigger ${name} ${event} begin insert into credential_changes (kind, ref) values ('${kind}', old.id); end`,
      )
      .execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!isSqlite(db)) return;
  for (const [name] of TRIGGERS) await sql.raw(`drop trigger if exists ${name}`).execute(db);
  await sql`drop table credential_changes`.execute(db);
}

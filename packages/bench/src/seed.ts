import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { CLI_ACTOR, generateKey, keyStart } from '@latchkey/core';
import type { Config } from '@latchkey/server';
import { createApp, loadConfig } from '@latchkey/server';
import Database from 'better-sqlite3';
import { digestSecret } from '../../server/src/keys/key.hash.js';

export const BENCH_USER = 'bench';
export const BENCH_PASSWORD = 'bench-password-123';
export const KEY_PREFIX = 'lk_';

export interface Seeded {
  /** The key used by the "hot key" runs. */
  hotKey: string;
  /** Another key of the same user: the one the verify row asks about. */
  otherKey: string;
  /** A file with one key per line, the hot key first. */
  keysFile: string;
  count: number;
}

interface KeyRow {
  id: string;
  user_id: string;
  name: string;
  start: string;
  digest: string;
  pepper_id: string;
  write_enabled: number;
  is_active: number;
  expires_at: null;
  allowed_ips: string;
  created_at: string;
  updated_at: string;
  last_used_at: null;
  last_used_ip: null;
  created_via: 'cli';
  rotated_from_id: null;
  sealed_key: null;
  rate_limit: null;
  rate_window_s: null;
  permissions: null;
}

/** Keys made as Latchkey makes them, stored as Latchkey stores them (HMAC-SHA256 with the pepper). */
function* keyRows(
  pepper: Buffer,
  template: { user_id: string; pepper_id: string },
  count: number,
  out: string[],
): Generator<KeyRow> {
  const at = new Date().toISOString();
  for (let i = 0; i < count; i++) {
    const key = generateKey(KEY_PREFIX);
    out.push(key);
    yield {
      id: randomUUID(),
      user_id: template.user_id,
      name: `bench-${i}`,
      start: keyStart(key, KEY_PREFIX),
      digest: digestSecret(pepper, key),
      pepper_id: template.pepper_id,
      write_enabled: 1,
      is_active: 1,
      expires_at: null,
      allowed_ips: '[]',
      created_at: at,
      updated_at: at,
      last_used_at: null,
      last_used_ip: null,
      created_via: 'cli',
      rotated_from_id: null,
      sealed_key: null,
      rate_limit: null,
      rate_window_s: null,
      permissions: null,
    };
  }
}

/** Migrates through Latchkey itself and creates the bench user and the hot key. */
async function prepare(env: Record<string, string>, database: Config['database']) {
  const config: Config = { ...loadConfig({ ...env, LATCHKEY_LOG_LEVEL: 'silent' }), database };
  const app = await createApp(config);
  const user = await app.services.users.create(CLI_ACTOR, {
    username: BENCH_USER,
    password: BENCH_PASSWORD,
    isSuperuser: false,
    // The verify row: the bench user verifies another of its keys.
    canVerifyKeys: true,
  });
  const { key, plaintext } = await app.services.keys.create(CLI_ACTOR, user, { name: 'hot' }, 'cli');
  // The stored row, whose columns the bulk inserts below repeat.
  const row = await app.storage.db
    .selectFrom('api_keys')
    .selectAll()
    .where('id', '=', key.id)
    .executeTakeFirstOrThrow();
  return { app, user, hotRow: row, hotKey: plaintext };
}

/** A SQLite database with `count` keys, written directly (a million take seconds). */
export async function seedSqlite(
  env: Record<string, string>,
  file: string,
  count: number,
  keysFile: string,
): Promise<Seeded> {
  const { app, hotRow, hotKey } = await prepare(env, { kind: 'sqlite', file });
  await app.close();
  const pepper = Buffer.from(env.LATCHKEY_KEY_PEPPER as string, 'utf8');
  const keys = [hotKey];
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const columns = Object.keys(hotRow);
  const insert = db.prepare(
    `insert into api_keys (${columns.join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`,
  );
  const batch = db.transaction((rows: KeyRow[]) => {
    for (const r of rows) insert.run(r);
  });
  let rows: KeyRow[] = [];
  for (const r of keyRows(pepper, hotRow, count - 1, keys)) {
    rows.push(r);
    if (rows.length === 50_000) {
      batch(rows);
      rows = [];
    }
  }
  batch(rows);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  writeFileSync(keysFile, `${keys.join('\n')}\n`);
  return { hotKey, otherKey: keys[1] ?? hotKey, keysFile, count };
}

/** A Postgres schema with `count` keys, inserted 1000 rows per statement. */
export async function seedPostgres(
  env: Record<string, string>,
  url: string,
  schema: string,
  count: number,
  keysFile: string,
): Promise<Seeded> {
  const { app, hotRow, hotKey } = await prepare(env, { kind: 'postgres', url, schema });
  const pepper = Buffer.from(env.LATCHKEY_KEY_PEPPER as string, 'utf8');
  const keys = [hotKey];
  let rows: KeyRow[] = [];
  try {
    for (const r of keyRows(pepper, hotRow, count - 1, keys)) {
      rows.push(r);
      if (rows.length === 1000) {
        await app.storage.db.insertInto('api_keys').values(rows).execute();
        rows = [];
      }
    }
    if (rows.length) await app.storage.db.insertInto('api_keys').values(rows).execute();
  } finally {
    await app.close();
  }
  writeFileSync(keysFile, `${keys.join('\n')}\n`);
  return { hotKey, otherKey: keys[1] ?? hotKey, keysFile, count };
}

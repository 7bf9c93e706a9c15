import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresAdapter, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../config/config.js';
import type { Database } from './database.types.js';
import { BusyAwareSqliteDialect, DEFAULT_BUSY_TIMEOUT_MS } from './sqlite-driver.js';
import { withStatementCache } from './sqlite-statement-cache.js';

export interface Storage {
  db: Kysely<Database>;
  dialect: DatabaseConfig['kind'];
  /** The Postgres schema holding the tables; undefined on SQLite. */
  schema: string | undefined;
  /** Resolves when the database answers a trivial query within the time limit. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface StorageOptions {
  /** SQLite: how long a write waits for a lock another process holds before 503 DATABASE_BUSY. */
  busyTimeoutMs?: number;
}

export async function openStorage(config: DatabaseConfig, options: StorageOptions = {}): Promise<Storage> {
  let db: Kysely<Database>;
  if (config.kind === 'sqlite') {
    if (config.file !== ':memory:') mkdirSync(path.dirname(path.resolve(config.file)), { recursive: true });
    // SQLite itself never waits for a lock (it would block the event loop): the driver
    // tries again between other work, for up to busyTimeoutMs.
    const raw = new SqliteDatabase(config.file, { timeout: 0 });
    raw.pragma('journal_mode = WAL');
    raw.pragma('foreign_keys = ON');
    raw.pragma('synchronous = NORMAL');
    db = new Kysely<Database>({
      dialect: new BusyAwareSqliteDialect(
        withStatementCache(raw),
        options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      ),
    });
  } else {
    const pool = new pg.Pool({
      connectionString: config.url,
      max: 10,
      connectionTimeoutMillis: 5000,
      options: `-c search_path=${config.schema}`,
    });
    // An idle client that loses its connection must not crash the process.
    pool.on('error', () => {});
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    if (config.schema !== 'public') {
      await sql`create schema if not exists ${sql.id(config.schema)}`.execute(db);
    }
  }
  return {
    db,
    dialect: config.kind,
    schema: config.kind === 'postgres' ? config.schema : undefined,
    async ping(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          sql`select 1`.execute(db),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
          }),
        ]);
        return true;
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => db.destroy(),
  };
}

/** True when the error is a unique-constraint violation, on either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Now as the fixed-width ISO string the tables store. */
export const isoNow = (now: Date = new Date()) => now.toISOString();

/**
 * Serialises transactions that take the same lock name until they end. On Postgres this is
 * a transaction-scoped advisory lock, shared by every instance; SQLite runs one write
 * transaction at a time already.
 */
export async function lockWithinTransaction(trx: Transaction<Database>, name: string): Promise<void> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select pg_advisory_xact_lock(hashtext(${`latchkey:${name}`}))`.execute(trx);
  }
}

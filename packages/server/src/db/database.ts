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

/** The database cannot be opened or reached; the message says where and what to check. */
export class DatabaseUnavailableError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/** A database URL fit for a message: the password replaced by ***. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparseable URL)';
  }
}

/** The short reason of a connection error: its code, or its first line. */
function reason(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; errors?: { code?: unknown }[] };
  // Node reports a host with several addresses as an AggregateError of their errors.
  const code = typeof e.code === 'string' ? e.code : e.errors?.find((x) => typeof x.code === 'string')?.code;
  const message = typeof e.message === 'string' && e.message ? e.message.split('\n')[0] : undefined;
  return [code, message && message !== code ? message : undefined].filter(Boolean).join(': ') || String(err);
}

export interface StorageOptions {
  /** SQLite: how long a write waits for a lock another process holds before 503 DATABASE_BUSY. */
  busyTimeoutMs?: number;
}

export async function openStorage(config: DatabaseConfig, options: StorageOptions = {}): Promise<Storage> {
  let db: Kysely<Database>;
  if (config.kind === 'sqlite') {
    let raw: SqliteDatabase.Database;
    try {
      if (config.file !== ':memory:') mkdirSync(path.dirname(path.resolve(config.file)), { recursive: true });
      // SQLite itself never waits for a lock (it would block the event loop): the driver
      // tries again between other work, for up to busyTimeoutMs.
      raw = new SqliteDatabase(config.file, { timeout: 0 });
      raw.pragma('journal_mode = WAL');
    } catch (err) {
      throw new DatabaseUnavailableError(
        `Could not open the SQLite database ${config.file} (${reason(err)}). Check that the folder exists or can be created and that this user may write to it: LATCHKEY_DATA_DIR (or the sqlite: path of LATCHKEY_DATABASE_URL) chooses it.`,
        err,
      );
    }
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
    try {
      await sql`select 1`.execute(db);
    } catch (err) {
      await db.destroy().catch(() => {});
      throw new DatabaseUnavailableError(
        `Could not connect to the database at ${redactUrl(config.url)} (${reason(err)}). Check that Postgres is running and accepts connections at that host and port, and that LATCHKEY_DATABASE_URL names the right user, password and database.`,
        err,
      );
    }
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

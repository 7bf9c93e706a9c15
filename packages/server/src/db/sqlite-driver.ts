import { ApiError } from '@latchkey/core';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  RawNode,
  type SqliteDatabase,
  SqliteDialect,
} from 'kysely';

/** Default of LATCHKEY_SQLITE_BUSY_TIMEOUT_MS. */
export const DEFAULT_BUSY_TIMEOUT_MS = 2000;
/** What a refused write tells the client to wait, in seconds. */
const RETRY_AFTER_S = 1;
const FIRST_PAUSE_MS = 2;
const LONGEST_PAUSE_MS = 50;

/** True for SQLITE_BUSY and its extended codes: another connection holds the lock. */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

function busyError(): ApiError {
  return new ApiError(
    'DATABASE_BUSY',
    `The database is busy: another process holds its write lock. Nothing was changed; try again in ${RETRY_AFTER_S} second.`,
    { headers: { 'Retry-After': String(RETRY_AFTER_S) }, retryAfter: RETRY_AFTER_S },
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A FIFO lock: who holds it runs a transaction on the one connection. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private releaseHolder: (() => void) | undefined;

  async lock(): Promise<void> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise((resolve) => {
      release = resolve;
    });
    await previous;
    this.releaseHolder = release;
  }

  unlock(): void {
    const release = this.releaseHolder;
    this.releaseHolder = undefined;
    release?.();
  }
}

/**
 * Kysely's SQLite driver, changed in how it waits for a lock held by another process (the
 * CLI, a shell, a backup): better-sqlite3 is synchronous, so its busy_timeout would stop the
 * whole event loop, health checks and reads included, while it waits. Here the connection
 * never waits inside SQLite (busy_timeout 0); a statement or a transaction's start that
 * finds the lock taken is tried again after a pause, during which reads go on (WAL readers
 * need no lock), until `busyTimeoutMs` have passed; then it fails with 503 DATABASE_BUSY
 * and Retry-After, having changed nothing.
 *
 * Transactions start with BEGIN IMMEDIATE, taking the write lock before their first read,
 * so that a transaction never fails half-way for want of it (every transaction of the
 * server writes). While one runs, the other queries of this process wait for it, as with
 * Kysely's own driver.
 */
class BusyAwareSqliteDriver implements Driver {
  private readonly mutex = new Mutex();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly busyTimeoutMs: number,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new BusyAwareConnection(this.db, this.mutex, this.busyTimeoutMs);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as BusyAwareConnection).begin();
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    await connection.executeQuery(compile(savepointNode('savepoint', name), createQueryId()));
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ) {
    await connection.executeQuery(compile(savepointNode('rollback to', name), createQueryId()));
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ) {
    await connection.executeQuery(compile(savepointNode('release', name), createQueryId()));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as BusyAwareConnection).release();
  }

  async destroy(): Promise<void> {
    this.db.close();
  }
}

/** A savepoint command, which Kysely compiles from a raw node. */
function savepointNode(command: string, name: string) {
  return RawNode.createWithSql(`${command} "${name.replaceAll('"', '""')}"`);
}

let queryIds = 0;
function createQueryId() {
  return { queryId: `savepoint-${++queryIds}` };
}

/** One use of the connection: a single query, or a transaction that holds the mutex. */
class BusyAwareConnection implements DatabaseConnection {
  private holding = false;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly mutex: Mutex,
    private readonly busyTimeoutMs: number,
  ) {}

  /** Runs `attempt` under the mutex, again after a pause while the database is busy. */
  private async withRetry<T>(attempt: () => T, keepLock: boolean): Promise<T> {
    const started = performance.now();
    let pause = FIRST_PAUSE_MS;
    for (;;) {
      await this.mutex.lock();
      try {
        const result = attempt();
        if (!keepLock) this.mutex.unlock();
        return result;
      } catch (err) {
        this.mutex.unlock();
        if (!isBusy(err)) throw err;
      }
      const waited = performance.now() - started;
      if (waited >= this.busyTimeoutMs) throw busyError();
      await sleep(Math.min(pause, this.busyTimeoutMs - waited));
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
    }
  }

  async begin(): Promise<void> {
    await this.withRetry(() => this.run(CompiledQuery.raw('begin immediate')), true);
    this.holding = true;
  }

  release(): void {
    if (this.holding) {
      this.holding = false;
      this.mutex.unlock();
    }
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (!this.holding) return this.withRetry(() => this.run<R>(query), false);
    try {
      return this.run<R>(query);
    } catch (err) {
      if (isBusy(err)) throw busyError();
      throw err;
    }
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const result = await this.executeQuery<R>(query);
    for (const row of result.rows) yield { rows: [row] };
  }

  private run<R>(query: CompiledQuery): QueryResult<R> {
    const statement = this.db.prepare(query.sql);
    if (statement.reader) return { rows: statement.all(query.parameters) as R[] };
    const { changes, lastInsertRowid } = statement.run(query.parameters);
    return {
      numAffectedRows: changes !== undefined && changes !== null ? BigInt(changes) : undefined,
      insertId:
        lastInsertRowid !== undefined && lastInsertRowid !== null ? BigInt(lastInsertRowid) : undefined,
      rows: [],
    };
  }
}

/** Kysely's SQLite dialect with the driver above. */
export class BusyAwareSqliteDialect extends SqliteDialect {
  constructor(
    private readonly database: SqliteDatabase,
    private readonly busyTimeoutMs: number,
  ) {
    super({ database });
  }

  override createDriver(): Driver {
    return new BusyAwareSqliteDriver(this.database, this.busyTimeoutMs);
  }
}

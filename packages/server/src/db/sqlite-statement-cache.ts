import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * Wraps a better-sqlite3 database so that Kysely reuses prepared statements instead of
 * preparing each query anew, which costs several times the lookup itself. The cache is
 * bounded: the oldest statement is dropped when it is full.
 */
export function withStatementCache(db: BetterSqlite3.Database, maxStatements = 500): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare(sql: string): SqliteStatement {
      let statement = cache.get(sql);
      if (!statement) {
        statement = db.prepare(sql);
        if (cache.size >= maxStatements) {
          const oldest = cache.keys().next().value;
          if (oldest !== undefined) cache.delete(oldest);
        }
        cache.set(sql, statement);
      }
      return statement as unknown as SqliteStatement;
    },
  };
}

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/config/config.js';

/** The machine's Postgres; override with LATCHKEY_TEST_POSTGRES_URL. */
export const POSTGRES_URL =
  process.env.LATCHKEY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function probePostgres(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

// Probed twice: a busy machine can be slow to accept the first connection.
const probeError = (await probePostgres()) && (await probePostgres());
export const HAS_POSTGRES = !probeError;
if (probeError) {
  console.warn(
    `[latchkey tests] Postgres is not reachable at ${POSTGRES_URL} (${probeError}): the Postgres runs are skipped.`,
  );
}

export type DialectName = DatabaseConfig['kind'];

export interface DialectCase {
  name: DialectName;
  skip: boolean;
  /** A fresh, empty database: an in-memory SQLite file, or a new Postgres schema. */
  fresh(): Promise<{ database: DatabaseConfig; drop(): Promise<void> }>;
}

export const DIALECTS: DialectCase[] = [
  {
    name: 'sqlite',
    skip: false,
    fresh: async () => ({ database: { kind: 'sqlite', file: ':memory:' }, drop: async () => {} }),
  },
  {
    name: 'postgres',
    skip: !HAS_POSTGRES,
    fresh: async () => {
      const schema = `lk_test_${randomBytes(6).toString('hex')}`;
      return {
        database: { kind: 'postgres', url: POSTGRES_URL, schema },
        drop: async () => {
          const client = new pg.Client({ connectionString: POSTGRES_URL });
          await client.connect();
          try {
            await client.query(`drop schema if exists "${schema}" cascade`);
          } finally {
            await client.end();
          }
        },
      };
    },
  },
];

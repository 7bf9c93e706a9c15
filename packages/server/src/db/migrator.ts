import { type Kysely, type Migration, type MigrationResult, Migrator } from 'kysely';
import type { Storage } from './database.js';
import * as initial from './migrations/2026-11-22T00-00-00-initial.js';
import * as auditAndRateLimits from './migrations/2026-11-22T12-00-00-audit-and-rate-limits.js';
import * as credentialChanges from './migrations/2026-12-01T00-00-00-credential-changes.js';
import * as authLockouts from './migrations/2026-12-01T12-00-00-auth-lockouts.js';
import * as rotationSuccessors from './migrations/2026-12-02T00-00-00-rotation-successors.js';
import * as permissionsAndVerifiers from './migrations/2026-12-02T12-00-00-permissions-and-verifiers.js';
import * as webhooks from './migrations/2026-12-03T00-00-00-webhooks.js';

// Imported statically: a file-based provider cannot load .ts migrations everywhere we run.
const MIGRATIONS: Record<string, Migration> = {
  '2026-11-22T00-00-00-initial': initial,
  '2026-11-22T12-00-00-audit-and-rate-limits': auditAndRateLimits,
  '2026-12-01T00-00-00-credential-changes': credentialChanges,
  '2026-12-01T12-00-00-auth-lockouts': authLockouts,
  '2026-12-02T00-00-00-rotation-successors': rotationSuccessors,
  '2026-12-02T12-00-00-permissions-and-verifiers': permissionsAndVerifiers,
  '2026-12-03T00-00-00-webhooks': webhooks,
};

/**
 * On Postgres the schema must be named: otherwise Kysely may take the migration tables
 * of another schema in the same database for its own.
 */
export function createMigrator(db: Kysely<unknown>, schema?: string): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(storage: Storage): Promise<MigrationResult[]> {
  const { error, results = [] } = await createMigrator(
    storage.db as Kysely<unknown>,
    storage.schema,
  ).migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === 'Error');
    const what = failed
      ? `Migration ${failed.migrationName} failed`
      : 'Could not apply the database migrations';
    throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return results;
}

import { type Kysely, type Migration, type MigrationResult, Migrator } from 'kysely';
import * as initial from './migrations/2026-11-22T00-00-00-initial.js';

// Imported statically: a file-based provider cannot load .ts migrations everywhere we run.
const MIGRATIONS: Record<string, Migration> = {
  '2026-11-22T00-00-00-initial': initial,
};

export function createMigrator(db: Kysely<unknown>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
  });
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<unknown>): Promise<MigrationResult[]> {
  const { error, results = [] } = await createMigrator(db).migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === 'Error');
    throw new Error(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${String(error)}`, {
      cause: error,
    });
  }
  return results;
}

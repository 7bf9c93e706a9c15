import type { Kysely } from 'kysely';

// Lockouts in the database (when no Redis is configured), so that the `latchkey lockouts`
// command can list and clear them without the running server, and every process on the
// database sees the same locks. See src/protection/lockout-database-store.ts.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('auth_lockouts')
    .addColumn('address', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('window_ends_at', 'text', (c) => c.notNull())
    .addColumn('locked_until', 'text')
    .execute();
  // The servers read the current locks every half second.
  await db.schema
    .createIndex('auth_lockouts_locked_until_ix')
    .on('auth_lockouts')
    .column('locked_until')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('auth_lockouts').execute();
}

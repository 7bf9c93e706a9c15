import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('actor_username', 'text')
    .addColumn('client_ip', 'text')
    .addColumn('target_type', 'text')
    .addColumn('target_id', 'text')
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('audit_events_at_ix').on('audit_events').columns(['at', 'id']).execute();
  await db.schema
    .createIndex('audit_events_action_ix')
    .on('audit_events')
    .columns(['action', 'at'])
    .execute();

  await db.schema.alterTable('api_keys').addColumn('rate_limit', 'integer').execute();
  await db.schema.alterTable('api_keys').addColumn('rate_window_s', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_keys').dropColumn('rate_window_s').execute();
  await db.schema.alterTable('api_keys').dropColumn('rate_limit').execute();
  await db.schema.dropTable('audit_events').execute();
}

import type { Kysely } from 'kysely';

// A key is rotated at most once: the rotation claim asks whether any key names it as
// rotated_from_id. This index answers that without a scan.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('api_keys_rotated_from_ix').on('api_keys').column('rotated_from_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('api_keys_rotated_from_ix').execute();
}

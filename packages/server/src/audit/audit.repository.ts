import type { AuditEvent, AuditFilter, AuditRepository, Page, PageOf } from '@latchkey/core';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.types.js';

/** The audit log in SQLite or Postgres. */
export class KyselyAuditRepository implements AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(event: AuditEvent): Promise<void> {
    await this.db.insertInto('audit_events').values(event).execute();
  }

  async list(filter: AuditFilter, page: Page): Promise<PageOf<AuditEvent>> {
    let query = this.db.selectFrom('audit_events');
    if (filter.action) query = query.where('action', '=', filter.action);
    if (filter.outcome) query = query.where('outcome', '=', filter.outcome);
    if (filter.actorId) query = query.where('actor_id', '=', filter.actorId);
    if (filter.targetId) query = query.where('target_id', '=', filter.targetId);
    if (filter.clientIp) query = query.where('client_ip', '=', filter.clientIp);
    if (filter.since) query = query.where('at', '>=', filter.since);
    if (filter.until) query = query.where('at', '<', filter.until);
    const [{ n } = { n: 0 }] = await query
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .execute();
    const rows = await query
      .selectAll()
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute();
    return { count: Number(n), rows };
  }
}

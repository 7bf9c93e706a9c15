import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { isoNow } from '../db/database.js';
import type { Database } from '../db/database.types.js';
import type { AuditAction, AuditEventRow, AuditOutcome, AuditTargetType } from './audit.table.js';

/** Who did something, as far as the request tells. */
export interface AuditActor {
  id?: string | null;
  username?: string | null;
  clientIp?: string | null;
}

export interface AuditEntry {
  action: AuditAction;
  outcome?: AuditOutcome;
  actor?: AuditActor;
  target?: { type: AuditTargetType; id: string };
  detail?: string;
}

export interface AuditFilter {
  action?: AuditAction | undefined;
  outcome?: AuditOutcome | undefined;
  actorId?: string | undefined;
  targetId?: string | undefined;
  clientIp?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

const MAX_DETAIL = 500;

/** Records and reads the audit log. */
export class AuditService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
  ) {}

  /**
   * Records an event. A failure to write is logged, never thrown: the audit log must not
   * turn a request that succeeded into an error.
   */
  async record(entry: AuditEntry, now: Date = new Date()): Promise<void> {
    const row: AuditEventRow = {
      id: randomUUID(),
      at: isoNow(now),
      action: entry.action,
      outcome: entry.outcome ?? 'success',
      actor_id: entry.actor?.id ?? null,
      actor_username: entry.actor?.username ?? null,
      client_ip: entry.actor?.clientIp ?? null,
      target_type: entry.target?.type ?? null,
      target_id: entry.target?.id ?? null,
      detail: entry.detail === undefined ? null : entry.detail.slice(0, MAX_DETAIL),
    };
    try {
      await this.db.insertInto('audit_events').values(row).execute();
    } catch (err) {
      this.logger.error({ err, action: entry.action }, 'could not write an audit event');
    }
  }

  async list(
    filter: AuditFilter,
    page: { limit: number; offset: number },
  ): Promise<{ count: number; rows: AuditEventRow[] }> {
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

import type { AuditAction, AuditOutcome, AuditTargetType } from '@latchkey/core';
import type { Insertable, Selectable } from 'kysely';

/** One thing that happened. Never holds a secret: no key, password, token or cookie. */
export interface AuditEventTable {
  id: string;
  at: string;
  action: AuditAction;
  outcome: AuditOutcome;
  actor_id: string | null;
  actor_username: string | null;
  client_ip: string | null;
  target_type: AuditTargetType | null;
  target_id: string | null;
  detail: string | null;
}

export type AuditEventRow = Selectable<AuditEventTable>;
export type NewAuditEventRow = Insertable<AuditEventTable>;

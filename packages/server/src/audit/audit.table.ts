import type { AuditEvent } from '@latchkey/core';
import type { Insertable, Selectable } from 'kysely';

/** One thing that happened, stored as the core's record. Never holds a secret. */
export type AuditEventTable = AuditEvent;

export type AuditEventRow = Selectable<AuditEventTable>;
export type NewAuditEventRow = Insertable<AuditEventTable>;

import type { Insertable, Selectable } from 'kysely';

export const AUDIT_ACTIONS = [
  'auth.login',
  'auth.logout',
  'auth.failed',
  'auth.locked_out',
  'auth.bootstrap',
  'token.issued',
  'key.created',
  'key.updated',
  'key.rotated',
  'key.activated',
  'key.deactivated',
  'key.deleted',
  'user.created',
  'user.updated',
  'user.password_reset',
  'user.deleted',
  'lockout.cleared',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export type AuditOutcome = 'success' | 'failure';
export type AuditTargetType = 'key' | 'user' | 'address';

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

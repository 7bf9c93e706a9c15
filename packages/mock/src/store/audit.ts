import { type Clock, iso } from './config.js';

export type AuditAction =
  | 'auth.login'
  | 'auth.logout'
  | 'auth.failed'
  | 'auth.locked_out'
  | 'auth.bootstrap'
  | 'token.issued'
  | 'key.created'
  | 'key.updated'
  | 'key.rotated'
  | 'key.activated'
  | 'key.deactivated'
  | 'key.deleted'
  | 'user.created'
  | 'user.updated'
  | 'user.password_reset'
  | 'user.deleted'
  | 'lockout.cleared';

/** One audit event, in the contract's shape. It never holds a secret. */
export interface AuditEvent {
  id: string;
  at: string;
  action: AuditAction;
  outcome: 'success' | 'failure';
  actor_id: string | null;
  actor_username: string | null;
  client_ip: string | null;
  target_type: 'key' | 'user' | 'address' | null;
  target_id: string | null;
  detail: string | null;
}

export interface AuditEntry {
  action: AuditAction;
  outcome?: 'success' | 'failure';
  actor?: { id?: string | null; username?: string | null; clientIp?: string | null };
  target?: { type: 'key' | 'user' | 'address'; id: string };
  detail?: string;
}

export interface AuditFilter {
  action?: string | undefined;
  outcome?: string | undefined;
  actor_id?: string | undefined;
  target_id?: string | undefined;
  client_ip?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

/** The audit log, newest first. */
export class AuditLog {
  private readonly events: AuditEvent[] = [];

  constructor(private readonly clock: Clock) {}

  record(entry: AuditEntry): AuditEvent {
    const event: AuditEvent = {
      id: globalThis.crypto.randomUUID(),
      at: iso(this.clock()),
      action: entry.action,
      outcome: entry.outcome ?? 'success',
      actor_id: entry.actor?.id ?? null,
      actor_username: entry.actor?.username ?? null,
      client_ip: entry.actor?.clientIp ?? null,
      target_type: entry.target?.type ?? null,
      target_id: entry.target?.id ?? null,
      detail: entry.detail === undefined ? null : entry.detail.slice(0, 500),
    };
    this.events.unshift(event);
    return event;
  }

  list(filter: AuditFilter): AuditEvent[] {
    const since = filter.since === undefined ? undefined : Date.parse(filter.since);
    const until = filter.until === undefined ? undefined : Date.parse(filter.until);
    return this.events.filter(
      (e) =>
        (filter.action === undefined || e.action === filter.action) &&
        (filter.outcome === undefined || e.outcome === filter.outcome) &&
        (filter.actor_id === undefined || e.actor_id === filter.actor_id) &&
        (filter.target_id === undefined || e.target_id === filter.target_id) &&
        (filter.client_ip === undefined || e.client_ip === filter.client_ip) &&
        (since === undefined || Date.parse(e.at) >= since) &&
        (until === undefined || Date.parse(e.at) < until),
    );
  }
}

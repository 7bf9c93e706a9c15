import type { ErrorReporter } from '../ports.js';
import type { Page, PageOf, Store } from '../store/store.js';
import type {
  Actor,
  AuditAction,
  AuditEvent,
  AuditFilter,
  AuditOutcome,
  AuditTargetType,
} from './audit.record.js';

export interface AuditEntry {
  action: AuditAction;
  outcome?: AuditOutcome;
  actor: Actor;
  target?: { type: AuditTargetType; id: string };
  detail?: string;
}

const MAX_DETAIL = 500;

/** Records and reads the audit log. Services record what they do; handlers never do. */
export class AuditService {
  constructor(
    private readonly store: Store,
    private readonly clock: () => number,
    private readonly report: ErrorReporter,
  ) {}

  /**
   * Records an event, in the given transaction when there is one. A failure to write is
   * reported, never thrown: the audit log must not turn an action that succeeded into an error.
   */
  async record(entry: AuditEntry, tx: Store = this.store): Promise<void> {
    const detail = entry.actor.via === 'cli' ? `${entry.detail ?? ''} (command line)`.trim() : entry.detail;
    const event: AuditEvent = {
      id: globalThis.crypto.randomUUID(),
      at: new Date(this.clock()).toISOString(),
      action: entry.action,
      outcome: entry.outcome ?? 'success',
      actor_id: entry.actor.id,
      actor_username: entry.actor.username,
      client_ip: entry.actor.clientIp,
      target_type: entry.target?.type ?? null,
      target_id: entry.target?.id ?? null,
      detail: detail === undefined ? null : detail.slice(0, MAX_DETAIL),
    };
    try {
      await tx.audit.insert(event);
    } catch (err) {
      if (tx !== this.store) throw err;
      this.report('could not write an audit event', { err, action: entry.action });
    }
  }

  list(filter: AuditFilter, page: Page): Promise<PageOf<AuditEvent>> {
    return this.store.audit.list(filter, page);
  }
}

import type { AuditEventTable } from '../audit/audit.table.js';
import type { ApiKeyTable } from '../keys/key.table.js';
import type { AuthLockoutTable } from '../protection/lockout.table.js';
import type { SessionTable } from '../sessions/session.table.js';
import type { UserTable } from '../users/user.table.js';
import type {
  KeyExpiryNoticeTable,
  WebhookAttemptTable,
  WebhookDeliveryTable,
  WebhookEventTable,
  WebhookTable,
} from '../webhooks/webhook.table.js';

export interface Database {
  users: UserTable;
  api_keys: ApiKeyTable;
  sessions: SessionTable;
  audit_events: AuditEventTable;
  auth_lockouts: AuthLockoutTable;
  webhooks: WebhookTable;
  webhook_events: WebhookEventTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
  key_expiry_notices: KeyExpiryNoticeTable;
}

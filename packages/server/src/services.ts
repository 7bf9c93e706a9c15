import type { AuditService } from './audit/audit.service.js';
import type { Authenticator } from './auth/authenticator.js';
import type { Storage } from './db/database.js';
import type { KeyService } from './keys/key.service.js';
import type { Metrics } from './metrics/metrics.js';
import type { Protection } from './protection/protection.js';
import type { SessionService } from './sessions/session.service.js';
import type { BootstrapService } from './users/bootstrap.service.js';
import type { UserService } from './users/user.service.js';

/** What handlers reach: the services of one running app. */
export interface Services {
  storage: Storage;
  users: UserService;
  keys: KeyService;
  sessions: SessionService;
  authenticator: Authenticator;
  bootstrap: BootstrapService;
  audit: AuditService;
  protection: Protection;
  /** Prometheus metrics; NO_METRICS when LATCHKEY_METRICS is off. */
  metrics: Metrics;
  document: Record<string, unknown>;
}

import { ApiError } from '../api-error.js';
import { anonymousActor } from '../audit/audit.record.js';
import type { AuditService } from '../audit/audit.service.js';
import type { KeyRecord } from '../keys/key.record.js';
import type { KeyService } from '../keys/key.service.js';
import type { Store } from '../store/store.js';
import type { UserRecord } from '../users/user.record.js';
import type { UserService } from '../users/user.service.js';
import { keyEventData } from '../webhooks/webhook-events.js';
import type { WebhookOutbox } from '../webhooks/webhook-outbox.js';

/** The superuser that register-key creates; it has no password until an admin sets one. */
export const BOOTSTRAP_USERNAME = 'admin';
export const DEFAULT_BOOTSTRAP_LABEL = 'bootstrap-key';

export interface BootstrapStatus {
  needsBootstrap: boolean;
  hasDbKeys: boolean;
}

/** Pure: the first key may be registered without authentication only while nothing exists. */
export function bootstrapStatus(counts: { users: number; keys: number }): BootstrapStatus {
  return { needsBootstrap: counts.users === 0 && counts.keys === 0, hasDbKeys: counts.keys > 0 };
}

/**
 * proxbox-api's bootstrap: while the store holds no user and no key, the first key can be
 * registered without authentication; it belongs to a new superuser.
 */
export class BootstrapService {
  constructor(
    private readonly store: Store,
    private readonly users: UserService,
    private readonly keys: KeyService,
    private readonly audit: AuditService,
    private readonly outbox: WebhookOutbox,
  ) {}

  async status(): Promise<BootstrapStatus> {
    return bootstrapStatus(await this.store.counts());
  }

  /**
   * Registers `apiKey` for a new superuser `admin` without a password. The check and both
   * inserts are one transaction under one lock, so of concurrent calls exactly one wins;
   * the others, and every later call, get 409 BOOTSTRAP_DONE.
   */
  async register(
    clientIp: string,
    apiKey: string,
    label: string | undefined,
  ): Promise<{ user: UserRecord; key: KeyRecord }> {
    const why = this.keys.suppliedKeyProblem(apiKey);
    if (why) throw ApiError.field('body.api_key', why);
    const name = label?.trim() ? label.trim() : DEFAULT_BOOTSTRAP_LABEL;
    const user = await this.users.newRecord({
      username: BOOTSTRAP_USERNAME,
      password: null,
      isSuperuser: true,
      canCreateTokens: true,
    });
    try {
      return await this.store.transaction(
        async (tx) => {
          if (!bootstrapStatus(await tx.counts()).needsBootstrap) {
            throw new ApiError(
              'BOOTSTRAP_DONE',
              'This server is already set up: users or keys exist. Authenticate with an existing key, or ask an administrator for one.',
            );
          }
          await this.users.insert(user, tx);
          const { key } = await this.keys.insert(
            user,
            { name, key: apiKey },
            {
              via: 'api',
              tx,
              keyField: 'body.api_key',
            },
          );
          await this.audit.record(
            {
              action: 'auth.bootstrap',
              actor: { id: user.id, username: user.username, clientIp, via: 'api' },
              target: { type: 'key', id: key.id },
              detail: `${key.name}, owned by new superuser ${user.username}`,
            },
            tx,
          );
          await this.outbox.raise(tx, 'key.created', keyEventData(key, user));
          return { user, key };
        },
        { lock: 'bootstrap' },
      );
    } catch (err) {
      if (err instanceof ApiError && err.code === 'BOOTSTRAP_DONE') {
        await this.audit.record({
          action: 'auth.bootstrap',
          outcome: 'failure',
          actor: anonymousActor(clientIp),
          detail: 'refused: already set up',
        });
      }
      throw err;
    }
  }
}

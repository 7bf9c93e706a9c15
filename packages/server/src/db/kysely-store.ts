import type { Store, TransactionOptions } from '@latchkey/core';
import type { Kysely } from 'kysely';
import { KyselyAuditRepository } from '../audit/audit.repository.js';
import { KyselyKeyRepository } from '../keys/key.repository.js';
import { KyselySessionRepository } from '../sessions/session.repository.js';
import { KyselyUserRepository } from '../users/user.repository.js';
import { KyselyWebhookRepository } from '../webhooks/webhook.repository.js';
import { lockWithinTransaction } from './database.js';
import type { Database } from './database.types.js';

/** The core's storage interface on Kysely: SQLite or Postgres, in a transaction or not. */
export class KyselyStore implements Store {
  readonly keys: KyselyKeyRepository;
  readonly users: KyselyUserRepository;
  readonly sessions: KyselySessionRepository;
  readonly audit: KyselyAuditRepository;
  readonly webhooks: KyselyWebhookRepository;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly pingDb: () => Promise<boolean>,
    /** What runs once the transaction this store belongs to commits; undefined outside one. */
    private readonly commitHooks?: (() => void)[],
  ) {
    this.keys = new KyselyKeyRepository(db);
    this.users = new KyselyUserRepository(db);
    this.sessions = new KyselySessionRepository(db);
    this.audit = new KyselyAuditRepository(db);
    this.webhooks = new KyselyWebhookRepository(db);
  }

  afterCommit(fn: () => void): void {
    if (this.commitHooks) this.commitHooks.push(fn);
    else fn();
  }

  async counts(): Promise<{ users: number; keys: number }> {
    const count = (table: 'users' | 'api_keys') =>
      this.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .executeTakeFirstOrThrow();
    const [users, keys] = await Promise.all([count('users'), count('api_keys')]);
    return { users: Number(users.n), keys: Number(keys.n) };
  }

  transaction<T>(work: (tx: Store) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    // Within a transaction already: its work joins it.
    if (this.db.isTransaction) return work(this);
    const hooks: (() => void)[] = [];
    return this.db
      .transaction()
      .execute(async (trx) => {
        if (options.lock) await lockWithinTransaction(trx, options.lock);
        return work(new KyselyStore(trx, this.pingDb, hooks));
      })
      .then((result) => {
        for (const hook of hooks) hook();
        return result;
      });
  }

  ping(): Promise<boolean> {
    return this.pingDb();
  }
}

// The storage conformance suite of @latchkey/core against the server's Kysely store, once
// per dialect: the same tests the memory store passes.
import { describe } from 'vitest';
import { describeStoreConformance } from '../../core/test/store-conformance.js';
import { openStorage } from '../src/db/database.js';
import { KyselyStore } from '../src/db/kysely-store.js';
import { migrateToLatest } from '../src/db/migrator.js';
import { DIALECTS } from './support/dialects.js';

for (const dialect of DIALECTS) {
  describe.skipIf(dialect.skip)(`Kysely store [${dialect.name}]`, () =>
    describeStoreConformance(dialect.name, async () => {
      const { database, drop } = await dialect.fresh();
      const storage = await openStorage(database);
      await migrateToLatest(storage);
      return {
        store: new KyselyStore(storage.db, () => storage.ping()),
        close: async () => {
          await storage.close();
          await drop();
        },
      };
    }),
  );
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLatchkey } from './support/cli-process.js';
import { DIALECTS } from './support/dialects.js';
import { expectProblem, expectStatus } from './support/expect.js';
import { HAS_REDIS, REDIS_URL } from './support/redis.js';
import { startTestServer, type TestServer } from './support/test-server.js';

// An address locked out through the API is listed and cleared by `latchkey lockouts`, run
// as a process of its own that talks to the store (the database, or Redis), not to the
// server: the way out for an admin locked out of their own box. The running server lets
// the address in again within a second.

const WITHIN_MS = 1000;
const ADDRESS = '203.0.113.60';

const CASES = DIALECTS.flatMap((d) => [
  { name: `${d.name}`, dialect: d.name, skip: d.skip, redis: false },
  { name: `${d.name} + redis`, dialect: d.name, skip: d.skip || !HAS_REDIS, redis: true },
]);

for (const c of CASES)
  describe.skipIf(c.skip)(`latchkey lockouts from another process [${c.name}]`, () => {
    let s: TestServer;
    let key: string;
    let cliEnv: Record<string, string>;
    beforeAll(async () => {
      // The test client plays a proxy, so that X-Forwarded-For can be the locked-out address.
      s = await startTestServer(
        c.dialect,
        {
          LATCHKEY_TRUSTED_PROXIES: '127.0.0.1',
          LATCHKEY_LOCKOUT_ATTEMPTS: '3',
          ...(c.redis ? { LATCHKEY_REDIS_URL: REDIS_URL } : {}),
        },
        { sqliteOnFile: true },
      );
      key = (await s.createKey(await s.createUser('locked-admin', { superuser: true }))).key;
      const db = s.config.database;
      cliEnv = {
        LATCHKEY_DATA_DIR: s.config.dataDir,
        LATCHKEY_LOG_LEVEL: 'warn',
        LATCHKEY_LOCKOUT_ATTEMPTS: '3',
        LATCHKEY_REDIS_PREFIX: s.config.redisPrefix,
        ...(db.kind === 'postgres'
          ? { LATCHKEY_DATABASE_URL: db.url, LATCHKEY_DATABASE_SCHEMA: db.schema }
          : { LATCHKEY_DATABASE_URL: `sqlite:${db.file}` }),
        ...(c.redis ? { LATCHKEY_REDIS_URL: REDIS_URL } : {}),
      };
    });
    afterAll(() => s?.close());

    const whoami = (headers: Record<string, string>) =>
      s.call('/api/v1/auth/whoami', { headers: { 'x-forwarded-for': ADDRESS, ...headers } });

    it('lists the lock, clears it, and the server lets the address in within a second', async () => {
      expect(await runLatchkey(['lockouts', 'list'], cliEnv)).toMatchObject({
        code: 0,
        out: 'no address is locked out',
      });
      for (let i = 0; i < 3; i++)
        expectStatus(await whoami({ 'x-api-key': `wrong-key-${'w'.repeat(32)}` }), 401);
      expectProblem(await whoami({ 'x-api-key': key }), 429, 'LOCKED_OUT');

      const listed = await runLatchkey(['lockouts', 'list'], cliEnv);
      expect(listed.code, listed.err).toBe(0);
      const [header, row, ...rest] = listed.out.split('\n');
      expect(header).toBe('ADDRESS\tLOCKED_UNTIL');
      expect(row).toMatch(new RegExp(`^${ADDRESS.replaceAll('.', '\\.')}\\t\\d{4}-\\d\\d-\\d\\dT`));
      expect(rest).toEqual([]);

      const cleared = await runLatchkey(['lockouts', 'clear', ADDRESS], cliEnv);
      expect(cleared, cleared.err).toMatchObject({ code: 0, out: `cleared the lockout of ${ADDRESS}` });
      const until = Date.now() + WITHIN_MS;
      let status = (await whoami({ 'x-api-key': key })).status;
      while (status !== 200 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        status = (await whoami({ 'x-api-key': key })).status;
      }
      expect(status).toBe(200);
      expect(await s.app.protection.lockouts.list()).toEqual([]);

      const events = await s.app.services.audit.list({ action: 'lockout.cleared' }, { limit: 10, offset: 0 });
      expect(events.rows).toHaveLength(1);
      expect(events.rows[0]).toMatchObject({ target_type: 'address', target_id: ADDRESS });
    });

    it('says when an address is not locked out (exit 1) or not an address (exit 2)', async () => {
      const again = await runLatchkey(['lockouts', 'clear', ADDRESS], cliEnv);
      expect(again).toMatchObject({
        code: 1,
        err: `error: ${ADDRESS} is not locked out (its count of failures, if any, was reset)`,
      });
      const bad = await runLatchkey(['lockouts', 'clear', 'not-an-address'], cliEnv);
      expect(bad).toMatchObject({ code: 2, err: 'error: "not-an-address" is not an IP address' });
    });

    it('a lock the CLI clears ends the failure count too: the next failures count from one', async () => {
      for (let i = 0; i < 3; i++)
        expectStatus(await whoami({ 'x-api-key': `wrong-key-${'v'.repeat(32)}` }), 401);
      expect((await runLatchkey(['lockouts', 'clear', ADDRESS], cliEnv)).code).toBe(0);
      const until = Date.now() + WITHIN_MS;
      let status = (await whoami({ 'x-api-key': key })).status;
      while (status !== 200 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        status = (await whoami({ 'x-api-key': key })).status;
      }
      expect(status).toBe(200);
      // Two failures are still allowed before the third locks again.
      for (let i = 0; i < 2; i++)
        expectStatus(await whoami({ 'x-api-key': `wrong-key-${'u'.repeat(32)}` }), 401);
      expectStatus(await whoami({ 'x-api-key': key }), 200);
    });
  });

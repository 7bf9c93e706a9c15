import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectProblem, expectStatus } from './support/expect.js';
import { describeEachDialect, startTestServer, type TestServer } from './support/test-server.js';

// Lockouts kept in the database (no Redis): two servers on one database count the failures
// of an address together, exactly, however they interleave, and each refuses an address
// the other locked within a second, without reading the database per request.

const WITHIN_MS = 1000;

describeEachDialect('lockouts in the database, two servers', (dialect) => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    const env = { LATCHKEY_TRUSTED_PROXIES: '127.0.0.1', LATCHKEY_LOCKOUT_ATTEMPTS: '5' };
    a = await startTestServer(dialect, env, { sqliteOnFile: true });
    b = await startTestServer(dialect, env, { sameDatabaseAs: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const stored = (address: string) =>
    a.app.storage.db
      .selectFrom('auth_lockouts')
      .select(['failures', 'locked_until'])
      .where('address', '=', address)
      .executeTakeFirst();

  it('concurrent failures on both servers each get their own count, and the lock is set once', async () => {
    const address = '198.51.100.20';
    const guards = [a.app.protection.lockouts, b.app.protection.lockouts];
    const counts = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (guards[i % 2] as (typeof guards)[0]).fail(address)),
    );
    // One count each, none lost or given twice; the fifth starts the lock, once.
    expect(counts.map((c) => c.failures).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    expect(counts.filter((c) => c.lock).map((c) => c.failures)).toEqual([5]);
    expect(await stored(address)).toMatchObject({ failures: 40, locked_until: expect.any(String) });
    expect((await a.app.protection.lockouts.list()).map((l) => l.address)).toContain(address);
  });

  it('failures through both servers lock the address on both; the other sees it within a second', async () => {
    const from = { 'x-forwarded-for': '198.51.100.21' };
    const bad = { ...from, 'x-api-key': `wrong-key-${'x'.repeat(32)}` };
    for (let i = 0; i < 3; i++) expectStatus(await a.call('/api/v1/auth/whoami', { headers: bad }), 401);
    for (let i = 0; i < 2; i++) expectStatus(await b.call('/api/v1/auth/whoami', { headers: bad }), 401);
    expectProblem(await b.call('/api/v1/auth/whoami', { headers: from }), 429, 'LOCKED_OUT');
    const until = Date.now() + WITHIN_MS;
    let onA = await a.call('/api/v1/auth/whoami', { headers: from });
    while (onA.status !== 429 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      onA = await a.call('/api/v1/auth/whoami', { headers: from });
    }
    expectProblem(onA, 429, 'LOCKED_OUT');
    // An admin clearing it on one server lets it in on the other within a second.
    expect(await b.app.protection.lockouts.clear('198.51.100.21')).toBe(true);
    const clearedBy = Date.now() + WITHIN_MS;
    let after = await a.call('/api/v1/auth/whoami', { headers: from });
    while (after.status === 429 && Date.now() < clearedBy) {
      await new Promise((r) => setTimeout(r, 50));
      after = await a.call('/api/v1/auth/whoami', { headers: from });
    }
    expectProblem(after, 401, 'AUTHENTICATION_REQUIRED');
  });
});

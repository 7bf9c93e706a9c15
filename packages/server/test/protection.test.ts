import { afterEach, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus, type Reply } from './support/expect.js';
import { STORES } from './support/redis.js';
import { describeEachDialect, startTestServer, type TestServer } from './support/test-server.js';

const WHOAMI = '/api/v1/auth/whoami';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function expectRateHeaders(r: Reply, limit: number, remaining: number, policy = 'default') {
  expect(r.headers.get('x-ratelimit-limit')).toBe(String(limit));
  expect(r.headers.get('x-ratelimit-remaining')).toBe(String(remaining));
  const reset = Number(r.headers.get('x-ratelimit-reset'));
  const now = Date.now() / 1000;
  expect(reset).toBeGreaterThan(now - 1);
  expect(reset).toBeLessThan(now + 3600);
  expect(r.headers.get('ratelimit-policy')).toMatch(new RegExp(`^"${policy}";q=${limit};w=\\d+$`));
  expect(r.headers.get('ratelimit')).toMatch(new RegExp(`^"${policy}";r=${remaining};t=\\d+$`));
}

for (const store of STORES) {
  describeEachDialect(`rate limits [${store.name}]`, (dialect) => {
    let servers: TestServer[] = [];
    const start = async (env: Record<string, string>) => {
      const s = await startTestServer(dialect, { ...store.env, ...env });
      servers.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(servers.map((s) => s.close()));
      servers = [];
    });

    it.skipIf(store.skip)(
      'lets 100 requests through, refuses the 101st with 429, and opens again in the next window',
      async () => {
        const s = await start({ LATCHKEY_RATE_LIMIT: '100', LATCHKEY_RATE_WINDOW_S: '3' });
        const { key } = await s.createKey(await s.createUser('rita'));
        const headers = { 'x-api-key': key };
        for (let i = 1; i <= 100; i++) {
          const r = await s.call(WHOAMI, { headers });
          expectStatus(r, 200);
          if (i === 1 || i === 100) expectRateHeaders(r, 100, 100 - i);
        }
        const refused = await s.call(WHOAMI, { headers });
        expectProblem(refused, 429, 'RATE_LIMITED');
        const retryAfter = Number(refused.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(3);
        expect(refused.body.retryAfter).toBe(retryAfter);
        expectRateHeaders(refused, 100, 0);

        await sleep(retryAfter * 1000 + 100);
        const next = await s.call(WHOAMI, { headers });
        expectStatus(next, 200);
        expectRateHeaders(next, 100, 99);
      },
    );

    it.skipIf(store.skip)(
      'counts atomically: of 100 parallel requests against a limit of 50, exactly 50 pass',
      async () => {
        const s = await start({ LATCHKEY_RATE_LIMIT: '50', LATCHKEY_RATE_WINDOW_S: '60' });
        const { key } = await s.createKey(await s.createUser('para'));
        const replies = await Promise.all(
          Array.from({ length: 100 }, () => s.fetch(WHOAMI, { headers: { 'x-api-key': key } })),
        );
        const statuses = replies.map((r) => r.status);
        expect(statuses.filter((x) => x === 200)).toHaveLength(50);
        expect(statuses.filter((x) => x === 429)).toHaveLength(50);
      },
    );

    it.skipIf(store.skip)("uses a key's own limit, and keeps each credential's count apart", async () => {
      const s = await start({ LATCHKEY_RATE_LIMIT: '100', LATCHKEY_RATE_WINDOW_S: '60' });
      const user = await s.createUser('kim');
      const limited = await s.createKey(user, { name: 'slow' });
      await s.app.storage.db
        .updateTable('api_keys')
        .set({ rate_limit: 3, rate_window_s: 60 })
        .where('id', '=', limited.id)
        .execute();
      const other = await s.createKey(user, { name: 'other' });
      for (let i = 1; i <= 3; i++) {
        const r = await s.call(WHOAMI, { headers: { 'x-api-key': limited.key } });
        expectStatus(r, 200);
        expectRateHeaders(r, 3, 3 - i, 'key');
      }
      expectProblem(await s.call(WHOAMI, { headers: { 'x-api-key': limited.key } }), 429, 'RATE_LIMITED');
      const fine = await s.call(WHOAMI, { headers: { 'x-api-key': other.key } });
      expectStatus(fine, 200);
      expectRateHeaders(fine, 100, 99);
    });

    it.skipIf(store.skip)('a rate limit set at creation over HTTP is shown and enforced', async () => {
      const s = await start({ LATCHKEY_RATE_LIMIT: '100' });
      const { key } = await s.createKey(await s.createUser('hana'));
      const created = await s.call('/api/v1/keys', {
        method: 'POST',
        headers: { 'x-api-key': key },
        json: { name: 'two per minute', rate_limit: { limit: 2, window_s: 60 } },
      });
      expectStatus(created, 201);
      expect(created.body.rate_limit).toEqual({ limit: 2, window_s: 60 });
      const headers = { 'x-api-key': created.body.key };
      expectStatus(await s.call(WHOAMI, { headers }), 200);
      expectStatus(await s.call(WHOAMI, { headers }), 200);
      expectProblem(await s.call(WHOAMI, { headers }), 429, 'RATE_LIMITED');
      const bad = await s.call('/api/v1/keys', {
        method: 'POST',
        headers: { 'x-api-key': key },
        json: { name: 'zero', rate_limit: { limit: 0, window_s: 60 } },
      });
      expectProblem(bad, 400, 'VALIDATION_FAILED', 'body.rate_limit.limit');
    });

    it.skipIf(store.skip)("never spends a real key's quota on failed authentication", async () => {
      const s = await start({ LATCHKEY_RATE_LIMIT: '3', LATCHKEY_RATE_WINDOW_S: '60' });
      const { key } = await s.createKey(await s.createUser('finn'));
      for (let i = 0; i < 10; i++) {
        const wrong = `${key.slice(0, 3)}${'A'.repeat(38)}`;
        expectStatus(await s.call(WHOAMI, { headers: { 'x-api-key': wrong } }), 401);
      }
      const r = await s.call(WHOAMI, { headers: { 'x-api-key': key } });
      expectStatus(r, 200);
      expectRateHeaders(r, 3, 2);
    });

    it.skipIf(store.skip)('limits anonymous callers by address, but never the health check', async () => {
      const s = await start({ LATCHKEY_RATE_LIMIT: '2', LATCHKEY_RATE_WINDOW_S: '60' });
      expectStatus(await s.call('/meta'), 200);
      expectStatus(await s.call('/'), 200);
      expectProblem(await s.call('/meta'), 429, 'RATE_LIMITED');
      for (let i = 0; i < 5; i++) {
        const health = await s.call('/health');
        expectStatus(health, 200);
        expect(health.headers.get('x-ratelimit-limit')).toBeNull();
      }
    });

    const itWithRedis = store.name === 'redis' ? it.skipIf(store.skip) : undefined;
    itWithRedis?.('shares counts between instances through Redis', async () => {
      const prefix = `lk-shared-${Date.now()}`;
      const a = await start({ LATCHKEY_RATE_LIMIT: '4', LATCHKEY_REDIS_PREFIX: prefix });
      const b = await start({ LATCHKEY_RATE_LIMIT: '4', LATCHKEY_REDIS_PREFIX: prefix });
      expectStatus(await a.call('/meta'), 200);
      expectStatus(await b.call('/meta'), 200);
      expectStatus(await a.call('/meta'), 200);
      const last = await b.call('/meta');
      expectStatus(last, 200);
      expect(last.headers.get('x-ratelimit-remaining')).toBe('0');
      expectProblem(await a.call('/meta'), 429, 'RATE_LIMITED');
    });
  });

  describeEachDialect(`lockout [${store.name === 'memory' ? 'database' : store.name}]`, (dialect) => {
    let servers: TestServer[] = [];
    const start = async (env: Record<string, string> = {}) => {
      const s = await startTestServer(dialect, {
        LATCHKEY_LOCKOUT_ATTEMPTS: '5',
        LATCHKEY_LOCKOUT_WINDOW_S: '300',
        LATCHKEY_LOCKOUT_DURATION_S: '300',
        ...store.env,
        ...env,
      });
      servers.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(servers.map((s) => s.close()));
      servers = [];
    });
    const badKey = 'lk_not-a-real-key-but-long-enough-0123456789';
    const fail = (s: TestServer, headers: Record<string, string> = {}) =>
      s.call(WHOAMI, { headers: { 'x-api-key': badKey, ...headers } });

    it.skipIf(store.skip)(
      'never counts a request without a credential, and warns on the attempt before the lock',
      async () => {
        const s = await start();
        const { key } = await s.createKey(await s.createUser('nora'));
        for (let i = 0; i < 20; i++) expectProblem(await s.call(WHOAMI), 401, 'AUTHENTICATION_REQUIRED');
        expectStatus(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 200);
        for (let i = 1; i <= 3; i++) {
          const r = await fail(s);
          expectProblem(r, 401, 'AUTHENTICATION_FAILED');
          expect(r.body.detail).not.toMatch(/One more/);
        }
        const warned = await fail(s);
        expectProblem(warned, 401, 'AUTHENTICATION_FAILED');
        expect(warned.body.detail).toMatch(
          /One more failed attempt from this address locks it out for 5 minutes/,
        );
        expectProblem(await fail(s), 401, 'AUTHENTICATION_FAILED');
        expectProblem(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 429, 'LOCKED_OUT');
      },
    );

    it.skipIf(store.skip)(
      'locks an address out on the 6th try after 5 failures, even with a valid credential',
      async () => {
        const s = await start();
        const { key } = await s.createKey(await s.createUser('lou'));
        for (let i = 0; i < 5; i++) expectProblem(await fail(s), 401, 'AUTHENTICATION_FAILED');
        const locked = await s.call(WHOAMI, { headers: { 'x-api-key': key } });
        expectProblem(locked, 429, 'LOCKED_OUT');
        expect(locked.body.detail).toContain('Too many failed authentication attempts');
        const retryAfter = Number(locked.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThan(290);
        expect(retryAfter).toBeLessThanOrEqual(300);
        expect(locked.body.retryAfter).toBe(retryAfter);
        // Logins from the address are refused too, and so are failures: the lock does not grow.
        const login = await s.call('/api/v1/auth/login', {
          method: 'POST',
          json: { username: 'lou', password: 'a-long-test-password-42' },
        });
        expectProblem(login, 429, 'LOCKED_OUT');
        // The exempt endpoints stay open.
        expectStatus(await s.call('/meta'), 200);

        const events = await s.app.services.audit.list({}, { limit: 50, offset: 0 });
        expect(events.rows.filter((e) => e.action === 'auth.failed')).toHaveLength(5);
        const lockEvents = events.rows.filter((e) => e.action === 'auth.locked_out');
        expect(lockEvents).toHaveLength(1);
        expect(lockEvents[0]).toMatchObject({
          client_ip: '127.0.0.1',
          target_type: 'address',
          target_id: '127.0.0.1',
        });
        expect(JSON.stringify(events.rows)).not.toContain(badKey);
      },
    );

    it.skipIf(store.skip)('counts failed password logins too', async () => {
      const s = await start();
      await s.createUser('pat');
      for (let i = 0; i < 5; i++) {
        const r = await s.call('/api/v1/auth/login', {
          method: 'POST',
          json: { username: 'pat', password: 'wrong-password-1' },
        });
        expectStatus(r, 401);
      }
      const r = await s.call('/api/v1/auth/login', {
        method: 'POST',
        json: { username: 'pat', password: 'a-long-test-password-42' },
      });
      expectProblem(r, 429, 'LOCKED_OUT');
    });

    it.skipIf(store.skip)('ends on its own when the lock expires', async () => {
      const s = await start({ LATCHKEY_LOCKOUT_DURATION_S: '2' });
      const { key } = await s.createKey(await s.createUser('eve'));
      for (let i = 0; i < 5; i++) expectStatus(await fail(s), 401);
      expectProblem(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 429, 'LOCKED_OUT');
      await sleep(2200);
      expectStatus(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 200);
    });

    it.skipIf(store.skip)('a success before the lock clears the count', async () => {
      const s = await start();
      const { key } = await s.createKey(await s.createUser('sam'));
      for (let i = 0; i < 4; i++) expectStatus(await fail(s), 401);
      expectStatus(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 200);
      for (let i = 0; i < 4; i++) expectStatus(await fail(s), 401);
      expectStatus(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 200);
    });

    it.skipIf(store.skip)('is listed, and cleared by an admin at once', async () => {
      const s = await start();
      const { key } = await s.createKey(await s.createUser('dee'));
      for (let i = 0; i < 5; i++) expectStatus(await fail(s), 401);
      const list = await s.app.protection.lockouts.list();
      expect(list.map((l) => l.address)).toEqual(['127.0.0.1']);
      expect(list[0]?.lockedUntil.getTime()).toBeGreaterThan(Date.now() + 290_000);
      expect(await s.app.protection.lockouts.clear('127.0.0.1')).toBe(true);
      expect(await s.app.protection.lockouts.clear('127.0.0.1')).toBe(false);
      expect(await s.app.protection.lockouts.list()).toEqual([]);
      expectStatus(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 200);
    });

    it.skipIf(store.skip)('ignores a forged X-Forwarded-For when no proxy is trusted', async () => {
      const s = await start();
      for (let i = 0; i < 5; i++) expectStatus(await fail(s, { 'x-forwarded-for': `198.51.100.${i}` }), 401);
      const locked = await s.call('/api/v1/keys', { headers: { 'x-forwarded-for': '198.51.100.77' } });
      expectProblem(locked, 429, 'LOCKED_OUT');
      expect((await s.app.protection.lockouts.list()).map((l) => l.address)).toEqual(['127.0.0.1']);
    });

    it.skipIf(store.skip)(
      'behind a trusted proxy, locks only the forwarded client; other addresses are unaffected',
      async () => {
        const s = await start({ LATCHKEY_TRUSTED_PROXIES: '127.0.0.1' });
        const { key } = await s.createKey(await s.createUser('max'));
        const attacker = { 'x-forwarded-for': '203.0.113.9' };
        for (let i = 0; i < 5; i++) expectStatus(await fail(s, attacker), 401);
        expectProblem(
          await s.call(WHOAMI, { headers: { 'x-api-key': key, ...attacker } }),
          429,
          'LOCKED_OUT',
        );
        const neighbour = await s.call(WHOAMI, {
          headers: { 'x-api-key': key, 'x-forwarded-for': '203.0.113.10' },
        });
        expectStatus(neighbour, 200);
        // Spoofing a chain does not help: the right-most untrusted hop is the client.
        const spoofed = await s.call(WHOAMI, {
          headers: { 'x-api-key': key, 'x-forwarded-for': '192.0.2.1, 203.0.113.9' },
        });
        expectProblem(spoofed, 429, 'LOCKED_OUT');
        expectStatus(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 200);
        expect((await s.app.protection.lockouts.list()).map((l) => l.address)).toEqual(['203.0.113.9']);
      },
    );

    const itWithRedis = store.name === 'redis' ? it.skipIf(store.skip) : undefined;
    itWithRedis?.('is shared by instances through Redis', async () => {
      const prefix = `lk-lock-${Date.now()}`;
      const a = await start({ LATCHKEY_REDIS_PREFIX: prefix });
      const b = await start({ LATCHKEY_REDIS_PREFIX: prefix });
      for (let i = 0; i < 3; i++) expectStatus(await fail(a), 401);
      for (let i = 0; i < 2; i++) expectStatus(await fail(b), 401);
      expectProblem(await a.call(WHOAMI), 429, 'LOCKED_OUT');
      expectProblem(await b.call(WHOAMI), 429, 'LOCKED_OUT');
      expect((await a.app.protection.lockouts.list()).map((l) => l.address)).toEqual(['127.0.0.1']);
      await b.app.protection.lockouts.clear('127.0.0.1');
      expectProblem(await a.call(WHOAMI), 401, 'AUTHENTICATION_REQUIRED');
    });
  });
}

describe('protection setup', () => {
  it('refuses to start when Redis cannot be reached, saying so', async () => {
    await expect(startTestServer('sqlite', { LATCHKEY_REDIS_URL: 'redis://127.0.0.1:1' })).rejects.toThrow(
      /Could not connect to Redis/,
    );
  });
});

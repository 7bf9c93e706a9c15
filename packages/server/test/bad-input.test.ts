import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDialect, PASSWORD, startTestServer, type TestServer } from './support/test-server.js';

// Hostile or odd input gets a specific 4xx, never a 500, and changes nothing.
describeEachDialect('bad input', (dialect) => {
  let s: TestServer;
  let key: string;
  beforeAll(async () => {
    s = await startTestServer(dialect);
    const user = await s.createUser('mallory');
    key = (await s.createKey(user)).key;
  });
  afterAll(() => s.close());

  const keyCount = async () =>
    Number(
      (
        await s.app.services.storage.db
          .selectFrom('api_keys')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('refuses a NUL character in a body field, naming the field', async () => {
    const login = await s.call('/api/v1/auth/login', {
      method: 'POST',
      json: { username: 'mal\u0000lory', password: PASSWORD },
    });
    expect(login.status).toBe(400);
    expect(login.body.errors).toEqual([{ field: 'body.username', message: expect.stringContaining('NUL') }]);

    const before = await keyCount();
    const create = await s.call('/api/v1/keys', {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: { name: 'evil\u0000name' },
    });
    expect(create.status).toBe(400);
    expect(create.body.errors[0].field).toBe('body.name');
    expect(await keyCount()).toBe(before);
  });

  it('answers a NUL in a Basic username with the usual 401', async () => {
    const res = await s.call('/api/v1/auth/whoami', {
      headers: { authorization: `Basic ${Buffer.from(`mal\u0000lory:${PASSWORD}`).toString('base64')}` },
    });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('AUTHENTICATION_FAILED');
  });

  it('refuses a body of the wrong JSON type with 400', async () => {
    const res = await s.call('/api/v1/keys', {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: ['name'],
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });

  it('refuses bad query values with 400 naming the parameter', async () => {
    for (const q of ['limit=abc', 'limit=1&limit=2', 'offset=1.5', 'is_active=perhaps']) {
      const res = await s.call(`/api/v1/keys?${q}`, { headers: { 'x-api-key': key } });
      expect(res.status, q).toBe(400);
      expect(res.body.errors[0].field, q).toMatch(/^query\./);
    }
  });

  it('answers an oversized or odd key with 401, not a server error', async () => {
    for (const value of ['x'.repeat(4000), 'lk_', ' ', 'lk_\t']) {
      const res = await s.call('/api/v1/auth/whoami', { headers: { 'x-api-key': value } });
      expect(res.status, JSON.stringify(value)).toBe(401);
    }
  });

  it('answers an unknown Authorization scheme with 401', async () => {
    const res = await s.call('/api/v1/auth/whoami', { headers: { authorization: 'Digest username="x"' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
  });

  it('never echoes a huge input back: the problem stays within the bounds the contract declares', async () => {
    const body: Record<string, unknown> = { username: 'mallory', password: PASSWORD, ['x'.repeat(5000)]: 1 };
    for (let i = 0; i < 80; i++) body[`extra_${i}`] = i;
    const r = await s.call('/api/v1/keys', { method: 'POST', headers: { 'x-api-key': key }, json: body });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('VALIDATION_FAILED');
    expect(r.body.detail.length).toBeLessThanOrEqual(2048);
    expect(r.body.detail.endsWith('…')).toBe(true);
    expect(r.body.errors).toHaveLength(50);
    for (const e of r.body.errors) {
      expect(e.field.length).toBeLessThanOrEqual(256);
      expect(e.message.length).toBeLessThanOrEqual(256);
    }
    expect(r.body.errors.map((e: { field: string }) => e.field)).toContainEqual(
      expect.stringMatching(/^body\.x+…$/),
    );
    const long = await s.call(`/api/v1/${'p'.repeat(4000)}`);
    expect(long.status).toBe(404);
    expect(long.body.instance.length).toBeLessThanOrEqual(2048);
  });
});

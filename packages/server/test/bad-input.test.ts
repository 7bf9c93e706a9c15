import { request } from 'node:http';
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
        await s.app.storage.db
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

  it('refuses 5,000 levels of nested JSON with 400 before anything walks it, anonymous or not', async () => {
    const deep = `{"name": ${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const before = await keyCount();
    for (const [path, headers] of [
      ['/api/v1/auth/login', {}],
      ['/api/v1/auth/check_api_token', {}],
      ['/api/v1/keys', { 'x-api-key': key }],
    ] as const) {
      const res = await s.call(path, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: deep,
      });
      expect(res.status, path).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.detail).toMatch(/nests deeper than 32 levels/);
    }
    expect(await keyCount()).toBe(before);
  });

  it('refuses two Authorization headers with 400 MULTIPLE_CREDENTIALS, although Node keeps only the first', async () => {
    const url = new URL('/api/v1/auth/whoami', s.baseUrl);
    const reply = await new Promise<{ status: number; body: { code: string; detail: string } }>(
      (resolve, reject) => {
        // Raw headers, as message.rawHeaders lists them: the same name twice.
        const headers = ['Host', url.host, 'Authorization', `Bearer ${key}`, 'Authorization', 'Token junk'];
        const req = request(url, { headers }, (res) => {
          let text = '';
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.end();
      },
    );
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('MULTIPLE_CREDENTIALS');
    expect(reply.body.detail).toMatch(/Authorization: Bearer, Authorization: Token/);
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

import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDialect, startTestServer, type TestServer } from './support/test-server.js';

describeEachDialect('smoke', (dialect) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(dialect);
  });
  afterAll(() => s.close());

  it('creates a key with a login JWT and uses it', async () => {
    await s.createUser('alice');
    const login = await s.call('/api/v1/auth/login', {
      method: 'POST',
      json: { username: 'alice', password: 'a-long-test-password-42' },
    });
    expect(login.status).toBe(200);
    const created = await s.call('/api/v1/keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${login.body.token}` },
      json: { name: 'first' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const list = await s.call('/api/v1/keys', { headers: { 'x-api-key': created.body.key } });
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    expect(list.body.count).toBe(1);
    expect(list.headers.get('x-auth-method')).toBe('HeaderTokenAuth');
  });
});

import type { UserRecord } from '@latchkey/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus } from './support/expect.js';
import { basic, PASSWORD, startTestServer, type TestServer } from './support/test-server.js';

// GET /api/v1/auth/forward, as a reverse proxy calls it: the original request's credential,
// method and URI, and the permissions the proxy configuration names.

const FORWARD = '/api/v1/auth/forward';
const IDENTITY = [
  'x-auth-method',
  'x-auth-user-id',
  'x-auth-user-username',
  'x-auth-token-id',
  'x-auth-expires',
];

describe('forward authentication (login required)', () => {
  let s: TestServer;
  let alice: UserRecord;

  beforeAll(async () => {
    s = await startTestServer('sqlite', {
      LATCHKEY_API_KEY_HEADERS: 'X-API-Key,X-ArchiveBox-API-Key',
      LATCHKEY_TRUSTED_PROXIES: '127.0.0.1',
    });
    alice = await s.createUser('forward-alice');
  });
  afterAll(() => s.close());

  const forward = (headers: Record<string, string>, query = '') =>
    s.call(`${FORWARD}${query}`, { headers: { 'x-original-method': 'GET', ...headers } });

  it('passes a valid key with an empty body, the identity and the rate limit', async () => {
    const { key, id } = await s.createKey(alice);
    const r = await forward({ 'x-api-key': key, 'x-original-uri': '/api/v1/core/snapshots' });
    expectStatus(r, 200);
    expect(r.body).toBe('');
    expect(r.headers.get('content-length')).toBe('0');
    expect(r.headers.get('x-auth-method')).toBe('HeaderTokenAuth');
    expect(r.headers.get('x-auth-user-id')).toBe(alice.id);
    expect(r.headers.get('x-auth-user-username')).toBe('forward-alice');
    expect(r.headers.get('x-auth-token-id')).toBe(id);
    expect(r.headers.get('x-auth-permissions')).toBeNull();
    expect(r.headers.get('x-ratelimit-limit')).toBe('1000000');
    expect(Number(r.headers.get('x-ratelimit-remaining'))).toBeLessThan(1000000);
    expect(r.headers.get('ratelimit')).toMatch(/;r=\d+;t=\d+$/);
  });

  it('finds the credential every way Latchkey does', async () => {
    const { key } = await s.createKey(alice);
    const login = await s.call('/api/v1/auth/login', {
      method: 'POST',
      json: { username: 'forward-alice', password: PASSWORD },
    });
    const session = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const ways: [Record<string, string>, string][] = [
      [{ 'x-archivebox-api-key': key }, 'HeaderTokenAuth'],
      [{ authorization: `Bearer ${key}` }, 'BearerTokenAuth'],
      [{ authorization: `Token ${key}` }, 'TokenAuth'],
      [{ 'x-original-uri': `/api/v1/core/snapshots?api_key=${key}` }, 'QueryParamTokenAuth'],
      [{ 'x-forwarded-uri': `/api/v1/core/snapshots?limit=5&api_key=${key}` }, 'QueryParamTokenAuth'],
      [{ authorization: basic('forward-alice') }, 'BasicAuth'],
      [{ authorization: `Bearer ${login.body.token}` }, 'JwtAuth'],
      [{ cookie: session }, 'SessionAuth'],
    ];
    for (const [headers, method] of ways) {
      const r = await forward(headers);
      expectStatus(r, 200);
      expect(r.headers.get('x-auth-method'), JSON.stringify(headers)).toBe(method);
      for (const name of IDENTITY) expect(r.headers.get(name), name).not.toBeNull();
    }
    // The forward request's own query is not the original's: no credential there.
    expectProblem(await forward({}, `?api_key=${key}`), 401, 'AUTHENTICATION_REQUIRED');
  });

  it('needs the original method, and refuses a read-only key an unsafe one', async () => {
    const { key } = await s.createKey(alice, { write_enabled: false });
    const none = await s.call(FORWARD, { headers: { 'x-api-key': key } });
    expectProblem(none, 400, 'VALIDATION_FAILED', 'header.X-Original-Method');
    const bad = await s.call(FORWARD, { headers: { 'x-api-key': key, 'x-forwarded-method': 'GET /' } });
    expectProblem(bad, 400, 'VALIDATION_FAILED', 'header.X-Forwarded-Method');
    expectStatus(await forward({ 'x-api-key': key }), 200);
    expectStatus(await forward({ 'x-api-key': key, 'x-original-method': 'head' }), 200);
    expectProblem(await forward({ 'x-api-key': key, 'x-original-method': 'POST' }), 403, 'KEY_READ_ONLY');
    expectProblem(await forward({ 'x-api-key': key, 'x-forwarded-method': 'DELETE' }), 403, 'KEY_READ_ONLY');
  });

  it('checks the permissions the proxy names, and shows the key permissions', async () => {
    const { key } = await s.createKey(alice, { permissions: ['archive.*:read', 'archive.snapshots:write'] });
    const ok = await forward(
      { 'x-api-key': key },
      '?permission=archive.snapshots:read&permission=archive.snapshots:write',
    );
    expectStatus(ok, 200);
    expect(ok.headers.get('x-auth-permissions')).toBe('archive.*:read,archive.snapshots:write');
    const lacking = await forward({ 'x-api-key': key }, '?permission=archive.tags:write');
    expectProblem(lacking, 403, 'INSUFFICIENT_PERMISSIONS');
    expect(lacking.body.detail).toContain('archive.tags:write');
    const { key: nothing } = await s.createKey(alice, { permissions: [] });
    expectProblem(await forward({ 'x-api-key': nothing }), 403, 'INSUFFICIENT_PERMISSIONS');
    const { key: unrestricted } = await s.createKey(alice);
    expectStatus(await forward({ 'x-api-key': unrestricted }, '?permission=anything:at-all'), 200);
    const malformed = await forward({ 'x-api-key': unrestricted }, '?permission=Not%20Valid');
    expectProblem(malformed, 400, 'VALIDATION_FAILED');
  });

  it('refuses a missing or wrong credential with 401 and WWW-Authenticate', async () => {
    const none = await forward({});
    expectProblem(none, 401, 'AUTHENTICATION_REQUIRED');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm="latchkey"/);
    const wrong = await forward({ 'x-api-key': 'lk_not-a-key-at-all' });
    expectProblem(wrong, 401, 'AUTHENTICATION_FAILED');
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it("checks a key's allowed addresses against the client address a trusted proxy names", async () => {
    const { key } = await s.createKey(alice, { allowed_ips: ['203.0.113.0/24'] });
    expectStatus(await forward({ 'x-api-key': key, 'x-forwarded-for': '203.0.113.7' }), 200);
    expectProblem(
      await forward({ 'x-api-key': key, 'x-forwarded-for': '198.51.100.1' }),
      403,
      'IP_NOT_ALLOWED',
    );
  });

  it('keeps Latchkey own API behind a credential, and says so in /meta', async () => {
    const meta = await s.call('/meta');
    expect(meta.body.login_required).toBe(true);
  });
});

describe('forward authentication with LATCHKEY_LOGIN_REQUIRED=false', () => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer('sqlite', {
      LATCHKEY_LOGIN_REQUIRED: 'false',
      LATCHKEY_RATE_LIMIT: '3',
      LATCHKEY_LOCKOUT_ATTEMPTS: '2',
    });
  });
  afterAll(() => s.close());

  const forward = (method: string, headers: Record<string, string> = {}, query = '') =>
    s.call(`${FORWARD}${query}`, { headers: { 'x-original-method': method, ...headers } });

  it('lets a safe request without a credential pass as Anonymous, on its address rate limit', async () => {
    const r = await forward('GET');
    expectStatus(r, 200);
    expect(r.headers.get('x-auth-method')).toBe('Anonymous');
    expect(r.headers.get('x-auth-user-id')).toBeNull();
    expect(r.headers.get('x-ratelimit-limit')).toBe('3');
    expect(r.headers.get('x-ratelimit-remaining')).toBe('2');
    expect((await s.call('/meta')).body.login_required).toBe(false);
    // Latchkey's own API still needs a credential.
    expectProblem(await s.call('/api/v1/auth/whoami'), 401, 'AUTHENTICATION_REQUIRED');
  });

  it('still refuses unsafe methods, permissions and wrong credentials; wrong ones count towards the lockout', async () => {
    expectProblem(await forward('POST'), 401, 'AUTHENTICATION_REQUIRED');
    expectProblem(
      await forward('GET', {}, '?permission=archive.snapshots:read'),
      401,
      'AUTHENTICATION_REQUIRED',
    );
    expectProblem(await forward('GET', { 'x-api-key': 'lk_wrong' }), 401, 'AUTHENTICATION_FAILED');
    expectProblem(await forward('GET', { 'x-api-key': 'lk_wrong' }), 401, 'AUTHENTICATION_FAILED');
    const locked = await forward('GET', { 'x-api-key': 'lk_wrong' });
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).not.toBeNull();
  });
});

describe('forward authentication and the rate limit', () => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer('sqlite', { LATCHKEY_RATE_LIMIT: '2' });
  });
  afterAll(() => s.close());

  it("spends the key's rate limit and answers 429 with Retry-After", async () => {
    const user = await s.createUser('forward-limited');
    const { key } = await s.createKey(user);
    const call = () => s.call(FORWARD, { headers: { 'x-original-method': 'GET', 'x-api-key': key } });
    expectStatus(await call(), 200);
    expectStatus(await call(), 200);
    const limited = await call();
    expectProblem(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
  });
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard } from '../src/guard.js';
import { type GuardFixtures, startGuardFixtures } from './support/guard-fixtures.js';
import { FRAMEWORKS, type GuardedApp, type GuardHolder, startGuardedApp } from './support/guarded-apps.js';

// Real Express, Koa, Fastify and Hono apps protected by the guard, against the real Latchkey
// server: what the handler sees, and what a caller gets when refused.

let f: GuardFixtures;
let unreachable: string;
beforeAll(async () => {
  f = await startGuardFixtures();
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  unreachable = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}, 60_000);
afterAll(() => f.close());

const PATH = '/api/v1/core/snapshots';

describe.each(FRAMEWORKS)('%s', (framework) => {
  let app: GuardedApp;
  let now = Date.now();
  const holder = {} as GuardHolder;
  const guardOf = (baseUrl: string) =>
    createGuard({ baseUrl, credentials: { apiKey: f.verifierKey }, now: () => now });

  beforeAll(async () => {
    holder.guard = guardOf(f.server.baseUrl);
    app = await startGuardedApp(framework, holder);
  });
  afterAll(() => app.close());

  const call = (headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`${app.url}${PATH}`, { method, headers });

  /** The refusal a caller gets: status, problem+json in Latchkey's shape. */
  async function expectProblem(res: Response, status: number, code: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = await res.json();
    expect(body).toEqual({
      type: `${f.server.baseUrl}/docs/errors/${code}`,
      title: expect.any(String),
      status,
      code,
      detail: expect.any(String),
      ...(status === 429 ? { retryAfter: expect.any(Number) } : {}),
    });
    return body;
  }

  it('lets a good key through: the handler sees the owner, the permissions and the rate limit', async () => {
    const { key, id } = await f.keyOf({
      permissions: ['archive.snapshots:read'],
      rate_limit: { limit: 5, window_s: 60 },
    });
    const res = await call({ 'X-API-Key': key });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      key_id: id,
      owner: { id: expect.any(String), username: 'archivist' },
      permissions: ['archive.snapshots:read'],
      ratelimit: { limit: 5, remaining: 4, reset: expect.any(Number) },
      cached: false,
    });
    expect(res.headers.get('x-ratelimit-limit')).toBe('5');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('4');
    expect(res.headers.get('ratelimit')).toMatch(/^"latchkey";r=4;t=\d+$/);
    expect(res.headers.get('ratelimit-policy')).toBe('"latchkey";q=5');
  });

  it('gives Latchkey the client’s address: a key limited to addresses works from them only', async () => {
    const { key: local } = await f.keyOf({ allowed_ips: ['127.0.0.1'] });
    expect((await call({ 'X-API-Key': local })).status).toBe(200);
    const { key: remote } = await f.keyOf({ allowed_ips: ['203.0.113.0/24'] });
    const body = await expectProblem(await call({ 'X-API-Key': remote }), 403, 'IP_NOT_ALLOWED');
    expect(body.detail).toContain('127.0.0.1');
  });

  it('401 without a key, with the challenge', async () => {
    const res = await call();
    await expectProblem(res, 401, 'AUTHENTICATION_REQUIRED');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="latchkey", Token realm="latchkey"');
  });

  it('401 for a key Latchkey does not know, saying the token is invalid', async () => {
    const res = await call({ Authorization: 'Token lk_this-key-was-never-issued-by-anyone' });
    await expectProblem(res, 401, 'AUTHENTICATION_FAILED');
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('403 for a read-only key that writes, and for a key without the permission', async () => {
    const { key: readOnly } = await f.keyOf({ write_enabled: false });
    await expectProblem(await call({ 'X-API-Key': readOnly }, 'POST'), 403, 'KEY_READ_ONLY');
    const { key: reader } = await f.keyOf({ permissions: ['archive.snapshots:read'] });
    const body = await expectProblem(
      await call({ 'X-API-Key': reader }, 'POST'),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    expect(body.detail).toContain('archive.snapshots:write');
    const { key: writer } = await f.keyOf({ permissions: ['archive.*:write'] });
    expect((await call({ Authorization: `Bearer ${writer}` }, 'POST')).status).toBe(201);
  });

  it('429 over the key’s rate limit, with Retry-After, X-RateLimit-* and RateLimit', async () => {
    const { key } = await f.keyOf({ rate_limit: { limit: 1, window_s: 60 } });
    expect((await call({ 'X-API-Key': key })).status).toBe(200);
    // A fresh verdict: the cached one would answer 429 without asking (it has no room left either).
    now += 1000;
    const res = await call({ 'X-API-Key': key });
    const body = await expectProblem(res, 429, 'RATE_LIMITED');
    expect(res.headers.get('retry-after')).toBe(String(body.retryAfter));
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(res.headers.get('x-ratelimit-limit')).toBe('1');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(res.headers.get('ratelimit')).toMatch(/^"latchkey";r=0;t=\d+$/);
  });

  it('refuses a deactivated key once the cache’s second has passed, and not before', async () => {
    const { key, id } = await f.keyOf();
    expect(await (await call({ 'X-API-Key': key })).json()).toMatchObject({ cached: false });
    await f.archivist.deactivateKey({ path: { key_id: id } });
    now += 999;
    expect(await (await call({ 'X-API-Key': key })).json()).toMatchObject({ cached: true });
    now += 1;
    await expectProblem(await call({ 'X-API-Key': key }), 401, 'AUTHENTICATION_FAILED');
  });

  it('503 when Latchkey cannot be reached: closed, not open', async () => {
    const { key } = await f.keyOf();
    holder.guard = guardOf(unreachable);
    try {
      const res = await call({ 'X-API-Key': key });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        type: `${unreachable}/docs/errors/VERIFICATION_UNAVAILABLE`,
        code: 'VERIFICATION_UNAVAILABLE',
      });
    } finally {
      holder.guard = guardOf(f.server.baseUrl);
    }
  });
});

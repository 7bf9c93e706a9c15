// The scenario overrides, seen through the SDK a consumer uses.
import {
  AuthenticationError,
  createLatchkeyClient,
  LatchkeyError,
  NetworkError,
  RateLimitError,
} from '@latchkey/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setupLatchkeyServer } from '../src/node.js';
import { scenarios } from '../src/scenarios.js';

const baseUrl = 'http://scenarios.test';
const { server, mock } = setupLatchkeyServer({
  baseUrl,
  seed: { users: [{ username: 'alice' }], keys: [{ owner: 'alice', name: 'ci' }] },
});
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  server.resetHandlers();
  mock.reset();
});
afterAll(() => server.close());

const client = (options: Partial<Parameters<typeof createLatchkeyClient>[0]> = {}) =>
  createLatchkeyClient({ baseUrl, credentials: { apiKey: mock.seeded.keys.ci!.key }, ...options });

describe('scenarios', () => {
  it('answers normally without a scenario', async () => {
    expect((await client().whoami()).data.user.username).toBe('alice');
  });

  it('rateLimited: 429 with Retry-After; the client waits it out once, then the mock answers', async () => {
    server.use(...scenarios.rateLimited({ retryAfter: 1, once: true }));
    const waits: number[] = [];
    const started = Date.now();
    const { data } = await client({ onRateLimit: (e) => void waits.push(e.waitMs) }).whoami();
    expect(data.user.username).toBe('alice');
    expect(waits).toEqual([1000]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('rateLimited: a RateLimitError when the client does not retry', async () => {
    server.use(...scenarios.rateLimited({ retryAfter: 42, operationIds: ['listKeys'] }));
    const c = client({ maxRateLimitRetries: 0 });
    const err = await c.listKeys().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfter).toBe(42);
    expect(c.rateLimit).toMatchObject({ limit: 100, remaining: 0 });
    expect((await c.whoami()).response.status).toBe(200);
  });

  it('credentialExpiring: X-Auth-Expires says soon and the client warns', async () => {
    server.use(...scenarios.credentialExpiring({ inMs: 60_000 }));
    const warnings: number[] = [];
    const c = client({ onCredentialExpiring: (e) => void warnings.push(e.msLeft) });
    await c.whoami();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBeGreaterThan(50_000);
    expect(warnings[0]).toBeLessThanOrEqual(60_000);
    expect(c.credentialExpiresAt?.getTime()).toBeGreaterThan(Date.now());
  });

  it('unauthorized: 401 AUTHENTICATION_FAILED with WWW-Authenticate', async () => {
    server.use(...scenarios.unauthorized({ baseUrl }));
    const err = await client()
      .whoami()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).response.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="latchkey"/,
    );
  });

  it('serverError: 500 INTERNAL_ERROR, once', async () => {
    server.use(...scenarios.serverError({ once: true }));
    const err = await client()
      .whoami()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LatchkeyError);
    expect([(err as LatchkeyError).status, (err as LatchkeyError).code]).toEqual([500, 'INTERNAL_ERROR']);
    expect((await client().whoami()).response.status).toBe(200);
  });

  it('networkError: the request fails without an answer', async () => {
    server.use(...scenarios.networkError({ operationIds: ['whoami'] }));
    await expect(client().whoami()).rejects.toBeInstanceOf(NetworkError);
    expect((await client().listKeys()).data.count).toBe(1);
  });

  it('latency: the answer comes late but unchanged', async () => {
    server.use(...scenarios.latency(250));
    const started = Date.now();
    expect((await client().whoami()).data.user.username).toBe('alice');
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
  });

  it('reset() forgets what tests created and seeds again', async () => {
    await client().createKey({ body: { name: 'temporary' } });
    expect((await client().listKeys()).data.count).toBe(2);
    const seeded = mock.reset();
    const fresh = createLatchkeyClient({ baseUrl, credentials: { apiKey: seeded.keys.ci!.key } });
    expect((await fresh.listKeys()).data.count).toBe(1);
  });
});

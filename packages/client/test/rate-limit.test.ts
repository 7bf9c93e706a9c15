import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createLatchkeyClient,
  type LatchkeyClientOptions,
  RateLimitError,
  type RateLimitEvent,
} from '../src/index.js';
import { ADMIN, type LatchkeyTestServer, startLatchkeyServer } from './support/latchkey-server.js';

// 429 answers from a gate in front of the real server: the first requests are turned away
// with Retry-After and X-RateLimit-* / RateLimit headers, the next ones reach the app.

let server: LatchkeyTestServer;
let key: string;

const client = (options: Partial<LatchkeyClientOptions> = {}) =>
  createLatchkeyClient({ baseUrl: server.baseUrl, credentials: { apiKey: key }, ...options });

const whoamiHits = () => server.hits.filter((h) => h.path === '/api/v1/auth/whoami').length;

beforeAll(async () => {
  server = await startLatchkeyServer();
  const admin = createLatchkeyClient({ baseUrl: server.baseUrl, credentials: { login: ADMIN } });
  key = (await admin.createKey({ body: { name: 'rate-limited' } })).data.key;
});

afterAll(async () => {
  await server?.close();
});

describe('429 from the server', () => {
  it('is waited out per Retry-After and retried, telling onRateLimit', async () => {
    const onRateLimit = vi.fn<(event: RateLimitEvent) => void>();
    const lk = client({ onRateLimit });
    const before = whoamiHits();
    server.rateLimitNext({ times: 1, retryAfter: 1, limit: 100 });

    const started = Date.now();
    const { data } = await lk.whoami();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(data.auth.method).toBe('HeaderTokenAuth');
    expect(whoamiHits() - before).toBe(2);
    expect(onRateLimit).toHaveBeenCalledTimes(1);
    expect(onRateLimit.mock.calls[0]?.[0]).toMatchObject({
      reason: 'rate-limited',
      waitMs: 1000,
      willRetry: true,
      attempt: 1,
      method: 'GET',
      path: '/api/v1/auth/whoami',
      rateLimit: { limit: 100, remaining: 0, resetAt: expect.any(Date) },
    });
  });

  it('retries a POST with its body', async () => {
    server.rateLimitNext({ times: 1, retryAfter: 1 });
    const { data } = await client().createKey({ body: { name: 'sent-twice' } });
    expect(data.name).toBe('sent-twice');
  });

  it('ends in a RateLimitError once maxRateLimitRetries are spent', async () => {
    const onRateLimit = vi.fn<(event: RateLimitEvent) => void>();
    const lk = client({ maxRateLimitRetries: 1, onRateLimit });
    const before = whoamiHits();
    server.rateLimitNext({ times: 2, retryAfter: 1 });

    const error = await lk.whoami().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, code: 'RATE_LIMITED', retryAfter: 1 });
    expect(whoamiHits() - before).toBe(2);
    expect(onRateLimit.mock.calls.map(([e]) => e.willRetry)).toEqual([true, false]);
    expect(lk.rateLimit).toMatchObject({ limit: 100, remaining: 0 });
  });

  it('throws at once when Retry-After is longer than maxRateLimitWaitMs', async () => {
    const lk = client({ maxRateLimitWaitMs: 5_000 });
    server.rateLimitNext({ times: 1, retryAfter: 30 });
    const started = Date.now();
    await expect(lk.whoami()).rejects.toMatchObject({ name: 'RateLimitError', retryAfter: 30 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await lk.whoami()).data.auth.method).toBe('HeaderTokenAuth');
  });

  it('with throttle: true, waits for the reset before sending when nothing is left', async () => {
    const onRateLimit = vi.fn<(event: RateLimitEvent) => void>();
    const lk = client({ throttle: true, maxRateLimitRetries: 0, onRateLimit });
    server.rateLimitNext({ times: 1, retryAfter: 1 });
    await expect(lk.whoami()).rejects.toBeInstanceOf(RateLimitError);
    expect(lk.rateLimit?.remaining).toBe(0);

    const before = whoamiHits();
    const started = Date.now();
    await lk.whoami();
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(whoamiHits() - before).toBe(1);
    expect(onRateLimit.mock.calls.map(([e]) => e.reason)).toEqual(['rate-limited', 'throttled']);
  });
});

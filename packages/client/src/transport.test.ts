import { describe, expect, it, vi } from 'vitest';
import { fakeFetch, json, problem } from '../test/support/fake-fetch.js';
import { NetworkError } from './errors.js';
import { parseRateLimit, type RateLimit } from './rate-limit.js';
import { createTransport, type RateLimitEvent, sleep, type TransportOptions } from './transport.js';

const URL_ = 'http://latchkey.test/api/v1/keys?api_key=secret';
const NOW = Date.parse('2026-11-22T10:00:00.000Z');

const tooMany = (retryAfter?: number, extra: Record<string, string> = {}) =>
  problem(
    429,
    'RATE_LIMITED',
    {},
    { ...(retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) }), ...extra },
  );

/** A transport over a scripted server: each request takes the next answer. */
function setup(
  answers: Array<Response | (() => Response | Promise<Response>)>,
  options: Partial<TransportOptions> = {},
) {
  let clock = NOW;
  let rateLimit: RateLimit | undefined;
  const slept: number[] = [];
  const events: RateLimitEvent[] = [];
  const server = fakeFetch(() => {
    const next = answers.shift();
    if (!next) throw new Error('no more answers scripted');
    return typeof next === 'function' ? next() : next;
  });
  const send = createTransport({
    fetch: server.fetch,
    timeoutMs: 1000,
    maxRateLimitRetries: 2,
    maxRateLimitWaitMs: 60_000,
    throttle: false,
    onRateLimit: (event) => {
      events.push(event);
    },
    observe: (response) => {
      rateLimit = parseRateLimit(response.headers, clock) ?? rateLimit;
    },
    currentRateLimit: () => rateLimit,
    now: () => clock,
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
    ...options,
  });
  return { send, seen: server.seen, slept, events, setRateLimit: (r: RateLimit) => (rateLimit = r) };
}

describe('waiting out 429', () => {
  it('waits per Retry-After and retries, then returns the answer', async () => {
    const t = setup([tooMany(3), json(200, { ok: true })]);
    const response = await t.send(URL_);
    expect(response.status).toBe(200);
    expect(t.seen).toHaveLength(2);
    expect(t.slept).toEqual([3000]);
    expect(t.events).toEqual([
      {
        reason: 'rate-limited',
        waitMs: 3000,
        willRetry: true,
        attempt: 1,
        rateLimit: undefined,
        method: 'GET',
        path: '/api/v1/keys',
      },
    ]);
  });

  it('sends the same body again on the retry', async () => {
    const t = setup([tooMany(1), json(201, {})]);
    await t.send(URL_, { method: 'POST', body: JSON.stringify({ name: 'ci' }) });
    expect(t.seen.map((r) => [r.method, r.body])).toEqual([
      ['POST', '{"name":"ci"}'],
      ['POST', '{"name":"ci"}'],
    ]);
  });

  it('gives up after maxRateLimitRetries and returns the last 429', async () => {
    const t = setup([tooMany(1), tooMany(1), tooMany(1), json(200, {})]);
    const response = await t.send(URL_);
    expect(response.status).toBe(429);
    expect(t.seen).toHaveLength(3);
    expect(t.events.map((e) => [e.attempt, e.willRetry])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
  });

  it('does not wait at all when Retry-After is beyond maxRateLimitWaitMs', async () => {
    const t = setup([tooMany(300), json(200, {})], { maxRateLimitWaitMs: 10_000 });
    expect((await t.send(URL_)).status).toBe(429);
    expect(t.slept).toEqual([]);
    expect(t.events[0]).toMatchObject({ waitMs: 300_000, willRetry: false });
  });

  it('bounds the total wait of one call by maxRateLimitWaitMs', async () => {
    const t = setup([tooMany(40), tooMany(40), json(200, {})], { maxRateLimitWaitMs: 60_000 });
    expect((await t.send(URL_)).status).toBe(429);
    expect(t.slept).toEqual([40_000]);
  });

  it('falls back to the rate-limit reset, then to one second, when Retry-After is missing', async () => {
    const reset = String(NOW / 1000 + 5);
    const t = setup([
      tooMany(undefined, { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': reset }),
      json(200, {}),
    ]);
    await t.send(URL_);
    expect(t.slept).toEqual([5000]);

    const bare = setup([tooMany(), json(200, {})]);
    await bare.send(URL_);
    expect(bare.slept).toEqual([1000]);
  });

  it('retries no more when maxRateLimitRetries is 0', async () => {
    const t = setup([tooMany(1), json(200, {})], { maxRateLimitRetries: 0 });
    expect((await t.send(URL_)).status).toBe(429);
    expect(t.events[0]?.willRetry).toBe(false);
  });
});

describe('throttle', () => {
  it('waits for the reset before sending when nothing is left', async () => {
    const t = setup([json(200, {})], { throttle: true });
    t.setRateLimit({ limit: 10, remaining: 0, resetAt: new Date(NOW + 4000) });
    await t.send(URL_);
    expect(t.slept).toEqual([4000]);
    expect(t.events[0]).toMatchObject({ reason: 'throttled', waitMs: 4000, willRetry: true, attempt: 0 });
  });

  it('sends at once without throttle, or when requests are left, or when the reset has passed', async () => {
    for (const [throttle, rateLimit] of [
      [false, { limit: 10, remaining: 0, resetAt: new Date(NOW + 4000) }],
      [true, { limit: 10, remaining: 1, resetAt: new Date(NOW + 4000) }],
      [true, { limit: 10, remaining: 0, resetAt: new Date(NOW - 1000) }],
    ] as const) {
      const t = setup([json(200, {})], { throttle });
      t.setRateLimit(rateLimit);
      await t.send(URL_);
      expect(t.slept).toEqual([]);
    }
  });
});

describe('failures to get an answer', () => {
  it('turns a network failure into NetworkError keeping the cause, without the query in the message', async () => {
    const cause = new TypeError('fetch failed');
    const t = setup([
      () => {
        throw cause;
      },
    ]);
    const error = await t.send(URL_).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).cause).toBe(cause);
    expect((error as NetworkError).message).toBe('GET /api/v1/keys failed: fetch failed');
  });

  it('gives up on an attempt after timeoutMs', async () => {
    const never: typeof fetch = (_input, init) =>
      new Promise((_, reject) => {
        const signal = init?.signal as AbortSignal;
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    const t = setup([], { fetch: never, timeoutMs: 50 });
    const error = await t.send(URL_).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toBe('GET /api/v1/keys: no response within 50 ms');
    expect(((error as Error).cause as DOMException).name).toBe('TimeoutError');
  });

  it("rejects with the caller's abort, not a NetworkError, also while waiting out a 429", async () => {
    const aborted = new AbortController();
    aborted.abort();
    const t = setup([json(200, {})]);
    await expect(t.send(URL_, { signal: aborted.signal })).rejects.toMatchObject({ name: 'AbortError' });

    const controller = new AbortController();
    const waiting = setup([tooMany(30), json(200, {})], {
      sleep,
      onRateLimit: () => controller.abort(),
    });
    await expect(waiting.send(URL_, { signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(waiting.seen).toHaveLength(1);
  });
});

describe('renewing the credential after a 401', () => {
  it('retries once with the request renew gives, and returns a second 401 as is', async () => {
    const renew = vi.fn(async (request: Request) => {
      const headers = new Headers(request.headers);
      headers.set('Authorization', 'Bearer fresh');
      return new Request(request, { headers });
    });
    const t = setup([problem(401, 'AUTHENTICATION_FAILED'), problem(401, 'AUTHENTICATION_FAILED')], {
      renew,
    });
    const response = await t.send(URL_, {
      method: 'POST',
      headers: { Authorization: 'Bearer stale' },
      body: 'x',
    });
    expect(response.status).toBe(401);
    expect(renew).toHaveBeenCalledTimes(1);
    expect(t.seen.map((r) => [r.headers.get('authorization'), r.body])).toEqual([
      ['Bearer stale', 'x'],
      ['Bearer fresh', 'x'],
    ]);
  });

  it('returns the 401 when renew has nothing better', async () => {
    const t = setup([problem(401, 'AUTHENTICATION_FAILED')], { renew: async () => undefined });
    expect((await t.send(URL_)).status).toBe(401);
    expect(t.seen).toHaveLength(1);
  });
});

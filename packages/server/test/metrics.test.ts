import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus } from './support/expect.js';
import { parseSamples, type Sample, sampleValue } from './support/prometheus.js';
import { basic, describeEachDialect, startTestServer, type TestServer } from './support/test-server.js';

const WHOAMI = '/api/v1/auth/whoami';
const TOKEN = 'metrics-token-for-the-test-suite-0123456789';

async function scrape(s: TestServer, token?: string): Promise<Sample[]> {
  const res = await s.fetch('/metrics', token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseSamples(await res.text());
}

describe('GET /metrics access', () => {
  let servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });
  const start = async (env: Record<string, string> = {}) => {
    const s = await startTestServer('sqlite', env);
    servers.push(s);
    return s;
  };

  it('is off by default: 404 NOT_FOUND naming the setting, whoever asks', async () => {
    const s = await start();
    const off = await s.call('/metrics');
    expectProblem(off, 404, 'NOT_FOUND');
    expect(off.body.detail).toContain('LATCHKEY_METRICS');
    const admin = await s.createUser('root', { superuser: true });
    const { key } = await s.createKey(admin);
    expectProblem(await s.call('/metrics', { headers: { 'x-api-key': key } }), 404, 'NOT_FOUND');
  });

  it('with a token: 401 without it or with anything else (a superuser key included), 200 with it', async () => {
    const s = await start({ LATCHKEY_METRICS: TOKEN });
    const none = await s.call('/metrics');
    expectProblem(none, 401, 'AUTHENTICATION_REQUIRED');
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="latchkey-metrics"');
    const wrong = await s.call('/metrics', { headers: { authorization: `Bearer ${TOKEN}x` } });
    expectProblem(wrong, 401, 'AUTHENTICATION_FAILED');
    expect(wrong.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="latchkey-metrics", error="invalid_token"/,
    );
    const admin = await s.createUser('root', { superuser: true });
    const { key } = await s.createKey(admin);
    expectProblem(
      await s.call('/metrics', { headers: { authorization: `Bearer ${key}` } }),
      401,
      'AUTHENTICATION_FAILED',
    );
    expectProblem(
      await s.call('/metrics', { headers: { 'x-api-key': key } }),
      401,
      'AUTHENTICATION_REQUIRED',
    );
    expectProblem(
      await s.call('/metrics', { headers: { authorization: basic('root') } }),
      401,
      'AUTHENTICATION_FAILED',
    );
    const ok = await s.fetch('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(await ok.text()).toContain('# TYPE latchkey_http_requests_total counter');
  });

  it('refuses a short token at start, without repeating it', async () => {
    await expect(start({ LATCHKEY_METRICS: 'short-secret' })).rejects.toThrow(
      /LATCHKEY_METRICS: must be off, open, or a token of at least 32 characters \(got 12 characters\)/,
    );
    await expect(start({ LATCHKEY_METRICS: 'short-secret' })).rejects.not.toThrow(/short-secret/);
  });

  it('open: anyone may scrape', async () => {
    const s = await start({ LATCHKEY_METRICS: 'open' });
    expect((await scrape(s)).length).toBeGreaterThan(10);
  });
});

describeEachDialect('metrics', (dialect) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(dialect, {
      LATCHKEY_METRICS: 'open',
      // Usage is written only when the test flushes it.
      LATCHKEY_USAGE_FLUSH_MS: '600000',
      LATCHKEY_TRUSTED_PROXIES: '127.0.0.1',
      LATCHKEY_LOCKOUT_ATTEMPTS: '2',
    });
  });
  afterAll(() => s.close());

  it('counts requests by operationId and status, with a latency histogram', async () => {
    const { key } = await s.createKey(await s.createUser('olga'));
    const before = await scrape(s);
    for (let i = 0; i < 3; i++) expectStatus(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 200);
    expectStatus(await s.call(`/api/v1/keys/${crypto.randomUUID()}`, { headers: { 'x-api-key': key } }), 404);
    expectStatus(await s.call('/no/such/path'), 404);
    const after = await scrape(s);
    const delta = (name: string, labels: Record<string, string>) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(delta('latchkey_http_requests_total', { operation: 'whoami', status: '200' })).toBe(3);
    expect(
      delta('latchkey_http_request_duration_seconds_count', { operation: 'whoami', status: '200' }),
    ).toBe(3);
    expect(
      delta('latchkey_http_request_duration_seconds_bucket', {
        operation: 'whoami',
        status: '200',
        le: '+Inf',
      }),
    ).toBe(3);
    expect(
      delta('latchkey_http_request_duration_seconds_sum', { operation: 'whoami', status: '200' }),
    ).toBeGreaterThan(0);
    expect(delta('latchkey_http_requests_total', { operation: 'getKey', status: '404' })).toBe(1);
    expect(delta('latchkey_http_requests_total', { operation: 'none', status: '404' })).toBe(1);
    // The scrape before counted itself once it was answered.
    expect(
      sampleValue(after, 'latchkey_http_requests_total', { operation: 'getMetrics', status: '200' }),
    ).toBe(
      sampleValue(before, 'latchkey_http_requests_total', { operation: 'getMetrics', status: '200' }) + 1,
    );
  });

  it('counts authentications by method and outcome code', async () => {
    const user = await s.createUser('petra');
    const { key } = await s.createKey(user);
    const before = await scrape(s);
    expectStatus(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 200);
    expectStatus(await s.call(WHOAMI, { headers: { authorization: `Bearer ${key}` } }), 200);
    expectStatus(await s.call(WHOAMI, { headers: { authorization: basic('petra') } }), 200);
    expectProblem(await s.call(WHOAMI), 401, 'AUTHENTICATION_REQUIRED');
    expectProblem(
      await s.call(WHOAMI, { headers: { 'x-api-key': `${key}x`, 'x-forwarded-for': '198.51.100.1' } }),
      401,
      'AUTHENTICATION_FAILED',
    );
    expectProblem(
      await s.call(WHOAMI, { headers: { 'x-api-key': key, authorization: basic('petra') } }),
      400,
      'MULTIPLE_CREDENTIALS',
    );
    const after = await scrape(s);
    const delta = (method: string, outcome: string) =>
      sampleValue(after, 'latchkey_authentications_total', { method, outcome }) -
      sampleValue(before, 'latchkey_authentications_total', { method, outcome });
    expect(delta('HeaderTokenAuth', 'VALID')).toBe(1);
    expect(delta('BearerTokenAuth', 'VALID')).toBe(1);
    expect(delta('BasicAuth', 'VALID')).toBe(1);
    expect(delta('none', 'AUTHENTICATION_REQUIRED')).toBe(1);
    expect(delta('HeaderTokenAuth', 'AUTHENTICATION_FAILED')).toBe(1);
    expect(delta('multiple', 'MULTIPLE_CREDENTIALS')).toBe(1);
  });

  it('counts credential-cache hits and misses, and shows the usage backlog until it is written', async () => {
    const { key } = await s.createKey(await s.createUser('quinn'));
    await s.app.flushUsage();
    const before = await scrape(s);
    expect(sampleValue(before, 'latchkey_key_usage_backlog')).toBe(0);
    for (let i = 0; i < 3; i++) expectStatus(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 200);
    const after = await scrape(s);
    const delta = (result: string) =>
      sampleValue(after, 'latchkey_auth_cache_lookups_total', { kind: 'key', result }) -
      sampleValue(before, 'latchkey_auth_cache_lookups_total', { kind: 'key', result });
    expect(delta('miss')).toBe(1);
    expect(delta('hit')).toBe(2);
    expect(sampleValue(after, 'latchkey_auth_cache_entries', { kind: 'key' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after, 'latchkey_key_usage_backlog')).toBe(1);
    await s.app.flushUsage();
    expect(sampleValue(await scrape(s), 'latchkey_key_usage_backlog')).toBe(0);
  });

  it('counts rate-limit refusals by policy', async () => {
    const { id, key } = await s.createKey(await s.createUser('rosa'));
    await s.app.storage.db
      .updateTable('api_keys')
      .set({ rate_limit: 1, rate_window_s: 60 })
      .where('id', '=', id)
      .execute();
    await s.app.cache.invalidate({ kind: 'key', id });
    const before = await scrape(s);
    expectStatus(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 200);
    expectProblem(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 429, 'RATE_LIMITED');
    expectProblem(await s.call(WHOAMI, { headers: { 'x-api-key': key } }), 429, 'RATE_LIMITED');
    const after = await scrape(s);
    expect(
      sampleValue(after, 'latchkey_rate_limit_refusals_total', { policy: 'key' }) -
        sampleValue(before, 'latchkey_rate_limit_refusals_total', { policy: 'key' }),
    ).toBe(2);
  });

  it('counts lockouts and the requests they refuse', async () => {
    const from = { 'x-forwarded-for': '203.0.113.99' };
    const before = await scrape(s);
    for (let i = 0; i < 2; i++) {
      expectProblem(
        await s.call(WHOAMI, { headers: { ...from, 'x-api-key': `lk_wrong_${'x'.repeat(40)}` } }),
        401,
        'AUTHENTICATION_FAILED',
      );
    }
    expectProblem(await s.call(WHOAMI, { headers: { ...from, 'x-api-key': 'anything' } }), 429, 'LOCKED_OUT');
    expectProblem(await s.call(WHOAMI, { headers: from }), 429, 'LOCKED_OUT');
    const after = await scrape(s);
    expect(
      sampleValue(after, 'latchkey_lockouts_total') - sampleValue(before, 'latchkey_lockouts_total'),
    ).toBe(1);
    expect(
      sampleValue(after, 'latchkey_lockout_refusals_total') -
        sampleValue(before, 'latchkey_lockout_refusals_total'),
    ).toBe(2);
  });

  it('exposes the process metrics', async () => {
    const samples = await scrape(s);
    expect(sampleValue(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(samples.some((x) => x.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('never carries a key, a username, a password, a path or a client address', async () => {
    const username = 'metrics-canary-user';
    const password = 'metrics-canary-password-73';
    const address = '192.0.2.201';
    const user = await s.createUser(username, { password });
    const { id, key } = await s.createKey(user);
    const login = await s.call('/api/v1/auth/login', {
      method: 'POST',
      json: { username, password },
      headers: { 'x-forwarded-for': address },
    });
    expectStatus(login, 200);
    const headers = { 'x-forwarded-for': address };
    expectStatus(await s.call(WHOAMI, { headers: { ...headers, 'x-api-key': key } }), 200);
    expectStatus(await s.call(`${WHOAMI}?api_key=${key}`, { headers }), 200);
    expectStatus(
      await s.call(WHOAMI, { headers: { ...headers, authorization: `Bearer ${login.body.token}` } }),
      200,
    );
    expectStatus(
      await s.call(WHOAMI, { headers: { ...headers, authorization: basic(username, password) } }),
      200,
    );
    expectStatus(await s.call(`/api/v1/keys/${id}`, { headers: { ...headers, 'x-api-key': key } }), 200);
    expectProblem(
      await s.call(WHOAMI, { headers: { ...headers, authorization: basic(username, `${password}!`) } }),
      401,
      'AUTHENTICATION_FAILED',
    );
    expectStatus(await s.call(`/${username}/${key}`, { headers }), 404);
    const text = await (await s.fetch('/metrics')).text();
    for (const secret of [
      key,
      key.slice(0, 12),
      username,
      password,
      address,
      id,
      login.body.token,
      '/api/v1',
    ]) {
      expect(text, `the metrics name ${secret}`).not.toContain(secret);
    }
    const labelNames = new Set(parseSamples(text).flatMap((x) => Object.keys(x.labels)));
    const ours = parseSamples(text).filter((x) => x.name.startsWith('latchkey_'));
    expect(new Set(ours.flatMap((x) => Object.keys(x.labels)))).toEqual(
      new Set(['operation', 'status', 'le', 'method', 'outcome', 'policy', 'kind', 'result']),
    );
    expect(labelNames.has('address')).toBe(false);
  });
});

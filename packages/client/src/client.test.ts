import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CREDENTIAL_KINDS,
  combination,
  EXPECTED_BY_COMBINATION,
} from '../test/support/expected-selection.js';
import {
  credentialsSent,
  type FakeHandler,
  fakeFetch,
  json,
  problem,
  type SeenRequest,
} from '../test/support/fake-fetch.js';
import { createLatchkeyClient, type LatchkeyClientOptions } from './client.js';
import type { CredentialKind, Credentials } from './credentials.js';
import {
  AuthenticationError,
  LatchkeyError,
  NetworkError,
  PermissionError,
  RateLimitError,
  UnsupportedCredentialsError,
  ValidationError,
} from './errors.js';
import { listOperations } from './security.js';

const BASE = 'http://latchkey.test';
const KEY = 'lk_4GqNv0Qm8ZrT2cYwX7bLp1sDk9HfE3aJ1Z0f2k';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';
const ACCOUNT = { username: 'zoë', password: 'pässword' };
const KEY_ID = '5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61';
const HOUR = 3600 * 1000;

const CREDENTIALS: Record<CredentialKind, Credentials | undefined> = {
  apiKey: { apiKey: KEY },
  token: { token: KEY },
  bearer: { bearer: JWT },
  basic: { basic: ACCOUNT },
  login: { login: ACCOUNT },
  session: { session: true, csrfToken: 'csrf-given' },
  none: undefined,
};

const isLogin = (r: SeenRequest) => r.method === 'POST' && r.url.pathname === '/api/v1/auth/login';
const loginAnswer = (n: number, expiresInMs = 7 * 24 * HOUR) =>
  json(200, {
    token: `jwt-${n}`,
    token_type: 'Bearer',
    expires_at: new Date(Date.now() + expiresInMs).toISOString(),
    csrf_token: `csrf-${n}`,
    user: {},
  });

/** A client over a fake server that answers logins with jwt-1, jwt-2, … and everything else with `handler`. */
function setup(
  credentials: Credentials | undefined,
  handler: FakeHandler = () => json(200, {}),
  options: Partial<LatchkeyClientOptions> = {},
  loginExpiresInMs?: number,
) {
  let logins = 0;
  const server = fakeFetch((request) =>
    isLogin(request) ? loginAnswer(++logins, loginExpiresInMs) : handler(request),
  );
  const client = createLatchkeyClient({ baseUrl: BASE, credentials, fetch: server.fetch, ...options });
  const calls = () => server.seen.filter((r) => !isLogin(r));
  return { client, seen: server.seen, calls, logins: () => logins };
}

/** The credential headers each scheme must put on a request. */
function expectedHeaders(scheme: string, kind: CredentialKind, method: string): Record<string, string> {
  const secret = kind === 'bearer' ? JWT : kind === 'login' ? 'jwt-1' : KEY;
  switch (scheme) {
    case 'ApiKeyHeader':
      return { 'x-api-key': KEY };
    case 'TokenAuth':
      return { authorization: `Token ${KEY}` };
    case 'BearerAuth':
    case 'MetricsToken':
      return { authorization: `Bearer ${secret}` };
    case 'QueryApiKey':
      return { '?api_key': KEY };
    case 'BasicAuth':
      return { authorization: `Basic ${Buffer.from('zoë:pässword', 'utf8').toString('base64')}` };
    case 'SessionCookie':
      return ['GET', 'HEAD'].includes(method) ? {} : { 'x-csrf-token': 'csrf-given' };
    default:
      return {};
  }
}

describe('every operation of the contract, with every kind of credential', () => {
  for (const operation of listOperations()) {
    const expected = EXPECTED_BY_COMBINATION[combination(operation)];
    it.skipIf(!expected)(`${operation.id} (${combination(operation)})`, async () => {
      for (const kind of CREDENTIAL_KINDS) {
        const { client, calls, seen } = setup(CREDENTIALS[kind]);
        const path = Object.fromEntries(
          [...operation.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name as string, KEY_ID]),
        );
        const call = (client as unknown as Record<string, (o: unknown) => Promise<unknown>>)[operation.id];
        const hasBody = !['GET', 'HEAD'].includes(operation.method);
        const outcome = call?.({ path, ...(hasBody ? { body: {} } : {}) });
        const want = expected?.[kind];
        if (want === 'refuse') {
          await expect(outcome, `${operation.id} with ${kind}`).rejects.toBeInstanceOf(
            UnsupportedCredentialsError,
          );
          expect(seen, `${operation.id} with ${kind}: nothing may be sent`).toEqual([]);
          continue;
        }
        await outcome;
        const route = operation.path.replace(/\{\w+\}/g, KEY_ID);
        const sent = seen.filter((r) => r.method === operation.method && r.url.pathname === route);
        expect(sent, `${operation.id} with ${kind}`).toHaveLength(1);
        const request = sent[0] as SeenRequest;
        const headers =
          want === 'nothing' || want === undefined ? {} : expectedHeaders(want, kind, operation.method);
        expect(credentialsSent(request), `${operation.id} with ${kind}`).toEqual(headers);
        expect(request.credentials, `${operation.id} with ${kind}`).toBe(
          kind === 'session' ? 'include' : 'same-origin',
        );
        for (const login of seen.filter(isLogin)) expect(credentialsSent(login)).toEqual({});
        if (operation.id !== 'login') expect(calls(), `${operation.id} with ${kind}`).toHaveLength(1);
      }
    });
  }
});

describe('sending the credential', () => {
  it('keeps the query and headers of the call but replaces any credential passed by hand', async () => {
    const { client, calls } = setup({ apiKey: KEY });
    await client.listKeys({
      query: { limit: 5 },
      headers: { Authorization: 'Token someone-else', 'X-Trace': '1' },
    });
    const request = calls()[0] as SeenRequest;
    expect(request.url.searchParams.get('limit')).toBe('5');
    expect(credentialsSent(request)).toEqual({ 'x-api-key': KEY });
    expect(request.headers.get('x-trace')).toBe('1');
  });

  it('sends the client headers on every request and honours a base URL with a path', async () => {
    const server = fakeFetch();
    const client = createLatchkeyClient({
      baseUrl: 'http://proxy.test/latchkey/',
      credentials: { token: KEY },
      fetch: server.fetch,
      headers: { 'User-Agent': 'deploy-bot/1.0' },
    });
    await client.whoami();
    const request = server.seen[0] as SeenRequest;
    expect(request.url.href).toBe('http://proxy.test/latchkey/api/v1/auth/whoami');
    expect(request.headers.get('user-agent')).toBe('deploy-bot/1.0');
  });

  it('swaps credentials with setCredentials and forgets what it knew about the old ones', async () => {
    const { client, calls } = setup({ apiKey: KEY }, () =>
      json(200, {}, { 'X-RateLimit-Remaining': '3', 'X-Auth-Expires': 'never' }),
    );
    await client.whoami();
    expect(client.rateLimit?.remaining).toBe(3);
    expect(client.credentialExpiresAt).toBeNull();
    client.setCredentials({ basic: { username: 'ops', password: 'pw' } });
    expect(client.rateLimit).toBeUndefined();
    expect(client.credentialExpiresAt).toBeUndefined();
    await client.whoami();
    expect(calls().map((r) => credentialsSent(r))).toEqual([
      { 'x-api-key': KEY },
      { authorization: `Basic ${btoa('ops:pw')}` },
    ]);
    client.setCredentials(undefined);
    await expect(client.whoami()).rejects.toBeInstanceOf(UnsupportedCredentialsError);
  });

  it('refuses malformed options before sending anything', () => {
    expect(() => createLatchkeyClient({ baseUrl: '127.0.0.1:8800' })).toThrow(
      /baseUrl must be an absolute URL/,
    );
    expect(() =>
      createLatchkeyClient({
        baseUrl: BASE,
        credentials: { apiKey: KEY, token: KEY } as unknown as Credentials,
      }),
    ).toThrow(/exactly one of .*got apiKey and token/);
    expect(() => createLatchkeyClient({ baseUrl: BASE, credentials: { apiKey: '' } })).toThrow(/non-empty/);
    expect(() => createLatchkeyClient({ baseUrl: BASE, maxRateLimitRetries: -1 })).toThrow(/>= 0/);
  });
});

describe('{ login } credentials', () => {
  it('logs in on first use and keeps the JWT; concurrent first calls share one login', async () => {
    const { client, calls, logins } = setup({ login: ACCOUNT });
    await Promise.all([client.whoami(), client.listKeys(), client.whoami()]);
    await client.whoami();
    expect(logins()).toBe(1);
    expect(calls().map((r) => r.headers.get('authorization'))).toEqual(Array(4).fill('Bearer jwt-1'));
  });

  it('sends the username and password only to login, as its body', async () => {
    const { client, seen } = setup({ login: ACCOUNT });
    await client.whoami();
    const login = seen.find(isLogin) as SeenRequest;
    expect(JSON.parse(login.body)).toEqual(ACCOUNT);
  });

  it('logs in again before a request when the JWT is about to expire', async () => {
    const { client, calls, logins } = setup({ login: ACCOUNT }, undefined, {}, 10_000);
    await client.whoami();
    await client.whoami();
    expect(logins()).toBe(2);
    expect(calls().map((r) => r.headers.get('authorization'))).toEqual(['Bearer jwt-1', 'Bearer jwt-2']);
  });

  it('logs in again and retries once when a 401 says the JWT was revoked', async () => {
    const { client, calls, logins } = setup({ login: ACCOUNT }, (r) =>
      r.headers.get('authorization') === 'Bearer jwt-1'
        ? problem(401, 'AUTHENTICATION_FAILED')
        : json(200, {}),
    );
    const { response } = await client.createKey({ body: { name: 'ci' } });
    expect(response.status).toBe(200);
    expect(logins()).toBe(2);
    expect(calls().map((r) => [r.headers.get('authorization'), r.body])).toEqual([
      ['Bearer jwt-1', '{"name":"ci"}'],
      ['Bearer jwt-2', '{"name":"ci"}'],
    ]);
  });

  it('forgets the JWT after a logout through the client, and logs in again on the next call', async () => {
    const { client, calls, logins } = setup({ login: ACCOUNT }, () => json(204, null));
    await client.whoami();
    await client.logout();
    await client.whoami();
    expect(logins()).toBe(2);
    expect(calls().map((r) => r.headers.get('authorization'))).toEqual([
      'Bearer jwt-1',
      'Bearer jwt-1',
      'Bearer jwt-2',
    ]);
  });

  it('fails the call with the login error when the password is wrong, sending nothing else', async () => {
    const server = fakeFetch(() =>
      problem(401, 'AUTHENTICATION_FAILED', { detail: 'The username or password is wrong.' }),
    );
    const client = createLatchkeyClient({
      baseUrl: BASE,
      credentials: { login: ACCOUNT },
      fetch: server.fetch,
    });
    const error = await client.whoami().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).detail).toBe('The username or password is wrong.');
    expect(server.seen.map((r) => r.url.pathname)).toEqual(['/api/v1/auth/login']);
  });

  it('does not warn about the expiry of a JWT it renews itself', async () => {
    const onCredentialExpiring = vi.fn();
    const soon = new Date(Date.now() + HOUR).toISOString();
    const { client } = setup({ login: ACCOUNT }, () => json(200, {}, { 'X-Auth-Expires': soon }), {
      onCredentialExpiring,
    });
    await client.whoami();
    expect(client.credentialExpiresAt).toEqual(new Date(soon));
    expect(onCredentialExpiring).not.toHaveBeenCalled();
  });
});

describe('{ session: true } credentials', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('sends the CSRF token from its last login on unsafe requests only, and forgets it at logout', async () => {
    const { client, calls } = setup({ session: true });
    await client.login({ body: ACCOUNT });
    await client.whoami();
    await client.createKey({ body: { name: 'ci' } });
    await client.logout();
    await client.deleteKey({ path: { key_id: KEY_ID } });
    expect(calls().map((r) => [r.method, r.credentials, r.headers.get('x-csrf-token')])).toEqual([
      ['GET', 'include', null],
      ['POST', 'include', 'csrf-1'],
      ['POST', 'include', 'csrf-1'],
      ['DELETE', 'include', null],
    ]);
  });

  it("reads the CSRF token from the browser's latchkey_csrf cookie when it did not log in itself", async () => {
    vi.stubGlobal('document', { cookie: 'theme=dark; latchkey_csrf=from%20cookie' });
    const { client, calls } = setup({ session: true });
    await client.createKey({ body: { name: 'ci' } });
    expect(calls()[0]?.headers.get('x-csrf-token')).toBe('from cookie');
  });
});

describe('rate limits and expiry, as the client reports them', () => {
  it('holds the rate limit of the last response that reported one', async () => {
    const reset = Math.ceil(Date.now() / 1000) + 30;
    const { client } = setup({ apiKey: KEY }, (r) =>
      r.url.pathname === '/health'
        ? json(200, {})
        : json(
            200,
            {},
            { 'X-RateLimit-Limit': '100', 'X-RateLimit-Remaining': '99', 'X-RateLimit-Reset': String(reset) },
          ),
    );
    expect(client.rateLimit).toBeUndefined();
    await client.whoami();
    await client.getHealth();
    expect(client.rateLimit).toEqual({ limit: 100, remaining: 99, resetAt: new Date(reset * 1000) });
  });

  it('waits out a 429 and calls onRateLimit, then throws RateLimitError once retries are spent', async () => {
    const onRateLimit = vi.fn();
    let answers = 0;
    const { client, calls } = setup(
      { apiKey: KEY },
      () =>
        ++answers <= 1
          ? problem(429, 'RATE_LIMITED', { retryAfter: 0 }, { 'Retry-After': '0' })
          : json(200, {}),
      { onRateLimit },
    );
    await client.whoami();
    expect(calls()).toHaveLength(2);
    expect(onRateLimit).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'rate-limited', willRetry: true }),
    );

    answers = -10;
    const error = await client.whoami().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfter).toBe(0);
    expect(calls()).toHaveLength(2 + 3);
  });

  it('takes an onRateLimit callback that returns something, and waits for a promise it returns', async () => {
    const order: string[] = [];
    let answers = 0;
    const { client } = setup(
      { apiKey: KEY },
      () => {
        order.push(`request ${++answers}`);
        return answers === 1 ? problem(429, 'RATE_LIMITED', {}, { 'Retry-After': '0' }) : json(200, {});
      },
      // Returns the new length of `order`, then a promise: both must be accepted as they are.
      {
        onRateLimit: (event) =>
          order.push(`rate limited, attempt ${event.attempt}`) &&
          new Promise((resolve) => setTimeout(() => resolve(order.push('callback done')), 20)),
      },
    );
    await client.whoami();
    expect(order).toEqual(['request 1', 'rate limited, attempt 1', 'callback done', 'request 2']);
  });

  it('warns once when the credential expires within expiryWarningMs', async () => {
    const onCredentialExpiring = vi.fn();
    const soon = new Date(Date.now() + 2 * 24 * HOUR).toISOString();
    const { client } = setup({ apiKey: KEY }, () => json(200, {}, { 'X-Auth-Expires': soon }), {
      onCredentialExpiring,
    });
    await client.whoami();
    await client.whoami();
    expect(onCredentialExpiring).toHaveBeenCalledTimes(1);
    const [event] = onCredentialExpiring.mock.calls[0] as [{ expiresAt: Date; msLeft: number }];
    expect(event.expiresAt).toEqual(new Date(soon));
    expect(event.msLeft).toBeGreaterThan(2 * 24 * HOUR - 60_000);
    expect(event.msLeft).toBeLessThanOrEqual(2 * 24 * HOUR);
  });
});

describe('errors', () => {
  const failWith = (response: () => Response) => setup({ apiKey: KEY }, response).client;

  it.each([
    { status: 400, code: 'VALIDATION_FAILED', type: ValidationError },
    { status: 401, code: 'AUTHENTICATION_FAILED', type: AuthenticationError },
    { status: 403, code: 'KEY_READ_ONLY', type: PermissionError },
    { status: 404, code: 'KEY_NOT_FOUND', type: LatchkeyError },
    { status: 409, code: 'KEY_ALREADY_EXISTS', type: LatchkeyError },
    { status: 500, code: 'INTERNAL_ERROR', type: LatchkeyError },
  ])('turns $status $code into $type.name', async ({ status, code, type }) => {
    const client = failWith(() => problem(status, code, { detail: 'what went wrong' }));
    const error = await client.whoami().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect(error).toBeInstanceOf(LatchkeyError);
    expect(error).toMatchObject({ status, code, title: code.toLowerCase(), detail: 'what went wrong' });
    expect((error as LatchkeyError).problem).toMatchObject({ status, code });
    expect((error as LatchkeyError).response.status).toBe(status);
    expect((error as Error).message).toBe(`${status} ${code}: what went wrong`);
  });

  it('lists the fields at fault in a ValidationError', async () => {
    const errors = [{ field: 'body.name', message: 'must NOT have fewer than 1 characters' }];
    const client = failWith(() => problem(400, 'VALIDATION_FAILED', { errors }));
    await expect(client.createKey({ body: { name: '' } })).rejects.toMatchObject({ errors });
  });

  it('still gives a LatchkeyError when the body is not a problem', async () => {
    const client = failWith(
      () => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
    );
    const error = await client.whoami().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LatchkeyError);
    expect(error).toMatchObject({
      status: 502,
      code: 'HTTP_502',
      title: 'Bad Gateway',
      problem: undefined,
      body: '<html>Bad gateway</html>',
    });
  });

  it('returns the LatchkeyError as `error` when the call asks not to throw', async () => {
    const client = failWith(() => problem(403, 'KEY_READ_ONLY'));
    const result = await client.whoami({ throwOnError: false });
    expect(result.error).toBeInstanceOf(PermissionError);
    expect(result.data).toBeUndefined();
  });

  it('gives NetworkError with the cause when no answer comes', async () => {
    const cause = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    const client = createLatchkeyClient({
      baseUrl: BASE,
      credentials: { apiKey: KEY },
      fetch: async () => {
        throw cause;
      },
    });
    const error = await client.whoami().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).cause).toBe(cause);
  });

  it('names the operation, what it accepts and what would do when refusing before sending', async () => {
    const { client, seen } = setup({ basic: ACCOUNT });
    const error = await client.logout().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedCredentialsError);
    expect((error as Error).message).toMatch(
      /^logout \(POST \/api\/v1\/auth\/logout\) accepts BearerAuth, SessionCookie/,
    );
    expect(seen).toEqual([]);
  });
});

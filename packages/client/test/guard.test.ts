import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckOptions, createGuard, type GuardOptions, type GuardVerdict } from '../src/guard.js';
import { createLatchkeyClient, NetworkError, PermissionError } from '../src/index.js';
import { type GuardFixtures, startGuardFixtures } from './support/guard-fixtures.js';
import { ADMIN } from './support/latchkey-server.js';

// The guard against the real Latchkey server: where it finds a key, what it asks, how each
// verdict is answered, its cache, and what happens when Latchkey cannot be asked.

let f: GuardFixtures;
beforeAll(async () => {
  f = await startGuardFixtures();
}, 60_000);
afterAll(() => f.close());

const SERVICE = 'http://service.test';
const guardOf = (options: Partial<GuardOptions> = {}) =>
  createGuard({
    baseUrl: f.server.baseUrl,
    credentials: { apiKey: f.verifierKey },
    cacheTtlMs: 0,
    ...options,
  });
const request = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  new Request(`${SERVICE}${path}`, { method, headers });

/** Asserts the refusal a service would send: status, problem and its headers. */
function expectRefusal(verdict: GuardVerdict, status: number, code: string) {
  expect(verdict.valid).toBe(false);
  expect(verdict.status, JSON.stringify(verdict.problem)).toBe(status);
  expect(verdict.problem).toMatchObject({
    type: `${f.server.baseUrl}/docs/errors/${code}`,
    status,
    code,
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(verdict.headers['Content-Type']).toBe('application/problem+json');
}

describe('where the guard finds the key', () => {
  it('in each configured API-key header, Authorization: Bearer and Token, and ?api_key=, as Latchkey does', async () => {
    const guard = guardOf({ apiKeyHeaders: ['X-API-Key', 'X-ArchiveBox-API-Key'] });
    const { key, id } = await f.keyOf();
    const ways: [Request, string][] = [
      [request('/x', { 'X-API-Key': key }), 'X-API-Key'],
      [request('/x', { 'X-ArchiveBox-API-Key': key }), 'X-ArchiveBox-API-Key'],
      [request('/x', { Authorization: `Bearer ${key}` }), 'Authorization: Bearer'],
      [request('/x', { Authorization: `Token ${key}` }), 'Authorization: Token'],
      [request(`/x?limit=5&api_key=${key}`), '?api_key'],
    ];
    for (const [req, source] of ways) {
      const verdict = await guard.check(req);
      expect(verdict, source).toMatchObject({
        valid: true,
        code: 'VALID',
        status: 200,
        source,
        key_id: id,
        owner: { username: 'archivist' },
        permissions: null,
        write_enabled: true,
        problem: null,
        cached: false,
      });
    }
  });

  it('refuses a request without a key, 401 with the challenge, without asking Latchkey', async () => {
    const guard = guardOf({ apiKeyHeaders: ['X-Proxbox-API-Key'] });
    const asked = f.verifications();
    const { key } = await f.keyOf();
    // X-API-Key is not one of this service's headers: the key is not seen.
    const verdict = await guard.check(request('/x', { 'X-API-Key': key }));
    expectRefusal(verdict, 401, 'AUTHENTICATION_REQUIRED');
    expect(verdict.code).toBe('NO_KEY');
    expect(verdict.headers['WWW-Authenticate']).toBe('Bearer realm="latchkey", Token realm="latchkey"');
    expect(verdict.problem?.detail).toContain('X-Proxbox-API-Key');
    expect(f.verifications()).toBe(asked);
  });

  it('refuses two credentials (400), and a login JWT, Basic or a switched-off way like a wrong key (401)', async () => {
    const guard = guardOf({ methods: ['header', 'bearer'] });
    const { key } = await f.keyOf();
    const { data: login } = await createLatchkeyClient({ baseUrl: f.server.baseUrl }).login({ body: ADMIN });
    const asked = f.verifications();

    const two = await guard.check(request(`/x?api_key=${key}`, { 'X-API-Key': key }));
    expectRefusal(two, 400, 'MULTIPLE_CREDENTIALS');
    expect(two.problem?.detail).toContain('X-API-Key, ?api_key');

    for (const headers of [
      { Authorization: `Bearer ${login.token}` },
      { Authorization: `Basic ${btoa(`${ADMIN.username}:${ADMIN.password}`)}` },
      { Authorization: `Token ${key}` },
    ]) {
      const verdict = await guard.check(request('/x', headers));
      expectRefusal(verdict, 401, 'AUTHENTICATION_FAILED');
      expect(verdict.headers['WWW-Authenticate']).toContain('error="invalid_token"');
    }
    expect(f.verifications()).toBe(asked);
  });
});

describe('what the guard asks, and how each verdict is answered', () => {
  it('NOT_FOUND, INVALID_FORMAT, DISABLED and EXPIRED get one answer: 401 AUTHENTICATION_FAILED', async () => {
    const guard = guardOf();
    const { key: disabled, id } = await f.keyOf();
    await f.archivist.deactivateKey({ path: { key_id: id } });
    const { key: live } = await f.keyOf();
    const unknown = `${live.slice(0, 3)}${'A'.repeat(live.length - 3)}`;
    const details = new Set<string>();
    for (const [key, code] of [
      [unknown, undefined],
      ['not a key at all', 'INVALID_FORMAT'],
      [disabled, 'DISABLED'],
    ] as const) {
      const verdict = await guard.check(request('/x', { 'X-API-Key': key }));
      expectRefusal(verdict, 401, 'AUTHENTICATION_FAILED');
      if (code) expect(verdict.code).toBe(code);
      details.add(verdict.problem?.detail ?? '');
    }
    expect(details.size).toBe(1);
  });

  it('passes the method: a read-only key may GET, and gets 403 KEY_READ_ONLY on POST', async () => {
    const guard = guardOf();
    const { key } = await f.keyOf({ write_enabled: false });
    expect((await guard.check(request('/x', { 'X-API-Key': key }))).code).toBe('VALID');
    const post = await guard.check(request('/x', { 'X-API-Key': key }, 'POST'));
    expectRefusal(post, 403, 'KEY_READ_ONLY');
    expect(post.code).toBe('READ_ONLY');
  });

  it('asks for permissions: wildcards grant, a missing one is 403 naming it; null grants all, [] nothing', async () => {
    const guard = guardOf();
    const { key: reader } = await f.keyOf({ permissions: ['archive.*:read'] });
    const ok = await guard.check(request('/x', { 'X-API-Key': reader }), {
      permissions: ['archive.snapshots:read'],
    });
    expect(ok).toMatchObject({ code: 'VALID', permissions: ['archive.*:read'] });
    const write = await guard.check(request('/x', { 'X-API-Key': reader }, 'POST'), {
      permissions: ['archive.snapshots:write'],
    });
    expectRefusal(write, 403, 'INSUFFICIENT_PERMISSIONS');
    expect(write.problem?.detail).toBe(
      'Valid API key, but it lacks the permission archive.snapshots:write that this request needs; it holds archive.*:read.',
    );

    const { key: everything } = await f.keyOf();
    const { key: nothing } = await f.keyOf({ permissions: [] });
    const asks: CheckOptions = { permissions: ['dcim.sites:write'] };
    expect((await guard.check(request('/x', { 'X-API-Key': everything }, 'POST'), asks)).code).toBe('VALID');
    expect((await guard.check(request('/x', { 'X-API-Key': nothing }, 'POST'), asks)).code).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );
    expect((await guard.check(request('/x', { 'X-API-Key': nothing }))).code).toBe('VALID');
  });

  it('refuses bad permissions and costs as the service’s own mistake (TypeError)', async () => {
    const guard = guardOf();
    await expect(guard.check(request('/x'), { permissions: ['Archive:Read'] })).rejects.toThrow(TypeError);
    await expect(guard.check(request('/x'), { cost: 1001 })).rejects.toThrow(/cost/);
  });

  it('spends the key’s rate limit by cost; over it, 429 with Retry-After, X-RateLimit-* and RateLimit', async () => {
    const guard = guardOf();
    const { key } = await f.keyOf({ rate_limit: { limit: 3, window_s: 60 } });
    const req = () => request('/x', { 'X-API-Key': key });
    const first = await guard.check(req(), { cost: 2 });
    expect(first.ratelimit).toMatchObject({ limit: 3, remaining: 1 });
    expect(first.headers).toMatchObject({
      'X-RateLimit-Limit': '3',
      'X-RateLimit-Remaining': '1',
      'X-RateLimit-Reset': String(first.ratelimit?.reset),
      'RateLimit-Policy': '"latchkey";q=3',
    });
    expect(first.headers.RateLimit).toMatch(/^"latchkey";r=1;t=\d+$/);
    expect((await guard.check(req(), { cost: 0 })).ratelimit?.remaining).toBe(1);
    expect((await guard.check(req())).ratelimit?.remaining).toBe(0);

    const over = await guard.check(req());
    expectRefusal(over, 429, 'RATE_LIMITED');
    const retryAfter = Number(over.headers['Retry-After']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // The reset is a whole second of the epoch: the wait is rounded up.
    expect(retryAfter).toBeLessThanOrEqual(61);
    expect(over.problem).toMatchObject({ retryAfter });
    expect(over.headers).toMatchObject({ 'X-RateLimit-Remaining': '0', 'X-RateLimit-Limit': '3' });
    expect(over.headers.RateLimit).toMatch(/^"latchkey";r=0;t=\d+$/);
  });
});

describe('Node requests', () => {
  let server: Server;
  let port: number;
  let guard: ReturnType<typeof createGuard>;
  let options: CheckOptions = {};

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      guard.check(req, options).then((verdict) => {
        const { error: _error, ...shown } = verdict;
        const body = JSON.stringify(shown);
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Sends header lines as written, so that a header may be repeated; returns the verdict. */
  function raw(lines: string[], method = 'GET'): Promise<GuardVerdict> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `${method} /x HTTP/1.1\r\nHost: service.test\r\nConnection: close\r\n${lines.join('\r\n')}\r\n\r\n`,
        );
      });
      let text = '';
      socket.on('data', (d) => {
        text += d;
      });
      socket.on('error', reject);
      socket.on('end', () => {
        try {
          resolve(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)));
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  it('sees a repeated Authorization header, which Node keeps only once in req.headers', async () => {
    guard = guardOf();
    const { key } = await f.keyOf();
    expect((await raw([`Authorization: Token ${key}`])).code).toBe('VALID');
    const twice = await raw([`Authorization: Token ${key}`, 'Authorization: Bearer something-else']);
    expect(twice).toMatchObject({ status: 400, code: 'MULTIPLE_CREDENTIALS' });
  });

  it('gives Latchkey the socket’s address, or X-Forwarded-For from a trusted proxy only', async () => {
    const { key: local } = await f.keyOf({ allowed_ips: ['127.0.0.1'] });
    const { key: remote } = await f.keyOf({ allowed_ips: ['203.0.113.0/24'] });
    guard = guardOf();
    expect(await raw([`X-API-Key: ${local}`])).toMatchObject({ code: 'VALID', client_ip: '127.0.0.1' });
    const spoofed = await raw([`X-API-Key: ${remote}`, 'X-Forwarded-For: 203.0.113.7']);
    expect(spoofed).toMatchObject({ code: 'IP_NOT_ALLOWED', status: 403, client_ip: '127.0.0.1' });
    expect(spoofed.problem?.detail).toBe('Valid API key, but it may not be used from 127.0.0.1.');

    guard = guardOf({ trustedProxies: ['127.0.0.1'] });
    expect(await raw([`X-API-Key: ${remote}`, 'X-Forwarded-For: 203.0.113.7'])).toMatchObject({
      code: 'VALID',
      client_ip: '203.0.113.7',
    });
    options = { clientIp: '203.0.113.9' };
    expect(await raw([`X-API-Key: ${remote}`])).toMatchObject({ code: 'VALID', client_ip: '203.0.113.9' });
    options = {};
  });

  it('refuses a key limited to addresses when a Fetch Request gives no client address', async () => {
    const { key } = await f.keyOf({ allowed_ips: ['127.0.0.1'] });
    const verdict = await guardOf().check(request('/x', { 'X-API-Key': key }));
    expect(verdict).toMatchObject({ code: 'IP_NOT_ALLOWED', status: 403, client_ip: null });
  });
});

describe('the cache', () => {
  it('reuses a verdict for the TTL, so a deactivated key is refused once the TTL has passed', async () => {
    let now = Date.now();
    const guard = guardOf({ cacheTtlMs: 1000, now: () => now });
    const { key, id } = await f.keyOf();
    const req = () => request('/x', { 'X-API-Key': key });
    const asked = f.verifications();
    expect(await guard.check(req())).toMatchObject({ code: 'VALID', cached: false });
    expect(await guard.check(req())).toMatchObject({ code: 'VALID', cached: true });
    expect(f.verifications()).toBe(asked + 1);

    await f.archivist.deactivateKey({ path: { key_id: id } });
    // Latchkey refuses it at once; the guard's verdict is still fresh for the rest of its second.
    now += 999;
    expect(await guard.check(req())).toMatchObject({ code: 'VALID', cached: true });
    now += 1;
    const refused = await guard.check(req());
    expect(refused).toMatchObject({ code: 'DISABLED', status: 401, cached: false });
    expect(f.verifications()).toBe(asked + 2);
  });

  it('counts cached answers against the rate limit, and Latchkey is told at the next verification', async () => {
    let now = Date.now();
    const guard = guardOf({ cacheTtlMs: 1000, now: () => now });
    const { key } = await f.keyOf({ rate_limit: { limit: 10, window_s: 60 } });
    const req = () => request('/x', { 'X-API-Key': key });
    expect((await guard.check(req())).ratelimit?.remaining).toBe(9);
    const cached = [];
    for (let i = 0; i < 3; i++) cached.push(await guard.check(req()));
    expect(cached.map((v) => [v.cached, v.ratelimit?.remaining])).toEqual([
      [true, 8],
      [true, 7],
      [true, 6],
    ]);
    now += 1000;
    // This request (1) and the three answered from the cache (3) reach Latchkey's count together.
    expect(await guard.check(req())).toMatchObject({ cached: false, ratelimit: { remaining: 5 } });
  });

  it('asks once for requests that arrive together with the same key', async () => {
    const guard = guardOf({ cacheTtlMs: 60_000 });
    const { key } = await f.keyOf();
    const asked = f.verifications();
    const verdicts = await Promise.all(
      Array.from({ length: 5 }, () => guard.check(request('/x', { 'X-API-Key': key }))),
    );
    expect(verdicts.map((v) => v.code)).toEqual(Array(5).fill('VALID'));
    expect(f.verifications()).toBe(asked + 1);
  });

  it('keeps verdicts apart by method, permissions and address', async () => {
    const guard = guardOf({ cacheTtlMs: 60_000 });
    const { key } = await f.keyOf({ write_enabled: false, permissions: ['dcim.sites:read'] });
    const req = (method: string) => request('/x', { 'X-API-Key': key }, method);
    expect((await guard.check(req('GET'))).code).toBe('VALID');
    expect((await guard.check(req('DELETE'))).code).toBe('READ_ONLY');
    expect((await guard.check(req('GET'), { permissions: ['dcim.sites:write'] })).code).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );
    expect((await guard.check(req('GET'), { permissions: ['dcim.sites:read'] })).code).toBe('VALID');
    expect((await guard.check(req('GET'))).cached).toBe(true);
  });
});

describe('when Latchkey cannot be asked, the guard fails closed', () => {
  it('503 VERIFICATION_UNAVAILABLE when nothing answers, with the NetworkError for the service', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closed = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { key } = await f.keyOf();
    const guard = createGuard({ baseUrl: closed, credentials: { apiKey: f.verifierKey } });
    const verdict = await guard.check(request('/x', { 'X-API-Key': key }));
    expect(verdict.valid).toBe(false);
    expect(verdict.status).toBe(503);
    expect(verdict.problem).toMatchObject({
      type: `${closed}/docs/errors/VERIFICATION_UNAVAILABLE`,
      code: 'VERIFICATION_UNAVAILABLE',
      status: 503,
    });
    expect(verdict.error).toBeInstanceOf(NetworkError);
  });

  it('503 when Latchkey refuses the service’s own credential, and nothing is cached', async () => {
    const { key: notAVerifier } = await f.keyOf();
    const { key } = await f.keyOf();
    const guard = createGuard({ baseUrl: f.server.baseUrl, credentials: { apiKey: notAVerifier } });
    const verdict = await guard.check(request('/x', { 'X-API-Key': key }));
    expect(verdict).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    expect(verdict.error).toBeInstanceOf(PermissionError);
    expect((verdict.error as PermissionError).code).toBe('VERIFIER_REQUIRED');
    expect(JSON.stringify(verdict.problem)).not.toContain('VERIFIER_REQUIRED');
    expect((await guard.check(request('/x', { 'X-API-Key': key }))).cached).toBe(false);
  });
});

// CORS for browser pages on other origins (LATCHKEY_CORS_ORIGINS), as a browser sees it:
// preflights, the headers a page may read on 200, 401, 413 and 429 answers, nothing at all for
// an unlisted origin, bad origins refused at start, and the session cookie's SameSite. The
// answers do not depend on the database, so SQLite alone is enough here; Chromium itself runs
// the SDK against it in packages/mock/test/browser-cors.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigError, loadConfig } from '../src/config/config.js';
import { runLatchkey } from './support/cli-process.js';
import { freePort } from './support/free-port.js';
import { basic, PASSWORD, startTestServer, type TestServer } from './support/test-server.js';

const APP = 'http://127.0.0.1:5173';
const OTHER = 'https://elsewhere.example';
const EXPOSED = [
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'RateLimit',
  'RateLimit-Policy',
  'Retry-After',
  'X-Auth-Method',
  'X-Auth-Expires',
  'X-Auth-Token-Id',
  'X-Auth-User-Id',
  'X-Auth-User-Username',
  'Location',
  'X-Request-Id',
];

const corsHeaders = (headers: Headers) =>
  [...headers.keys()].filter((name) => name.toLowerCase().startsWith('access-control-'));
const listOf = (value: string | null) => (value ?? '').split(',').map((s) => s.trim().toLowerCase());

function expectCorsFor(headers: Headers, origin: string): void {
  expect(headers.get('access-control-allow-origin')).toBe(origin);
  expect(headers.get('access-control-allow-credentials')).toBe('true');
  expect(listOf(headers.get('vary'))).toContain('origin');
  expect(listOf(headers.get('access-control-expose-headers'))).toEqual(
    expect.arrayContaining(EXPOSED.map((h) => h.toLowerCase())),
  );
}

describe('CORS with LATCHKEY_CORS_ORIGINS', () => {
  let t: TestServer;
  let key: string;

  beforeAll(async () => {
    t = await startTestServer('sqlite', {
      LATCHKEY_CORS_ORIGINS: `${APP}, https://admin.example`,
      LATCHKEY_API_KEY_HEADERS: 'X-API-Key,X-ArchiveBox-API-Key',
      LATCHKEY_RATE_LIMIT: '3',
      LATCHKEY_MAX_BODY_BYTES: '1024',
    });
    const alice = await t.createUser('alice');
    key = (await t.createKey(alice)).key;
  });
  afterAll(() => t?.close());

  const preflight = (origin: string, method = 'POST') =>
    t.fetch('/api/v1/keys', {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': method,
        'Access-Control-Request-Headers': 'x-csrf-token,content-type',
      },
    });

  it('answers a preflight from a listed origin 204 with the methods, headers and max-age', async () => {
    const res = await preflight(APP, 'PATCH');
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(listOf(res.headers.get('access-control-allow-methods'))).toEqual(
      expect.arrayContaining(['get', 'post', 'patch', 'delete']),
    );
    expect(listOf(res.headers.get('access-control-allow-headers'))).toEqual(
      expect.arrayContaining([
        'authorization',
        'x-api-key',
        'x-archivebox-api-key',
        'x-csrf-token',
        'content-type',
        'x-request-id',
      ]),
    );
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(listOf(res.headers.get('vary'))).toContain('origin');
    // The other listed origin gets its own origin back, never the first one or a list.
    expect((await preflight('https://admin.example')).headers.get('access-control-allow-origin')).toBe(
      'https://admin.example',
    );
  });

  it('answers a preflight from an unlisted origin 204 without any CORS header (not 405)', async () => {
    for (const origin of [OTHER, 'http://127.0.0.1:5174', 'null']) {
      const res = await preflight(origin);
      expect(res.status).toBe(204);
      expect(await res.text()).toBe('');
      expect(corsHeaders(res.headers)).toEqual([]);
    }
  });

  it('lets a listed origin read the identity and rate-limit headers of a 200', async () => {
    const res = await t.fetch('/api/v1/auth/whoami', { headers: { Origin: APP, 'X-API-Key': key } });
    expect(res.status).toBe(200);
    expectCorsFor(res.headers, APP);
    expect(res.headers.get('x-auth-method')).toBe('HeaderTokenAuth');
    expect(res.headers.get('x-ratelimit-limit')).toBe('3');
  });

  it('puts the CORS headers on problems too: 401, 413 (answered before the API) and 429', async () => {
    const unauthorized = await t.call('/api/v1/auth/whoami', {
      headers: { Origin: APP, 'X-API-Key': 'lk_not-a-real-key-at-all-0000000000000000' },
    });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.body.code).toBe('AUTHENTICATION_FAILED');
    expectCorsFor(unauthorized.headers, APP);
    expect(unauthorized.headers.get('www-authenticate')).toBeTruthy();

    const tooLarge = await t.call('/api/v1/auth/login', {
      method: 'POST',
      headers: { Origin: APP },
      json: { username: 'alice', password: 'x'.repeat(4096) },
    });
    expect(tooLarge.status).toBe(413);
    expectCorsFor(tooLarge.headers, APP);

    // A limit of 3: the whoami above was one, two more pass, then 429.
    for (let i = 0; i < 2; i++) {
      await t.fetch('/api/v1/auth/whoami', { headers: { Origin: APP, 'X-API-Key': key } });
    }
    const limited = await t.call('/api/v1/auth/whoami', { headers: { Origin: APP, 'X-API-Key': key } });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expectCorsFor(limited.headers, APP);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('gives an unlisted origin, or a request without Origin, no CORS header at all', async () => {
    for (const headers of [{ Origin: OTHER }, { Origin: `${APP}/` }, {}] as Record<string, string>[]) {
      const res = await t.fetch('/health', { headers });
      expect(res.status).toBe(200);
      expect(corsHeaders(res.headers)).toEqual([]);
    }
    const refused = await t.fetch('/api/v1/auth/whoami', { headers: { Origin: OTHER } });
    expect(refused.status).toBe(401);
    expect(corsHeaders(refused.headers)).toEqual([]);
  });

  it('writes the session cookies SameSite=Lax by default', async () => {
    const bob = await t.createUser('bob');
    const login = await t.fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { Origin: APP, 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: bob.username, password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    expectCorsFor(login.headers, APP);
    const cookies = login.headers.getSetCookie();
    expect(cookies).toHaveLength(2);
    for (const cookie of cookies) expect(cookie.toLowerCase()).toContain('samesite=lax');
  });
});

describe('CORS is off by default', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
    await t.createUser('carol');
  });
  afterAll(() => t?.close());

  it('answers no origin with CORS headers, and a preflight 204 without them', async () => {
    const res = await t.fetch('/api/v1/auth/whoami', {
      headers: { Origin: APP, Authorization: basic('carol') },
    });
    expect(res.status).toBe(200);
    expect(corsHeaders(res.headers)).toEqual([]);
    const pre = await t.fetch('/health', {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'GET' },
    });
    expect(pre.status).toBe(204);
    expect(corsHeaders(pre.headers)).toEqual([]);
  });
});

describe('LATCHKEY_COOKIE_SAMESITE=none', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', {
      LATCHKEY_COOKIE_SAMESITE: 'none',
      LATCHKEY_COOKIE_SECURE: 'true',
      LATCHKEY_CORS_ORIGINS: OTHER,
    });
    await t.createUser('dave');
  });
  afterAll(() => t?.close());

  it('writes the session and CSRF cookies SameSite=None; Secure', async () => {
    const login = await t.fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { Origin: OTHER, 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'dave', password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    expectCorsFor(login.headers, OTHER);
    const cookies = login.headers.getSetCookie().map((c) => c.toLowerCase());
    expect(cookies).toHaveLength(2);
    for (const cookie of cookies) expect(cookie).toMatch(/samesite=none.*secure|secure.*samesite=none/);
  });
});

describe('bad settings are refused at start', () => {
  it('refuses "*" with the reason, and the server does not start', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-cors-'));
    try {
      const r = await runLatchkey(['serve', '--port', String(await freePort())], {
        LATCHKEY_DATA_DIR: dataDir,
        LATCHKEY_CORS_ORIGINS: '*',
      });
      expect(r.code).toBe(2);
      expect(r.err).toContain('LATCHKEY_CORS_ORIGINS: "*" is not allowed');
      expect(r.err).toContain('browsers refuse a wildcard origin together with credentials');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('names each origin that is not written as browsers send it', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as ConfigError).problems.join('\n');
      }
      return '';
    };
    const message = problems({
      LATCHKEY_CORS_ORIGINS:
        'https://app.example/, https://App.example, https://app.example:443, ftp://x.example, app.example, https://app.example/path',
    });
    expect(message).toContain(
      '"https://app.example/" is not an origin as browsers send it; write https://app.example',
    );
    expect(message).toContain(
      '"https://App.example" is not an origin as browsers send it; write https://app.example',
    );
    expect(message).toContain(
      '"https://app.example:443" is not an origin as browsers send it; write https://app.example',
    );
    expect(message).toContain('"ftp://x.example" is not an http:// or https:// origin');
    expect(message).toContain('"app.example" is not an origin; write scheme://host[:port]');
    expect(message).toContain('"https://app.example/path" is not an origin as browsers send it');
    expect(problems({ LATCHKEY_CORS_ORIGINS: 'null' })).toContain('"null" is not allowed');
    expect(problems({ LATCHKEY_COOKIE_SAMESITE: 'none' })).toContain(
      'LATCHKEY_COOKIE_SAMESITE=none needs LATCHKEY_COOKIE_SECURE=true',
    );
    expect(problems({ LATCHKEY_COOKIE_SAMESITE: 'sometimes' })).toContain(
      'LATCHKEY_COOKIE_SAMESITE: must be lax, strict or none',
    );
    expect(
      loadConfig({ LATCHKEY_CORS_ORIGINS: 'http://[::1]:3000,https://app.example' }).corsOrigins,
    ).toEqual(['http://[::1]:3000', 'https://app.example']);
  });
});

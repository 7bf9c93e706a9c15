// CORS on the mock HTTP server (`corsOrigins`, `latchkey-mock --cors-origin`): the same
// requests to the real server and to the mock HTTP server, with the same allowed origins,
// must get the same status and the same CORS headers; then what those are, "*" refused at
// start, and the cookies' SameSite option.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockServer } from '../src/http-server.js';
import { createLatchkeyMock } from '../src/mock.js';
import { ADMIN, type Target, type TargetSettings } from './shared/target.js';
import { startHttpMock } from './support/mock-targets.js';
import { startRealServer } from './support/real-server.js';

const APP = 'http://127.0.0.1:5173';
const OTHER = 'https://elsewhere.example';
const SETTINGS: TargetSettings = {
  rateLimit: 3,
  apiKeyHeaders: ['X-API-Key', 'X-Proxbox-API-Key'],
  corsOrigins: [APP, 'https://admin.example'],
};
const ADMIN_BASIC = `Basic ${btoa(`${ADMIN.username}:${ADMIN.password}`)}`;

interface Step {
  name: string;
  path: string;
  init: RequestInit;
}

/** The requests, in order: the rate limit of 3 makes the sixth a 429. */
const STEPS: Step[] = [
  {
    name: 'preflight from a listed origin',
    path: '/api/v1/keys/5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61',
    init: {
      method: 'OPTIONS',
      headers: {
        Origin: APP,
        'Access-Control-Request-Method': 'PATCH',
        'Access-Control-Request-Headers': 'x-csrf-token',
      },
    },
  },
  {
    name: 'preflight from an unlisted origin',
    path: '/api/v1/keys',
    init: { method: 'OPTIONS', headers: { Origin: OTHER, 'Access-Control-Request-Method': 'POST' } },
  },
  {
    name: 'OPTIONS that is no preflight',
    path: '/api/v1/keys',
    init: { method: 'OPTIONS', headers: { Origin: APP } },
  },
  {
    name: '200 to a listed origin',
    path: '/api/v1/auth/whoami',
    init: { headers: { Origin: APP, Authorization: ADMIN_BASIC } },
  },
  {
    name: '401 to a listed origin',
    path: '/api/v1/auth/whoami',
    init: { headers: { Origin: APP, 'X-API-Key': 'lk_not-a-real-key-at-all-0000000000000000' } },
  },
  {
    name: '200 again',
    path: '/api/v1/auth/whoami',
    init: { headers: { Origin: APP, Authorization: ADMIN_BASIC } },
  },
  {
    name: '200 the third',
    path: '/api/v1/auth/whoami',
    init: { headers: { Origin: APP, Authorization: ADMIN_BASIC } },
  },
  {
    name: '429 to a listed origin',
    path: '/api/v1/auth/whoami',
    init: { headers: { Origin: APP, Authorization: ADMIN_BASIC } },
  },
  { name: 'an unlisted origin', path: '/health', init: { headers: { Origin: OTHER } } },
  { name: 'no Origin at all', path: '/health', init: {} },
];

interface Seen {
  status: number;
  cors: Record<string, string>;
  body: string;
  retryAfter: boolean;
}

async function run(target: Target): Promise<Seen[]> {
  const seen: Seen[] = [];
  for (const step of STEPS) {
    const res = await fetch(`${target.baseUrl}${step.path}`, step.init);
    const cors: Record<string, string> = {};
    for (const [name, value] of res.headers) {
      if (name.startsWith('access-control-') || name === 'vary') cors[name] = value.toLowerCase();
    }
    const text = await res.text();
    seen.push({
      status: res.status,
      cors,
      body: text ? ((JSON.parse(text) as { code?: string }).code ?? 'json') : '',
      retryAfter: res.headers.has('retry-after'),
    });
  }
  return seen;
}

describe('the mock HTTP server answers cross-origin requests as the server does', () => {
  const seen: Record<string, Seen[]> = {};
  const targets: Target[] = [];

  beforeAll(async () => {
    for (const [name, start] of [
      ['real server', startRealServer],
      ['mock HTTP server', startHttpMock],
    ] as const) {
      const target = await start(SETTINGS);
      targets.push(target);
      seen[name] = await run(target);
    }
  });
  afterAll(async () => {
    for (const t of targets) await t.close();
  });

  it('same status, CORS headers and problem code for every request', () => {
    const server = seen['real server'] ?? [];
    const mock = seen['mock HTTP server'] ?? [];
    expect(mock).toHaveLength(STEPS.length);
    STEPS.forEach((step, i) => {
      expect({ step: step.name, ...mock[i] }).toEqual({ step: step.name, ...server[i] });
    });
  });

  it('and those are the right ones', () => {
    const mock = seen['mock HTTP server'] ?? [];
    const byName = (name: string) => mock[STEPS.findIndex((s) => s.name === name)] as Seen;
    const listed = byName('preflight from a listed origin');
    expect(listed.status).toBe(204);
    expect(listed.cors).toMatchObject({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '600',
      vary: 'origin',
    });
    expect(listed.cors['access-control-allow-methods']?.split(',')).toEqual(
      expect.arrayContaining(['get', 'post', 'patch', 'delete']),
    );
    expect(listed.cors['access-control-allow-headers']?.split(',')).toEqual(
      expect.arrayContaining([
        'authorization',
        'x-api-key',
        'x-proxbox-api-key',
        'x-csrf-token',
        'content-type',
      ]),
    );
    expect(byName('preflight from an unlisted origin')).toEqual({
      status: 204,
      cors: { vary: 'origin' },
      body: '',
      retryAfter: false,
    });
    expect(byName('OPTIONS that is no preflight')).toMatchObject({ status: 405, cors: { vary: 'origin' } });
    for (const name of ['200 to a listed origin', '401 to a listed origin', '429 to a listed origin']) {
      const answer = byName(name);
      expect(answer.cors['access-control-allow-origin']).toBe(APP);
      expect(answer.cors['access-control-allow-credentials']).toBe('true');
      expect(answer.cors['access-control-expose-headers']?.split(',')).toEqual(
        expect.arrayContaining([
          'x-ratelimit-remaining',
          'retry-after',
          'x-auth-method',
          'ratelimit',
          'location',
        ]),
      );
    }
    expect(byName('401 to a listed origin').body).toBe('AUTHENTICATION_FAILED');
    expect(byName('429 to a listed origin')).toMatchObject({
      status: 429,
      body: 'RATE_LIMITED',
      retryAfter: true,
    });
    expect(byName('an unlisted origin').cors).toEqual({ vary: 'origin' });
  });
});

describe('corsOrigins settings', () => {
  it('refuses "*" and origins not written as browsers send them, at start', async () => {
    await expect(startMockServer({ port: 0, corsOrigins: ['*'] })).rejects.toThrow(
      /"\*" is not allowed: .*browsers refuse a wildcard origin together with credentials/,
    );
    await expect(startMockServer({ port: 0, corsOrigins: ['http://localhost:5173/'] })).rejects.toThrow(
      'write http://localhost:5173',
    );
  });

  it('writes the cookies with the SameSite asked for; none needs cookieSecure', async () => {
    expect(() =>
      createLatchkeyMock({ baseUrl: 'http://x.test', config: { cookieSameSite: 'none' } }),
    ).toThrow('config.cookieSameSite: SameSite none needs Secure cookies');
    const running = await startMockServer({
      port: 0,
      seed: { users: [{ ...ADMIN }] },
      config: { cookieSameSite: 'none', cookieSecure: true },
    });
    try {
      const login = await fetch(`${running.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(ADMIN),
      });
      expect(login.status).toBe(200);
      const cookies = login.headers.getSetCookie();
      expect(cookies).toHaveLength(2);
      for (const cookie of cookies) expect(cookie).toMatch(/samesite=none.*secure/);
    } finally {
      await running.close();
    }
  });
});

describe('latchkey-mock --cors-origin', () => {
  const cli = new URL('./support/latchkey-mock-from-source.ts', import.meta.url).pathname;
  const start = (args: string[]) =>
    spawn(process.execPath, ['--import', 'tsx', cli, '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGTERM');
  });

  it('is repeatable, and each origin gets its preflight answered', async () => {
    child = start(['--cors-origin', APP, '--cors-origin', 'https://admin.example']);
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child?.stderr?.on('data', (d) => {
        stderr += d;
        const found = /listening on (http:\/\/\S+)/.exec(stderr);
        if (found?.[1]) resolve(found[1]);
      });
      child?.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    for (const origin of [APP, 'https://admin.example']) {
      const res = await fetch(`${url}/api/v1/auth/whoami`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'GET' },
      });
      expect([res.status, res.headers.get('access-control-allow-origin')]).toEqual([204, origin]);
    }
  });

  it('exits 2 naming the reason when given "*"', async () => {
    const refused = start(['--cors-origin', '*']);
    let stderr = '';
    refused.stderr?.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => refused.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('latchkey-mock: "*" is not allowed');
  });
});

// Parity: the same requests, in the same order, to the real server, the msw mock and the mock
// HTTP server; what a client sees must be the same on all three. Each answer is reduced to
// what does not depend on ids, secrets or the clock: the status, the problem code and the
// fields at fault, the detail with ids and numbers masked, the declared headers a client
// reads, and the body's shape.
import { COMMON_PASSWORDS } from '@latchkey/core';
import { HttpResponse, http } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type Target, type TargetSettings } from './shared/target.js';
import { mswServer, startHttpMock, startMswMock } from './support/mock-targets.js';
import { startRealServer } from './support/real-server.js';

// The real server and the mock HTTP server listen on 127.0.0.1 and are reached past msw.
beforeAll(() =>
  mswServer.listen({
    onUnhandledRequest: (request, print) => {
      if (new URL(request.url).hostname !== '127.0.0.1') print.error();
    },
  }),
);
afterEach(() => mswServer.resetHandlers());
afterAll(() => mswServer.close());

const STARTERS: [string, (settings: TargetSettings) => Promise<Target>][] = [
  ['real server', startRealServer],
  ['msw mock', startMswMock],
  ['mock HTTP server', startHttpMock],
];

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const KEY = /lk_[0-9A-Za-z]{38}/g;
const INSTANT = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g;

/** Ids, keys, instants and numbers masked, so that two targets' texts compare. */
const mask = (text: string) =>
  text.replace(UUID, '<id>').replace(KEY, '<key>').replace(INSTANT, '<instant>').replace(/\d+/g, '<n>');

/**
 * The last use of a key: written at once by the mock and in batches by the server (a
 * documented difference), so either may still be null.
 */
const USAGE_FIELDS = new Set(['last_used_at', 'last_used_ip']);

/** The structure of a JSON value: keys and types, not values. */
function shape(value: unknown, key?: string): unknown {
  if (key !== undefined && USAGE_FIELDS.has(key)) return 'string or null';
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length ? [shape(value[0])] : [];
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, shape((value as Record<string, unknown>)[k], k)]),
    );
  }
  return typeof value;
}

/** The headers a client reads, as they compare across targets. */
const HEADERS = [
  'content-type',
  'cache-control',
  'location',
  'www-authenticate',
  'allow',
  'x-auth-permissions',
  'retry-after',
  'x-auth-method',
  'x-auth-expires',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'ratelimit-policy',
] as const;

interface Request {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  json?: unknown;
}

interface Observation {
  probe: string;
  status: number;
  code?: string;
  fields?: string[];
  detail?: string;
  headers: Record<string, string>;
  shape: unknown;
}

/** Sends one request and reduces the answer. */
async function observe(t: Target, probe: string, r: Request): Promise<{ seen: Observation; body: any }> {
  const headers = new Headers(r.headers);
  if (r.json !== undefined) headers.set('content-type', 'application/json');
  const res = await t.fetch(`${t.baseUrl}${r.path}`, {
    method: r.method ?? 'GET',
    headers,
    ...(r.json !== undefined ? { body: JSON.stringify(r.json) } : {}),
  });
  const text = await res.text();
  const body = text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined;
  const seen: Observation = { probe, status: res.status, headers: {}, shape: shape(body) };
  for (const name of HEADERS) {
    const value = res.headers.get(name);
    if (value !== null) seen.headers[name] = mask(name === 'content-type' ? value.split(';')[0]! : value);
  }
  if (body && typeof body.code === 'string') {
    // A problem's code and detail, or a verdict's code.
    seen.code = body.code;
    if (typeof body.detail === 'string') seen.detail = mask(body.detail);
    if (body.errors) seen.fields = body.errors.map((e: { field: string }) => e.field);
  }
  return { seen, body };
}

/** A script of requests run against one target; returns what it saw. */
type Script = (send: (probe: string, r: Request) => Promise<any>) => Promise<void>;

async function runEverywhere(settings: TargetSettings, script: Script): Promise<Map<string, Observation[]>> {
  const results = new Map<string, Observation[]>();
  for (const [name, start] of STARTERS) {
    const target = await start(settings);
    const seen: Observation[] = [];
    try {
      await script(async (probe, r) => {
        const { seen: one, body } = await observe(target, probe, r);
        seen.push(one);
        return body;
      });
    } finally {
      await target.close();
    }
    results.set(name, seen);
  }
  return results;
}

function expectParity(results: Map<string, Observation[]>, atLeast: number): void {
  const [reference, ...others] = [...results.entries()];
  const [, expected] = reference!;
  expect(expected.length).toBeGreaterThanOrEqual(atLeast);
  for (const [name, seen] of others) {
    expect(seen, `${name} against ${reference![0]}`).toEqual(expected);
  }
}

const json = { 'content-type': 'application/json' };

async function loginAs(send: Parameters<Script>[0], username: string, password: string) {
  const login = await send(`login ${username}`, {
    method: 'POST',
    path: '/api/v1/auth/login',
    json: { username, password },
  });
  return { authorization: `Bearer ${login.token}` };
}

describe('parity of the server, the msw mock and the mock HTTP server', () => {
  it('refuses every common password, and the other weak ones, alike', async () => {
    const results = await runEverywhere({}, async (send) => {
      const admin = await loginAs(send, ADMIN.username, ADMIN.password);
      for (const password of COMMON_PASSWORDS) {
        await send(`common ${password}`, {
          method: 'POST',
          path: '/api/v1/admin/users',
          headers: admin,
          json: { username: 'weak-user', password },
        });
      }
      for (const password of ['short', 'weak-user', 'aaaabbbbaaaa', 'x'.repeat(1025)]) {
        await send(`weak ${password.slice(0, 12)}`, {
          method: 'POST',
          path: '/api/v1/admin/users',
          headers: admin,
          json: { username: 'weak-user', password },
        });
      }
      await send('good password', {
        method: 'POST',
        path: '/api/v1/admin/users',
        headers: admin,
        json: { username: 'weak-user', password: 'correct horse battery staple' },
      });
    });
    expectParity(results, COMMON_PASSWORDS.size + 6);
    const seen = results.get('real server')!;
    expect(seen.filter((o) => o.probe.startsWith('common')).every((o) => o.status === 400)).toBe(true);
  });

  it('validates, narrows, refuses read-only writes and rotates alike', async () => {
    const results = await runEverywhere({}, async (send) => {
      const admin = await loginAs(send, ADMIN.username, ADMIN.password);
      const post = (probe: string, path: string, body: unknown, headers: Record<string, string> = admin) =>
        send(probe, { method: 'POST', path, headers, json: body });
      for (const [probe, body] of [
        ['no name', {}],
        ['long name', { name: 'x'.repeat(101) }],
        ['unknown field', { name: 'k', admin: true }],
        ['bad expiry', { name: 'k', expires_at: 'tomorrow' }],
        ['past expiry', { name: 'k', expires_at: '2001-01-01T00:00:00Z' }],
        ['bad address', { name: 'k', allowed_ips: ['10.0.0.0/40'] }],
        ['bad rate limit', { name: 'k', rate_limit: { limit: 0, window_s: 60 } }],
        ['short supplied key', { name: 'k', key: 'too-short' }],
        ['nested too deep', { name: 'k', allowed_ips: JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`) }],
        ['NUL in name', { name: 'a\u0000b' }],
      ] as const) {
        await post(`create: ${probe}`, '/api/v1/keys', body);
      }
      await send('not JSON', {
        method: 'POST',
        path: '/api/v1/keys',
        headers: { ...admin, ...json },
        json: undefined,
      });
      await send('text body', {
        method: 'POST',
        path: '/api/v1/keys',
        headers: { ...admin, 'content-type': 'text/plain' },
      });
      for (const query of ['limit=0', 'limit=201', 'offset=-1', 'is_active=maybe', 'unknown=1']) {
        await send(`list ?${query}`, { path: `/api/v1/keys?${query}`, headers: admin });
      }
      await send('not a uuid', { path: '/api/v1/keys/not-a-uuid', headers: admin });
      await send('unknown key', {
        path: '/api/v1/keys/5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61',
        headers: admin,
      });
      await send('unknown path', { path: '/api/v1/nowhere', headers: admin });
      await send('wrong method', { method: 'PUT', path: '/api/v1/auth/whoami', headers: admin });

      const narrow = await post('create narrow', '/api/v1/keys', {
        name: 'narrow',
        write_enabled: false,
        expires_at: '2099-01-01T00:00:00Z',
        allowed_ips: ['127.0.0.1', '::1', '::ffff:127.0.0.1'],
      });
      const patch = (probe: string, body: unknown) =>
        send(`patch: ${probe}`, {
          method: 'PATCH',
          path: `/api/v1/keys/${narrow.id}`,
          headers: admin,
          json: body,
        });
      await patch('widen write', { write_enabled: true });
      await patch('widen expiry', { expires_at: '2099-06-01T00:00:00Z' });
      await patch('widen addresses', { allowed_ips: ['127.0.0.1', '10.0.0.0/8'] });
      await patch('narrow expiry', { expires_at: '2098-01-01T00:00:00Z' });
      await patch('rename', { name: 'renamed' });
      await patch('empty', {});

      const readOnly = { 'x-api-key': narrow.key };
      await send('read-only reads', { path: '/api/v1/auth/whoami', headers: readOnly });
      await post('read-only creates', '/api/v1/keys', { name: 'nope' }, readOnly);
      await send('read-only deletes', {
        method: 'DELETE',
        path: `/api/v1/keys/${narrow.id}`,
        headers: readOnly,
      });

      const rotating = await post('create rotating', '/api/v1/keys', { name: 'rotating' });
      const rotate = (probe: string, id: string, grace: unknown) =>
        post(`rotate: ${probe}`, `/api/v1/keys/${id}/rotate`, { grace_seconds: grace });
      await rotate('grace out of range', rotating.id, 86_401);
      const next = await rotate('with grace', rotating.id, 60);
      await rotate('again during grace', rotating.id, 60);
      await send('old key still works', {
        path: '/api/v1/auth/whoami',
        headers: { authorization: `Token ${rotating.key}` },
      });
      await rotate('the successor', next.id, 0);
      await send('successor of successor ended the successor', {
        path: '/api/v1/auth/whoami',
        headers: { 'x-api-key': next.key },
      });
      await post('deactivate', `/api/v1/keys/${rotating.id}/deactivate`, undefined);
      await send('two credentials', {
        path: '/api/v1/auth/whoami',
        headers: { ...admin, 'x-api-key': narrow.key },
      });
      await send('query key', { path: `/api/v1/auth/whoami?api_key=${narrow.key}` });
    });
    expectParity(results, 42);
  });

  it('scopes keys and verifies them alike', async () => {
    const results = await runEverywhere({}, async (send) => {
      const admin = await loginAs(send, ADMIN.username, ADMIN.password);
      const post = (probe: string, path: string, body: unknown, headers: Record<string, string> = admin) =>
        send(probe, { method: 'POST', path, headers, json: body });
      for (const [probe, permissions] of [
        ['upper case', ['Keys:Read']],
        ['empty segment', ['keys::read']],
        ['partial wildcard', ['keys:re*d']],
        ['repeated', ['keys:read', 'keys:read']],
        ['not a list', 'keys:read'],
      ] as const) {
        await post(`create: ${probe}`, '/api/v1/keys', { name: 'k', permissions });
      }
      const scoped = await post('create scoped', '/api/v1/keys', {
        name: 'scoped',
        permissions: ['keys:read', 'keys:write', 'archive.*:read'],
      });
      const asScoped = { 'x-api-key': scoped.key };
      await send('scoped lists keys', { path: '/api/v1/keys?limit=1', headers: asScoped });
      await send('scoped whoami', { path: '/api/v1/auth/whoami', headers: asScoped });
      await send('scoped admin', { path: '/api/v1/admin/users', headers: asScoped });
      await post(
        'scoped creates wider',
        '/api/v1/keys',
        { name: 'w', permissions: ['admin:read'] },
        asScoped,
      );
      const child = await post('scoped creates inherit', '/api/v1/keys', { name: 'child' }, asScoped);
      await send('patch widens', {
        method: 'PATCH',
        path: `/api/v1/keys/${child.id}`,
        headers: admin,
        json: { permissions: ['keys:read', 'profile:read'] },
      });
      await send('patch narrows wildcard', {
        method: 'PATCH',
        path: `/api/v1/keys/${child.id}`,
        headers: admin,
        json: { permissions: ['archive.tags:read'] },
      });
      await post('verify no verifier', '/api/v1/keys/verify', { key: child.key }, asScoped);
      const verify = (probe: string, body: unknown) => post(`verify: ${probe}`, '/api/v1/keys/verify', body);
      await verify('valid', { key: child.key, permissions: ['archive.tags:read'] });
      await verify('lacks', { key: child.key, permissions: ['archive.tags:write'] });
      await verify('read-only method', { key: child.key, method: 'POST' });
      await verify('no address rule', { key: child.key, client_ip: '198.51.100.1' });
      await verify('unknown', { key: 'lk_000000000000000000000000000000000000000' });
      await verify('garbage', { key: 'garbage' });
      await verify('spend', { key: scoped.key, cost: 60 });
      await verify('limited', { key: scoped.key, cost: 60 });
      await verify('bad address', { key: child.key, client_ip: '1.2.3' });
      await verify('bad cost', { key: child.key, cost: 1001 });
      await verify('no key', {});
    });
    expectParity(results, 26);
    const seen = results.get('real server')!;
    expect(seen.find((o) => o.probe === 'verify: lacks')!.status).toBe(200);
    expect(seen.find((o) => o.probe === 'scoped creates wider')!.status).toBe(403);
  });

  it('answers forward authentication alike, anonymous reads included', async () => {
    const results = await runEverywhere({ loginRequired: false }, async (send) => {
      const admin = await loginAs(send, ADMIN.username, ADMIN.password);
      const key = await send('create read-only', {
        method: 'POST',
        path: '/api/v1/keys',
        headers: admin,
        json: { name: 'proxied', write_enabled: false, permissions: ['archive.*:read'] },
      });
      const forward = (probe: string, headers: Record<string, string>, query = '') =>
        send(`forward: ${probe}`, { path: `/api/v1/auth/forward${query}`, headers });
      await forward('no method', { 'x-api-key': key.key });
      await forward('bad method', { 'x-api-key': key.key, 'x-original-method': 'GET /' });
      await forward('read', { 'x-api-key': key.key, 'x-original-method': 'GET' });
      await forward(
        'read with permission',
        { 'x-api-key': key.key, 'x-original-method': 'GET' },
        '?permission=archive.tags:read',
      );
      await forward(
        'lacks permission',
        { 'x-api-key': key.key, 'x-original-method': 'GET' },
        '?permission=archive.tags:write',
      );
      await forward('write', { 'x-api-key': key.key, 'x-forwarded-method': 'POST' });
      await forward('query key', {
        'x-original-method': 'GET',
        'x-original-uri': `/snapshots?api_key=${key.key}`,
      });
      await forward('anonymous read', { 'x-original-method': 'GET' });
      await forward('anonymous write', { 'x-original-method': 'PUT' });
      await forward('anonymous with permission', { 'x-original-method': 'GET' }, '?permission=a:b');
      await forward('wrong key', { 'x-original-method': 'GET', 'x-api-key': 'lk_wrong' });
      await send('meta', { path: '/meta' });
      await send('wrong method', { method: 'PUT', path: '/api/v1/keys' });
    });
    expectParity(results, 15);
    const seen = results.get('real server')!;
    expect(seen.find((o) => o.probe === 'forward: anonymous read')!.headers['x-auth-method']).toBe(
      'Anonymous',
    );
    expect(seen.find((o) => o.probe === 'wrong method')!.headers.allow).toBe('GET, POST, HEAD');
  });

  it('manages webhooks and refuses their targets alike', async () => {
    // The real server cannot resolve hooks.example.invalid; the mocks' fetch fails alike.
    mswServer.use(http.all('https://hooks.example.invalid/*', () => HttpResponse.error()));
    const results = await runEverywhere({}, async (send) => {
      const admin = await loginAs(send, ADMIN.username, ADMIN.password);
      const post = (probe: string, path: string, body: unknown) =>
        send(probe, { method: 'POST', path, headers: admin, json: body });
      const patch = (probe: string, id: string, body: unknown) =>
        send(probe, { method: 'PATCH', path: `/api/v1/webhooks/${id}`, headers: admin, json: body });
      for (const url of [
        'https://127.0.0.1/in',
        'https://[::1]/in',
        'https://[::ffff:127.0.0.1]/in',
        'https://2130706433/in',
        'https://0x7f000001/in',
        'https://169.254.169.254/latest/meta-data/',
        'https://10.0.0.1/in',
        'https://localhost/in',
        'https://user:pass@hooks.example.invalid/in',
        'file:///etc/passwd',
        'http://hooks.example.invalid/in',
        'not a url',
      ]) {
        await post(`create: ${url}`, '/api/v1/webhooks', { name: 'refused', url });
      }
      for (const [probe, body] of [
        ['no name', { url: 'https://hooks.example.invalid/in' }],
        ['unknown event', { name: 'x', url: 'https://hooks.example.invalid/in', events: ['key.nothing'] }],
        ['no event', { name: 'x', url: 'https://hooks.example.invalid/in', events: [] }],
        ['own secret', { name: 'x', url: 'https://hooks.example.invalid/in', secret: 'whsec_AAAA' }],
        // One character past the contract's maxLength of 500.
        [
          'long description',
          { name: 'x', url: 'https://hooks.example.invalid/in', description: `${'d'.repeat(500)}d` },
        ],
      ] as const) {
        await post(`create: ${probe}`, '/api/v1/webhooks', body);
      }
      const hook = await post('create', '/api/v1/webhooks', {
        name: 'parity',
        url: 'https://hooks.example.invalid/in',
        events: ['key.created', 'key.deleted'],
      });
      await send('list', { path: '/api/v1/webhooks', headers: admin });
      await send('get', { path: `/api/v1/webhooks/${hook.id}`, headers: admin });
      await send('get unknown', {
        path: '/api/v1/webhooks/3f1c9a52-0d7e-4b8a-9c61-5e2f7d4a1b90',
        headers: admin,
      });
      await patch('patch refused url', hook.id, { url: 'https://192.168.1.1/' });
      await patch('patch nothing', hook.id, {});
      await patch('patch', hook.id, { events: null, description: 'every event' });
      await post('rotate too long', `/api/v1/webhooks/${hook.id}/rotate-secret`, { grace_seconds: 604_801 });
      await post('rotate', `/api/v1/webhooks/${hook.id}/rotate-secret`, { grace_seconds: 60 });
      const test = await post('test', `/api/v1/webhooks/${hook.id}/test`, undefined);
      await send('deliveries', {
        path: `/api/v1/webhooks/${hook.id}/deliveries?status=failed`,
        headers: admin,
      });
      await send('deliveries bad status', {
        path: `/api/v1/webhooks/${hook.id}/deliveries?status=lost`,
        headers: admin,
      });
      await post('redeliver', `/api/v1/webhooks/${hook.id}/deliveries/${test.id}/redeliver`, undefined);
      await post(
        'redeliver unknown',
        `/api/v1/webhooks/${hook.id}/deliveries/3f1c9a52-0d7e-4b8a-9c61-5e2f7d4a1b90/redeliver`,
        undefined,
      );
      await patch('switch off', hook.id, { is_active: false });
      await post(
        'redeliver while off',
        `/api/v1/webhooks/${hook.id}/deliveries/${test.id}/redeliver`,
        undefined,
      );
      await send('delete', { method: 'DELETE', path: `/api/v1/webhooks/${hook.id}`, headers: admin });
      await send('get deleted', { path: `/api/v1/webhooks/${hook.id}`, headers: admin });
    });
    expectParity(results, 33);
    const seen = results.get('real server')!;
    expect(seen.filter((o) => o.probe.startsWith('create: ') && o.status === 400)).toHaveLength(17);
    expect(seen.find((o) => o.probe === 'test')!.shape).toMatchObject({ status: 'string' });
    expect(seen.find((o) => o.probe === 'redeliver while off')!.code).toBe('WEBHOOK_INACTIVE');
  });

  it('bootstraps alike', async () => {
    const results = await runEverywhere({ empty: true }, async (send) => {
      await send('status before', { path: '/api/v1/auth/bootstrap-status' });
      await send('short key', {
        method: 'POST',
        path: '/api/v1/auth/register-key',
        json: { api_key: 'short' },
      });
      const key = 'bootstrap-key-for-the-parity-suite-0123456789';
      await send('register', {
        method: 'POST',
        path: '/api/v1/auth/register-key',
        json: { api_key: key, label: 'first' },
      });
      await send('register again', {
        method: 'POST',
        path: '/api/v1/auth/register-key',
        json: { api_key: `${key}x` },
      });
      await send('status after', { path: '/api/v1/auth/bootstrap-status' });
      await send('the key works', { path: '/api/v1/auth/whoami', headers: { 'x-api-key': key } });
    });
    expectParity(results, 6);
  });

  it('locks out alike, warns before the last attempt, and never counts a request without a credential', async () => {
    const results = await runEverywhere({ lockoutAttempts: 3 }, async (send) => {
      const wrong = { 'x-api-key': 'lk_000000000000000000000000000000000000000' };
      await send('no credential', { path: '/api/v1/auth/whoami' });
      await send('no credential again', { path: '/api/v1/auth/whoami' });
      await send('wrong 1', { path: '/api/v1/auth/whoami', headers: wrong });
      await send('wrong 2 (warned)', { path: '/api/v1/auth/whoami', headers: wrong });
      await send('wrong password 3', {
        method: 'POST',
        path: '/api/v1/auth/login',
        json: { username: ADMIN.username, password: 'not the password at all' },
      });
      await send('locked, even with the right password', {
        method: 'POST',
        path: '/api/v1/auth/login',
        json: { username: ADMIN.username, password: ADMIN.password },
      });
      await send('health is not locked', { path: '/health' });
    });
    expectParity(results, 7);
    const seen = results.get('real server')!;
    expect(seen.map((o) => o.status)).toEqual([401, 401, 401, 401, 401, 429, 200]);
    expect(seen[3]!.detail).toMatch(/One more failed attempt/);
  });

  it('rate-limits alike', async () => {
    const results = await runEverywhere({ rateLimit: 3 }, async (send) => {
      const admin = await loginAs(send, ADMIN.username, ADMIN.password);
      for (let i = 1; i <= 4; i++) await send(`whoami ${i}`, { path: '/api/v1/auth/whoami', headers: admin });
      await send('anonymous meta', { path: '/meta' });
    });
    expectParity(results, 6);
    expect(results.get('real server')!.map((o) => o.status)).toEqual([200, 200, 200, 200, 429, 200]);
  });

  it('switches authentication methods off alike', async () => {
    const results = await runEverywhere({ authMethods: ['header', 'bearer'] }, async (send) => {
      await send('meta', { path: '/meta' });
      await send('no credential', { path: '/api/v1/auth/whoami' });
      await send('Token is off', { path: '/api/v1/auth/whoami', headers: { authorization: 'Token lk_x' } });
      await send('Basic is off', {
        path: '/api/v1/auth/whoami',
        headers: { authorization: `Basic ${btoa(`${ADMIN.username}:${ADMIN.password}`)}` },
      });
      await send('query is off', { path: '/api/v1/auth/whoami?api_key=lk_x' });
      const admin = await loginAs(send, ADMIN.username, ADMIN.password);
      await send('Bearer is on', { path: '/api/v1/auth/whoami', headers: admin });
    });
    expectParity(results, 7);
    expect(
      results.get('real server')!.find((o) => o.probe === 'no credential')!.headers['www-authenticate'],
    ).toBe('Bearer realm="latchkey"');
  });
});

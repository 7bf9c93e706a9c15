import { readFileSync } from 'node:fs';
import {
  CONTRACT,
  CORE_HANDLERS,
  type ContractDocument,
  ContractValidator,
  handlerCoverage,
  listOperations,
} from '@latchkey/core';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { observeResponses } from '../src/http/observe.js';
import { createLatchkeyMock } from '../src/mock.js';
import { pageHandlers } from '../src/pages.js';

const OPERATION_HANDLERS: Record<string, unknown> = { ...CORE_HANDLERS, ...pageHandlers };

import { scenarios } from '../src/scenarios.js';
import { checkedResponses } from './support/contract-check.js';

/** The contract as it is in the repository now, read at test time. */
const current = YAML.parse(
  readFileSync(new URL('../../../openapi.yaml', import.meta.url), 'utf8'),
) as ContractDocument;
const currentIds = listOperations(current).map((op) => op.operationId);

describe('handler coverage', () => {
  it('has a handler for every operationId in openapi.yaml, and none outside it', () => {
    expect(currentIds.length).toBeGreaterThan(30);
    expect(handlerCoverage(currentIds, OPERATION_HANDLERS)).toEqual({ missing: [], extra: [] });
  });

  it('reports the operationId whose handler was removed', () => {
    const { rotateKey: _removed, ...withoutRotate } = OPERATION_HANDLERS as Record<string, unknown> & {
      rotateKey: unknown;
    };
    expect(handlerCoverage(currentIds, withoutRotate)).toEqual({ missing: ['rotateKey'], extra: [] });
  });

  it('reports a handler for an operation the contract does not have', () => {
    const handlers = { ...OPERATION_HANDLERS, unknownOperation: async () => ({ status: 200 }) };
    expect(handlerCoverage(currentIds, handlers).extra).toEqual(['unknownOperation']);
  });

  it('carries the same contract as openapi.yaml (run `pnpm --filter @latchkey/core gen` after changing it)', () => {
    expect(CONTRACT).toEqual(current);
  });
});

describe('response check', () => {
  const validator = new ContractValidator();
  const spec = (id: string) => {
    const found = listOperations(CONTRACT).find((op) => op.operationId === id);
    if (!found) throw new Error(id);
    return found;
  };
  const USER_ID = '0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10';
  const KEY_ID = '5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61';
  const authHeaders = {
    'X-Auth-Method': 'HeaderTokenAuth',
    'X-Auth-Expires': 'never',
    'X-Auth-Token-Id': KEY_ID,
    'X-Auth-User-Id': USER_ID,
    'X-Auth-User-Username': 'alice',
  };
  const whoami = {
    user: {
      id: USER_ID,
      username: 'alice',
      is_superuser: false,
      is_active: true,
      can_create_tokens: true,
      can_verify_keys: false,
      created_at: '2026-11-22T10:00:00.000Z',
    },
    auth: { method: 'HeaderTokenAuth', token_id: KEY_ID, expires_at: null, write_enabled: true },
  };
  const check = (
    id: string,
    status: number,
    body: unknown,
    headers: Record<string, string>,
    type = 'application/json',
  ) => validator.checkResponse(spec(id), { status, body, headers: new Headers(headers), contentType: type });

  it('accepts a conforming response', () => {
    expect(check('whoami', 200, whoami, authHeaders)).toEqual([]);
  });

  it('names a body that misses a required field', () => {
    const { auth: _auth, ...noAuth } = whoami;
    expect(check('whoami', 200, noAuth, authHeaders).join()).toMatch(
      /whoami 200: body .*body\.auth.*is required/,
    );
  });

  it('names a status the contract does not declare', () => {
    expect(check('whoami', 418, whoami, authHeaders).join()).toMatch(/status 418 is not declared/);
  });

  it('names a missing required header and a header outside its schema', () => {
    const { 'X-Auth-Method': _m, ...missing } = authHeaders;
    expect(check('whoami', 200, whoami, missing)).toEqual([
      'whoami 200: header X-Auth-Method is required but missing',
    ]);
    expect(check('whoami', 200, whoami, { ...authHeaders, 'X-Auth-Method': 'Magic' }).join()).toMatch(
      /header X-Auth-Method=Magic must be equal to one of the allowed values/,
    );
    const tooMany = { 'Retry-After': 'soon', 'Content-Type': 'application/problem+json' };
    const problem = { type: '/docs/errors/RATE_LIMITED', title: 't', status: 429, code: 'RATE_LIMITED' };
    expect(check('whoami', 429, problem, tooMany, 'application/problem+json').join()).toMatch(
      /header Retry-After=soon must be integer/,
    );
  });

  it('names a wrong media type', () => {
    expect(check('getDocs', 200, '<html></html>', {}, 'application/json').join()).toMatch(
      /content type application\/json is not one of text\/html/,
    );
  });
});

describe('every operation answers inside the contract', () => {
  const mock = createLatchkeyMock({
    baseUrl: 'http://contract.test',
    seed: {
      users: [
        { username: 'root', is_superuser: true },
        { username: 'bob', password: 'bobs-own-password-42' },
      ],
      keys: [
        { owner: 'root', name: 'root key' },
        { owner: 'root', name: 'root read-only', permissions: ['keys:read'] },
        { owner: 'bob', name: 'bob key' },
      ],
    },
  });
  const server = setupServer(...mock.handlers);
  const seen = new Map<string, Set<number>>();
  const stop = observeResponses(({ operationId, response }) => {
    if (!seen.has(operationId)) seen.set(operationId, new Set());
    seen.get(operationId)?.add(response.status);
  });
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => {
    stop();
    server.close();
  });

  const base = 'http://contract.test';
  const call = async (
    method: string,
    path: string,
    init: { key?: string; json?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ) => {
    const headers = new Headers(init.headers);
    if (init.key) headers.set('X-API-Key', init.key);
    if (init.json !== undefined) headers.set('Content-Type', 'application/json');
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
      ...(init.raw !== undefined ? { body: init.raw } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : text,
    };
  };

  it('answers each operation, successes and refusals, all checked against the contract', async () => {
    const root = mock.seeded.keys['root key']!.key;
    const bob = mock.seeded.keys['bob key']!.key;
    const bobId = mock.seeded.users.bob!.id;
    const statuses: Record<string, number> = {};
    const note = <R extends { status: number }>(id: string, r: R): R => {
      statuses[`${id} ${r.status}`] = r.status;
      return r;
    };
    note('getRoot', await call('GET', '/'));
    note('getHealth', await call('GET', '/health'));
    note('getMeta', await call('GET', '/meta'));
    note('getMetrics', await call('GET', '/metrics'));
    note('getOpenApiJson', await call('GET', '/openapi.json'));
    const yaml = note('getOpenApiYaml', await call('GET', '/openapi.yaml'));
    expect(YAML.parse(yaml.body as string)).toEqual(CONTRACT);
    note('getDocs', await call('GET', '/docs'));
    note('getRedoc', await call('GET', '/redoc'));
    note('getErrorPage', await call('GET', '/docs/errors/KEY_READ_ONLY'));
    note('getErrorPage', await call('GET', '/docs/errors/NO_SUCH_CODE'));
    const login = note(
      'login',
      await call('POST', '/api/v1/auth/login', {
        json: { username: 'root', password: 'correct horse battery staple' },
      }),
    );
    note(
      'login',
      await call('POST', '/api/v1/auth/login', { json: { username: 'root', password: 'wrong' } }),
    );
    note('login', await call('POST', '/api/v1/auth/login', { json: { username: 'root' } }));
    note('whoami', await call('GET', '/api/v1/auth/whoami', { key: root }));
    note('whoami', await call('GET', '/api/v1/auth/whoami'));
    note('logout', await call('POST', '/api/v1/auth/logout', { key: root }));
    note(
      'logout',
      await call('POST', '/api/v1/auth/logout', { headers: { Authorization: `Bearer ${login.body.token}` } }),
    );
    note(
      'getApiToken',
      await call('POST', '/api/v1/auth/get_api_token', {
        json: { username: 'bob', password: 'bobs-own-password-42' },
      }),
    );
    note('checkApiToken', await call('POST', '/api/v1/auth/check_api_token', { json: { token: bob } }));
    note(
      'changePassword',
      await call('POST', '/api/v1/auth/password', {
        key: bob,
        json: { current_password: 'not bobs', new_password: 'bobs-newer-password-43' },
      }),
    );
    note(
      'changePassword',
      await call('POST', '/api/v1/auth/password', {
        key: bob,
        json: { current_password: 'bobs-own-password-42', new_password: 'bobs-newer-password-43' },
      }),
    );
    note('getBootstrapStatus', await call('GET', '/api/v1/auth/bootstrap-status'));
    note(
      'registerKey',
      await call('POST', '/api/v1/auth/register-key', { json: { api_key: 'b'.repeat(40) } }),
    );
    note('registerKey', await call('POST', '/api/v1/auth/register-key', { json: { api_key: 'short' } }));
    const created = note(
      'createKey',
      await call('POST', '/api/v1/keys', {
        key: root,
        json: { name: 'k', allowed_ips: ['10.0.0.0/8', '127.0.0.1'] },
      }),
    );
    note(
      'createKey',
      await call('POST', '/api/v1/keys', { key: root, json: { name: 'k', key: created.body.key } }),
    );
    note(
      'createKey',
      await call('POST', '/api/v1/keys', {
        key: root,
        raw: 'name=k',
        headers: { 'Content-Type': 'text/plain' },
      }),
    );
    const id = created.body.id as string;
    note('listKeys', await call('GET', '/api/v1/keys?limit=1', { key: root }));
    note('getKey', await call('GET', `/api/v1/keys/${id}`, { key: root }));
    note('getKey', await call('GET', `/api/v1/keys/${id}`, { key: bob }));
    note('getKey', await call('GET', '/api/v1/keys/not-a-uuid', { key: root }));
    note(
      'updateKey',
      await call('PATCH', `/api/v1/keys/${id}`, { key: root, json: { allowed_ips: ['127.0.0.1'] } }),
    );
    note(
      'updateKey',
      await call('PATCH', `/api/v1/keys/${id}`, { key: root, json: { allowed_ips: ['192.168.0.1'] } }),
    );
    note('deactivateKey', await call('POST', `/api/v1/keys/${id}/deactivate`, { key: root }));
    note('rotateKey', await call('POST', `/api/v1/keys/${id}/rotate`, { key: root }));
    note('activateKey', await call('POST', `/api/v1/keys/${id}/activate`, { key: root }));
    note(
      'rotateKey',
      await call('POST', `/api/v1/keys/${id}/rotate`, { key: root, json: { grace_seconds: 60 } }),
    );
    note('deleteKey', await call('DELETE', `/api/v1/keys/${id}`, { key: root }));
    note(
      'adminListKeys',
      await call('GET', `/api/v1/admin/keys?user_id=${bobId}&expired=false`, { key: root }),
    );
    note('adminListKeys', await call('GET', '/api/v1/admin/keys', { key: bob }));
    note('verifyKey', await call('POST', '/api/v1/keys/verify', { key: root, json: { key: bob } }));
    note('verifyKey', await call('POST', '/api/v1/keys/verify', { key: bob, json: { key: root } }));
    note(
      'verifyKey',
      await call('POST', '/api/v1/keys/verify', {
        key: mock.seeded.keys['root read-only']!.key,
        json: { key: bob },
      }),
    );
    const forward = (headers: Record<string, string>, query = '') =>
      call('GET', `/api/v1/auth/forward${query}`, { headers });
    note('forwardAuth', await forward({ 'X-Original-Method': 'GET', 'X-API-Key': bob }));
    note('forwardAuth', await forward({ 'X-API-Key': bob }));
    note('forwardAuth', await forward({ 'X-Original-Method': 'GET' }));
    note(
      'forwardAuth',
      await forward(
        { 'X-Original-Method': 'GET', 'X-API-Key': mock.seeded.keys['root read-only']!.key },
        '?permission=archive.snapshots:read',
      ),
    );
    const bobKeyId = mock.seeded.keys['bob key']!.id;
    note(
      'adminDeactivateKey',
      await call('POST', `/api/v1/admin/keys/${bobKeyId}/deactivate`, { key: root }),
    );
    note('adminActivateKey', await call('POST', `/api/v1/admin/keys/${bobKeyId}/activate`, { key: root }));
    note('adminDeleteKey', await call('DELETE', `/api/v1/admin/keys/${bobKeyId}`, { key: root }));
    note('adminListUsers', await call('GET', '/api/v1/admin/users?is_superuser=false', { key: root }));
    const carol = note(
      'adminCreateUser',
      await call('POST', '/api/v1/admin/users', {
        key: root,
        json: { username: 'carol', password: 'carols-password-99' },
      }),
    );
    note(
      'adminCreateUser',
      await call('POST', '/api/v1/admin/users', {
        key: root,
        json: { username: 'carol', password: 'carols-password-99' },
      }),
    );
    note(
      'adminCreateUser',
      await call('POST', '/api/v1/admin/users', {
        key: root,
        json: { username: 'dave', password: 'password' },
      }),
    );
    const carolId = carol.body.id as string;
    note('adminGetUser', await call('GET', `/api/v1/admin/users/${carolId}`, { key: root }));
    note(
      'adminUpdateUser',
      await call('PATCH', `/api/v1/admin/users/${carolId}`, {
        key: root,
        json: { can_create_tokens: false },
      }),
    );
    note(
      'adminUpdateUser',
      await call('PATCH', `/api/v1/admin/users/${mock.seeded.users.root!.id}`, {
        key: root,
        json: { is_superuser: false },
      }),
    );
    note(
      'adminResetPassword',
      await call('POST', `/api/v1/admin/users/${carolId}/password`, {
        key: root,
        json: { password: 'carols-new-password-1' },
      }),
    );
    note('adminDeleteUser', await call('DELETE', `/api/v1/admin/users/${carolId}`, { key: root }));
    note('adminDeleteUser', await call('DELETE', `/api/v1/admin/users/${carolId}`, { key: root }));
    note('adminListLockouts', await call('GET', '/api/v1/admin/lockouts', { key: root }));
    note('adminClearLockout', await call('DELETE', '/api/v1/admin/lockouts/203.0.113.7', { key: root }));
    note('adminClearLockout', await call('DELETE', '/api/v1/admin/lockouts/not-an-ip', { key: root }));
    note(
      'adminListAuditEvents',
      await call('GET', '/api/v1/admin/audit-events?action=key.created', { key: root }),
    );
    server.use(http.post('https://hooks.contract.test/in', () => new HttpResponse(null, { status: 204 })));
    note('listWebhooks', await call('GET', '/api/v1/webhooks', { key: root }));
    note(
      'listWebhooks',
      await call('GET', '/api/v1/webhooks', { key: mock.seeded.keys['root read-only']!.key }),
    );
    const hook = note(
      'createWebhook',
      await call('POST', '/api/v1/webhooks', {
        key: root,
        json: { name: 'contract', url: 'https://hooks.contract.test/in', events: ['key.created'] },
      }),
    );
    note(
      'createWebhook',
      await call('POST', '/api/v1/webhooks', { key: root, json: { name: 'x', url: 'https://10.0.0.1/' } }),
    );
    const hookId = hook.body.id as string;
    note('getWebhook', await call('GET', `/api/v1/webhooks/${hookId}`, { key: root }));
    note(
      'updateWebhook',
      await call('PATCH', `/api/v1/webhooks/${hookId}`, { key: root, json: { description: 'checked' } }),
    );
    note(
      'rotateWebhookSecret',
      await call('POST', `/api/v1/webhooks/${hookId}/rotate-secret`, {
        key: root,
        json: { grace_seconds: 60 },
      }),
    );
    const tested = note('testWebhook', await call('POST', `/api/v1/webhooks/${hookId}/test`, { key: root }));
    note('listWebhookDeliveries', await call('GET', `/api/v1/webhooks/${hookId}/deliveries`, { key: root }));
    note(
      'redeliverWebhookDelivery',
      await call('POST', `/api/v1/webhooks/${hookId}/deliveries/${tested.body.id}/redeliver`, { key: root }),
    );
    await mock.flushWebhooks();
    note('deleteWebhook', await call('DELETE', `/api/v1/webhooks/${hookId}`, { key: root }));
    note('getWebhook', await call('GET', `/api/v1/webhooks/${hookId}`, { key: root }));

    expect(Object.keys(statuses).sort()).toEqual(
      [
        'activateKey 200',
        'adminActivateKey 200',
        'adminClearLockout 400',
        'adminClearLockout 404',
        'adminCreateUser 201',
        'adminCreateUser 400',
        'adminCreateUser 409',
        'adminDeactivateKey 200',
        'adminDeleteKey 204',
        'adminDeleteUser 204',
        'adminDeleteUser 404',
        'adminGetUser 200',
        'adminListAuditEvents 200',
        'adminListKeys 200',
        'adminListKeys 403',
        'adminListLockouts 200',
        'adminListUsers 200',
        'adminResetPassword 204',
        'adminUpdateUser 200',
        'adminUpdateUser 409',
        'changePassword 204',
        'createWebhook 201',
        'createWebhook 400',
        'deleteWebhook 204',
        'getWebhook 200',
        'getWebhook 404',
        'listWebhookDeliveries 200',
        'listWebhooks 200',
        'listWebhooks 403',
        'redeliverWebhookDelivery 202',
        'rotateWebhookSecret 200',
        'testWebhook 200',
        'updateWebhook 200',
        'changePassword 400',
        'checkApiToken 200',
        'createKey 201',
        'createKey 409',
        'createKey 415',
        'deactivateKey 200',
        'deleteKey 204',
        'forwardAuth 200',
        'forwardAuth 400',
        'forwardAuth 401',
        'forwardAuth 403',
        'getApiToken 200',
        'getBootstrapStatus 200',
        'getDocs 200',
        'getErrorPage 200',
        'getErrorPage 404',
        'getHealth 200',
        'getKey 200',
        'getKey 400',
        'getKey 404',
        'getMeta 200',
        'getMetrics 404',
        'getOpenApiJson 200',
        'getOpenApiYaml 200',
        'getRedoc 200',
        'getRoot 200',
        'listKeys 200',
        'login 200',
        'login 400',
        'login 401',
        'logout 204',
        'logout 400',
        'registerKey 400',
        'registerKey 409',
        'rotateKey 201',
        'rotateKey 409',
        'updateKey 200',
        'updateKey 400',
        'verifyKey 200',
        'verifyKey 403',
        'whoami 200',
        'whoami 401',
      ].sort(),
    );
    // Every operation of the contract answered at least once, and every answer was checked.
    expect([...seen.keys()].sort()).toEqual([...currentIds].sort());
    expect(await checkedResponses()).toBeGreaterThanOrEqual(Object.keys(statuses).length);
  });
});

describe('scenario answers inside the contract', () => {
  const mock = createLatchkeyMock({
    baseUrl: 'http://scenario-contract.test',
    seed: { users: [{ username: 'erin' }], keys: [{ owner: 'erin' }] },
  });
  const server = setupServer(...mock.handlers);
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterAll(() => server.close());
  const validator = new ContractValidator();
  const whoamiSpec = listOperations(CONTRACT).find((op) => op.operationId === 'whoami')!;

  it.each([
    ['rateLimited', () => scenarios.rateLimited({ retryAfter: 5 }), 429],
    ['unauthorized', () => scenarios.unauthorized(), 401],
    ['credentialExpiring', () => scenarios.credentialExpiring({ inMs: 1000 }), 200],
  ] as const)('%s', async (_name, make, status) => {
    server.use(...make());
    const res = await fetch('http://scenario-contract.test/api/v1/auth/whoami', {
      headers: { 'X-API-Key': mock.seeded.keys['erin-key-1']!.key },
    });
    server.resetHandlers();
    expect(res.status).toBe(status);
    const body = await res.json();
    expect(
      validator.checkResponse(whoamiSpec, {
        status: res.status,
        headers: res.headers,
        body,
        contentType: res.headers.get('content-type'),
      }),
    ).toEqual([]);
  });
});

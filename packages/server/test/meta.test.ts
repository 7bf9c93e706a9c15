import { CLI_ACTOR } from '@latchkey/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import YAML from 'yaml';
import { describeEachDialect, startTestServer, type TestServer } from './support/test-server.js';

describeEachDialect('exempt endpoints', (dialect) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(dialect, { LATCHKEY_KEY_PREFIX: 'argus_', LATCHKEY_MAX_BODY_BYTES: '2048' });
  });
  afterAll(() => s.close());

  it('GET / names the service and links the other exempt endpoints', async () => {
    const res = await s.call('/');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'Latchkey', links: { health: '/health', meta: '/meta' } });
  });

  it('GET /meta tells clients the methods, prefix and limits in force', async () => {
    const res = await s.call('/meta');
    expect(res.status).toBe(200);
    expect(res.body.key_prefix).toBe('argus_');
    expect(res.body.auth_methods).toContain('SessionAuth');
    expect(res.body.limits).toMatchObject({
      max_page_size: 200,
      max_body_bytes: 2048,
      min_supplied_key_length: 32,
    });
  });

  it('serves the contract as JSON and YAML', async () => {
    const json = await s.call('/openapi.json');
    expect(json.status).toBe(200);
    expect(json.body.openapi).toBe('3.1.0');
    expect(Object.keys(json.body.paths)).toContain('/api/v1/keys');
    const yaml = await s.fetch('/openapi.yaml');
    expect(yaml.status).toBe(200);
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(YAML.parse(await yaml.text())).toEqual(json.body);
  });

  it('answers unknown paths with 404 and wrong methods with 405, as problem+json', async () => {
    const missing = await s.call('/api/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(missing.body).toMatchObject({ code: 'NOT_FOUND', status: 404, type: '/docs/errors/NOT_FOUND' });
    const wrong = await s.call('/api/v1/keys', { method: 'PUT' });
    expect(wrong.status).toBe(405);
    expect(wrong.body.code).toBe('METHOD_NOT_ALLOWED');
    // Allow names what the path answers (RFC 9110), a templated path too.
    expect(wrong.headers.get('allow')).toBe('GET, POST, HEAD');
    const templated = await s.call('/api/v1/keys/3f1c9a52-0d7e-4b8a-9c61-5e2f7d4a1b90', { method: 'PUT' });
    expect(templated.status).toBe(405);
    expect(templated.headers.get('allow')).toBe('GET, PATCH, DELETE, HEAD');
    expect(templated.body.detail).toContain('GET, PATCH, DELETE, HEAD');
  });

  it('answers an unknown query parameter on any anonymous operation with 400, as the contract declares', async () => {
    for (const path of [
      '/',
      '/health',
      '/meta',
      '/metrics',
      '/openapi.json',
      '/openapi.yaml',
      '/docs',
      '/redoc',
    ]) {
      const r = await s.call(`${path}?surprise=1`);
      expect(r.status, path).toBe(400);
      expect(r.body.code, path).toBe('VALIDATION_FAILED');
    }
    expect((await s.call('/docs/errors/NOT_FOUND?surprise=1')).status).toBe(400);
    expect((await s.call('/api/v1/auth/bootstrap-status?surprise=1')).status).toBe(400);
  });

  it('answers HEAD like GET, without a body', async () => {
    const res = await s.fetch('/health', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.text()).toBe('');
  });

  it('refuses a streamed body that is not JSON with 415', async () => {
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('username=x&password=y'));
        controller.close();
      },
    });
    const res = await s.fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(415);
    expect(((await res.json()) as { code: string }).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses a body over the limit with 413 and no credential needed to learn it', async () => {
    const res = await s.call('/api/v1/auth/login', {
      method: 'POST',
      json: { username: 'x', password: 'y'.repeat(4000) },
    });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('ignores ?api_key= on an operation that takes no credential', async () => {
    const res = await s.call('/meta?api_key=whatever-it-is');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-auth-method')).toBeNull();
  });

  it('GET /health answers 200 while the database answers, and 503 when it does not', async () => {
    const up = await s.call('/health');
    expect(up.status).toBe(200);
    expect(up.body).toEqual({ status: 'ok', database: 'ok' });
    const other = await startTestServer(dialect);
    try {
      await other.app.storage.close();
      const down = await other.call('/health');
      expect(down.status).toBe(503);
      expect(down.body).toEqual({ status: 'unavailable', database: 'unreachable' });
    } finally {
      await other.close().catch(() => {});
    }
  });
});

describeEachDialect('first superuser from the environment', (dialect) => {
  it('is created on first start when no user exists, and only then', async () => {
    const env = { LATCHKEY_ADMIN_USERNAME: 'root', LATCHKEY_ADMIN_PASSWORD: 'a-long-admin-password-1' };
    const s = await startTestServer(dialect, env);
    try {
      const who = await s.call('/api/v1/auth/whoami', {
        headers: { authorization: `Basic ${Buffer.from('root:a-long-admin-password-1').toString('base64')}` },
      });
      expect(who.status).toBe(200);
      expect(who.body.user).toMatchObject({ username: 'root', is_superuser: true, is_active: true });
      expect(
        await s.app.services.users.ensureAdmin(CLI_ACTOR, 'other', 'a-long-admin-password-2'),
      ).toBeUndefined();
      expect((await s.app.services.store.counts()).users).toBe(1);
    } finally {
      await s.close();
    }
  });
});

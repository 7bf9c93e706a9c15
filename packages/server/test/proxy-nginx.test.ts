// Latchkey in front of an API through a real nginx, with the configuration of
// docs/proxy.md as written there (ports and folders replaced): the workflows the seed
// products document, replayed through the proxy to a small upstream app. Skipped, saying so,
// only when nginx cannot be found.
import type { UserRecord } from '@latchkey/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EchoApp,
  NGINX,
  proxyGuideConfig,
  type RunningNginx,
  startEchoApp,
  startNginx,
  warnWithoutNginx,
} from './support/nginx.js';
import { startTestServer, type TestServer } from './support/test-server.js';

warnWithoutNginx('proxy-nginx.test.ts');

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

describe.skipIf(!NGINX)('Latchkey in front of an API through nginx (docs/proxy.md)', () => {
  let latchkey: TestServer;
  let api: EchoApp;
  let nginx: RunningNginx;
  let owner: UserRecord;

  beforeAll(async () => {
    latchkey = await startTestServer('sqlite', {
      LATCHKEY_API_KEY_HEADERS: 'X-API-Key,X-ArchiveBox-API-Key,X-Proxbox-API-Key',
      LATCHKEY_TRUSTED_PROXIES: '127.0.0.1',
      LATCHKEY_LOGIN_REQUIRED: 'false',
      // Argus: 100 requests a minute per key.
      LATCHKEY_RATE_LIMIT: '100',
      LATCHKEY_RATE_WINDOW_S: '60',
    });
    owner = await latchkey.createUser('proxied-user');
    api = await startEchoApp();
    nginx = await startNginx({
      http: ({ ports, dir }) =>
        proxyGuideConfig({
          listen: ports[0] as number,
          latchkey: new URL(latchkey.baseUrl).host,
          api: `127.0.0.1:${api.port}`,
          dir,
        }),
    });
  }, 60_000);
  afterAll(async () => {
    await nginx?.stop();
    await api?.close();
    await latchkey?.close();
  });

  /** A request through nginx; the body parsed as JSON when it is JSON. */
  async function through(path: string, init: RequestInit = {}): Promise<Answer> {
    const res = await fetch(`${nginx.url}${path}`, init);
    const text = await res.text();
    const json = /json/.test(res.headers.get('content-type') ?? '');
    return { status: res.status, headers: res.headers, body: json && text ? JSON.parse(text) : text };
  }

  it('ArchiveBox: X-ArchiveBox-API-Key and ?api_key= calls reach /api/v1/core/snapshots with who called', async () => {
    const { key, id } = await latchkey.createKey(owner, { name: 'archivebox' });
    const seen = api.requests.length;
    const r = await through('/api/v1/core/snapshots', {
      headers: { 'X-ArchiveBox-API-Key': key, 'X-Auth-User-Id': 'forged' },
    });
    expect(r.status, nginx.errorLog()).toBe(200);
    expect(r.body.url).toBe('/api/v1/core/snapshots');
    expect(r.body.headers['x-auth-method']).toBe('HeaderTokenAuth');
    expect(r.body.headers['x-auth-user-id']).toBe(owner.id);
    expect(r.body.headers['x-auth-user-username']).toBe('proxied-user');
    expect(r.body.headers['x-auth-token-id']).toBe(id);
    expect(r.headers.get('x-ratelimit-limit')).toBe('100');
    expect(r.headers.get('x-ratelimit-remaining')).toBe('99');

    const q = await through(`/api/v1/core/snapshots?api_key=${key}`);
    expect(q.status).toBe(200);
    expect(q.body.headers['x-auth-method']).toBe('QueryParamTokenAuth');
    expect(api.requests.length).toBe(seen + 2);
  });

  it('NetBox: Token reads pass, a read-only token cannot write, anonymous reads pass with login not required', async () => {
    const { key } = await latchkey.createKey(owner, { name: 'netbox', write_enabled: false });
    const read = await through('/api/dcim/sites/', { headers: { Authorization: `Token ${key}` } });
    expect(read.status).toBe(200);
    expect(read.body.headers['x-auth-method']).toBe('TokenAuth');

    const seen = api.requests.length;
    const write = await through('/api/dcim/sites/', {
      method: 'POST',
      headers: { Authorization: `Token ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'site-1' }),
    });
    expect(write.status).toBe(403);
    expect(write.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(write.body).toMatchObject({ status: 403, code: 'KEY_READ_ONLY' });

    // A forged identity never reaches the API, not even when nobody is named.
    const anonymous = await through('/api/dcim/sites/', {
      headers: { 'X-Auth-User-Id': 'forged', 'X-Auth-User-Username': 'admin' },
    });
    expect(anonymous.status).toBe(200);
    expect(anonymous.body.headers['x-auth-method']).toBe('Anonymous');
    expect(anonymous.body.headers['x-auth-user-id']).toBeUndefined();
    expect(anonymous.body.headers['x-auth-user-username']).toBeUndefined();
    const anonymousWrite = await through('/api/dcim/sites/', { method: 'POST' });
    expect(anonymousWrite.status).toBe(401);
    expect(anonymousWrite.body).toMatchObject({ code: 'AUTHENTICATION_REQUIRED' });
    expect(anonymousWrite.headers.get('www-authenticate')).toMatch(/^Bearer realm="latchkey"/);
    // Only the two reads reached the API.
    expect(api.requests.length).toBe(seen + 1);
  });

  it('proxbox: X-Proxbox-API-Key reaches /proxmox/endpoints', async () => {
    const { key } = await latchkey.createKey(owner, { name: 'proxbox' });
    const r = await through('/proxmox/endpoints', { headers: { 'X-Proxbox-API-Key': key } });
    expect(r.status).toBe(200);
    expect(r.body.headers['x-auth-user-username']).toBe('proxied-user');
  });

  it('Argus: 100 requests a minute per key; the 101st is 429 with its headers and body', async () => {
    const { key } = await latchkey.createKey(owner, { name: 'argus' });
    const headers = { 'X-API-Key': key };
    for (let i = 1; i <= 100; i++) {
      const r = await through('/api/v1/articles/latest', { headers });
      expect(r.status, `request ${i}`).toBe(200);
      expect(r.headers.get('x-ratelimit-remaining')).toBe(String(100 - i));
    }
    const seen = api.requests.length;
    const limited = await through('/api/v1/articles/latest', { headers });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('100');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(api.requests.length).toBe(seen);
  });

  it('refuses a wrong key with 401, one WWW-Authenticate and the problem body', async () => {
    const r = await through('/api/v1/core/snapshots', { headers: { 'X-API-Key': 'lk_wrong-key' } });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ status: 401, code: 'AUTHENTICATION_FAILED' });
    expect(r.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(r.headers.get('www-authenticate')?.split('Bearer realm').length).toBe(2);
  });

  it('refuses a deactivated key on the very next request', async () => {
    const { key, id } = await latchkey.createKey(owner, { name: 'soon-off' });
    const headers = { 'X-API-Key': key };
    expect((await through('/api/v1/core/snapshots', { headers })).status).toBe(200);
    const off = await latchkey.call(`/api/v1/keys/${id}/deactivate`, { method: 'POST', headers });
    expect(off.status).toBe(200);
    const next = await through('/api/v1/core/snapshots', { headers });
    expect(next.status).toBe(401);
    expect(next.body).toMatchObject({ code: 'AUTHENTICATION_FAILED' });
  });
});

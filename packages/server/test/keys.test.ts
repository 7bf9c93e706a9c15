import { request } from 'node:http';
import type { UserRecord } from '@latchkey/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectProblem, fields, type Reply } from './support/expect.js';
import { describeEachDialect, PASSWORD, startTestServer, type TestServer } from './support/test-server.js';

// The key lifecycle through HTTP: create, list, read, narrow, rotate, (de)activate, delete.

type AuthHeaders = Record<string, string>;

const KEY_SHAPE = /^lk_[0-9A-Za-z]{38}$/;
const UNKNOWN_ID = '3f1c9a52-0d7e-4b8a-9c61-5e2f7d4a1b90';
const HEX40 = 'a3f9c2e81b7d4f60958e2c1d0b3a4f5e6d7c8b9a';

/** The same key with its last checksum character changed, so its checksum fails. */
const breakChecksum = (key: string) => `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;

function expectOk(r: Reply, status = 200) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
}

/** Milliseconds between an ISO time and now + offsetMs; small when they match. */
const driftMs = (iso: string, offsetMs: number) => Math.abs(Date.parse(iso) - (Date.now() + offsetMs));

describeEachDialect('keys', (dialect) => {
  let s: TestServer;
  let users = 0;

  beforeAll(async () => {
    s = await startTestServer(dialect);
  });
  afterAll(() => s.close());

  /** A fresh user and the Authorization header of a login JWT for them. */
  async function newUser(
    flags: { canCreateTokens?: boolean } = {},
  ): Promise<{ user: UserRecord; auth: AuthHeaders }> {
    users += 1;
    const username = `keys-user-${users}`;
    const user = await s.createUser(username, flags);
    const login = await s.call('/api/v1/auth/login', {
      method: 'POST',
      json: { username, password: PASSWORD },
    });
    expectOk(login);
    return { user, auth: { authorization: `Bearer ${login.body.token}` } };
  }

  /** Requests under /api/v1 with the given credential headers. */
  const api = (auth: AuthHeaders) => ({
    get: (p: string) => s.call(`/api/v1${p}`, { headers: auth }),
    post: (p: string, json?: unknown) => s.call(`/api/v1${p}`, { method: 'POST', headers: auth, json }),
    patch: (p: string, json: unknown) => s.call(`/api/v1${p}`, { method: 'PATCH', headers: auth, json }),
    del: (p: string) => s.call(`/api/v1${p}`, { method: 'DELETE', headers: auth }),
  });

  const xApiKey = (key: string): AuthHeaders => ({ 'x-api-key': key });

  /** whoami with the key in X-API-Key. */
  const useKey = (key: string) => s.call('/api/v1/auth/whoami', { headers: xApiKey(key) });

  /** Asserts that the key authenticates, as the key with this id. */
  async function expectKeyWorks(key: string, id: string) {
    const r = await useKey(key);
    expectOk(r);
    expect(r.body.auth.token_id).toBe(id);
    expect(r.headers.get('x-auth-token-id')).toBe(id);
  }

  async function expectKeyRefused(key: string) {
    const r = await useKey(key);
    expectProblem(r, 401, 'AUTHENTICATION_FAILED');
    expect(r.headers.get('www-authenticate')).toBeTruthy();
  }

  /** DELETE /keys/{id}, expecting 204 with no body. */
  async function deleteKey(auth: AuthHeaders, id: string) {
    const r = await api(auth).del(`/keys/${id}`);
    expectOk(r, 204);
    expect(r.body).toBe('');
  }

  async function createKey(auth: AuthHeaders, body: Record<string, unknown> = { name: 'k' }) {
    const r = await api(auth).post('/keys', body);
    expectOk(r, 201);
    return r.body as { id: string; key: string } & Record<string, any>;
  }

  // ---------------------------------------------------------------- create

  it('creates a key: 201, no-store, Location, the key once, and it works at once', async () => {
    const { user, auth } = await newUser();
    const r = await api(auth).post('/keys', { name: 'ci-deploy' });
    expectOk(r, 201);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('location')).toBe(`/api/v1/keys/${r.body.id}`);
    expect(r.headers.get('x-auth-method')).toBe('JwtAuth');
    expect(r.headers.get('x-auth-user-id')).toBe(user.id);
    expect(r.body.key).toMatch(KEY_SHAPE);
    expect(r.body.start).toBe(r.body.key.slice(0, 7));
    expect(r.body).toMatchObject({
      name: 'ci-deploy',
      user_id: user.id,
      write_enabled: true,
      is_active: true,
      expires_at: null,
      allowed_ips: [],
      last_used_at: null,
      last_used_ip: null,
      created_via: 'api',
      rotated_from_id: null,
    });
    expect(r.body).not.toHaveProperty('digest');
    expect(r.body).not.toHaveProperty('sealed_key');

    await expectKeyWorks(r.body.key, r.body.id);
    const viaLocation = await s.call(r.headers.get('location')!, { headers: auth });
    expectOk(viaLocation);
    expect(viaLocation.body.id).toBe(r.body.id);
  });

  it('creates keys with security fields, normalising the address rules', async () => {
    const { auth } = await newUser();
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    const created = await createKey(auth, {
      name: 'narrow',
      write_enabled: false,
      expires_at: expires,
      allowed_ips: ['127.0.0.1', ' 10.0.0.0/8'],
    });
    expect(created).toMatchObject({
      write_enabled: false,
      expires_at: expires,
      allowed_ips: ['127.0.0.1', '10.0.0.0/8'],
    });
    const r = await useKey(created.key);
    expectOk(r);
    expect(r.headers.get('x-auth-expires')).toBe(expires);
    expect(r.body.auth.write_enabled).toBe(false);

    expectProblem(
      await api(auth).post('/keys', { name: 'bad ip', allowed_ips: ['nope'] }),
      400,
      'VALIDATION_FAILED',
      'body.allowed_ips[0]',
    );
    expectProblem(
      await api(auth).post('/keys', { name: 'past', expires_at: new Date(Date.now() - 1000).toISOString() }),
      400,
      'VALIDATION_FAILED',
      'body.expires_at',
    );
    expectProblem(await api(auth).post('/keys', {}), 400, 'VALIDATION_FAILED', 'body.name');
    expectProblem(
      await api(auth).post('/keys', { name: 'x', owner: 'someone' }),
      400,
      'VALIDATION_FAILED',
      'body.owner',
    );
  });

  it('never returns the key again: not in reads, lists or page links', async () => {
    const { auth } = await newUser();
    const created = await createKey(auth, { name: 'secret' });
    await createKey(auth, { name: 'another' });
    const secretPart = created.key.slice(created.start.length);

    const one = await api(auth).get(`/keys/${created.id}`);
    expectOk(one);
    expect(one.body.start).toBe(created.start);
    const list = await api(auth).get('/keys');
    expectOk(list);
    expect(list.body.results.map((k: { id: string }) => k.id)).toContain(created.id);
    // Authenticated by the key in the query: the page links must not carry it on.
    const byQuery = await s.call(`/api/v1/keys?limit=1&api_key=${created.key}`);
    expectOk(byQuery);
    expect(byQuery.body.next).toBeTruthy();
    expect(byQuery.headers.get('cache-control')).toBe('private, no-store');

    for (const body of [one.body, list.body, byQuery.body]) {
      const text = JSON.stringify(body);
      expect(text).not.toContain(created.key);
      expect(text).not.toContain(secretPart);
      expect(text).not.toContain('api_key');
    }
  });

  // ---------------------------------------------------------------- supplied keys

  it('accepts a supplied key of at least 32 characters and refuses bad ones', async () => {
    const { auth } = await newUser();
    const supplied = await createKey(auth, { name: 'netbox', key: HEX40 });
    expect(supplied.key).toBe(HEX40);
    expect(HEX40.startsWith(supplied.start)).toBe(true);
    expect(supplied.start.length).toBeLessThan(8);
    await expectKeyWorks(HEX40, supplied.id);
    // NetBox style header, too.
    const netbox = await s.call('/api/v1/auth/whoami', { headers: { authorization: `Token ${HEX40}` } });
    expectOk(netbox);
    expect(netbox.body.auth.method).toBe('TokenAuth');

    expectProblem(
      await api(auth).post('/keys', { name: 'short', key: HEX40.slice(0, 31) }),
      400,
      'VALIDATION_FAILED',
      'body.key',
    );
    const generated = await createKey(auth, { name: 'gen' });
    expectProblem(
      await api(auth).post('/keys', { name: 'bad checksum', key: breakChecksum(generated.key) }),
      400,
      'VALIDATION_FAILED',
      'body.key',
    );
    expectProblem(await api(auth).post('/keys', { name: 'again', key: HEX40 }), 409, 'KEY_ALREADY_EXISTS');
    // Another user cannot take it either.
    const other = await newUser();
    expectProblem(
      await api(other.auth).post('/keys', { name: 'theirs', key: HEX40 }),
      409,
      'KEY_ALREADY_EXISTS',
    );
  });

  it('restores a deleted key by creating it again with the same string', async () => {
    const { auth } = await newUser();
    for (const body of [{ name: 'supplied', key: `${HEX40}-restore` }, { name: 'generated' }]) {
      const first = await createKey(auth, body);
      await deleteKey(auth, first.id);
      await expectKeyRefused(first.key);

      const restored = await createKey(auth, { name: 'restored', key: first.key });
      expect(restored.id).not.toBe(first.id);
      expect(restored.key).toBe(first.key);
      expect(restored.start).toBe(first.start);
      await expectKeyWorks(first.key, restored.id);
    }
  });

  // ---------------------------------------------------------------- list

  it('lists keys newest first, in pages that link to each other', async () => {
    const { auth } = await newUser();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createKey(auth, { name: `k${i}` })).id);

    const seen: string[] = [];
    let page = await api(auth).get('/keys?limit=2');
    expectOk(page);
    expect(page.body.count).toBe(5);
    expect(page.body.results).toHaveLength(2);
    expect(page.body.previous).toBeNull();
    // Links are relative: a forged Host header can never reach them.
    expect(page.body.next).toMatch(/^\/api\/v1\/keys\?/);
    const next = new URL(page.body.next, 'http://relative.invalid');
    expect(next.pathname).toBe('/api/v1/keys');
    expect(next.searchParams.get('offset')).toBe('2');
    expect(next.searchParams.get('limit')).toBe('2');
    seen.push(...page.body.results.map((k: { id: string }) => k.id));

    const visit = async (url: string) => {
      const u = new URL(url, 'http://relative.invalid');
      const r = await s.call(`${u.pathname}${u.search}`, { headers: auth });
      expectOk(r);
      return r;
    };
    page = await visit(page.body.next);
    expect(page.body.count).toBe(5);
    expect(page.body.results).toHaveLength(2);
    expect(new URL(page.body.previous, 'http://relative.invalid').searchParams.get('offset')).toBe('0');
    expect(new URL(page.body.next, 'http://relative.invalid').searchParams.get('offset')).toBe('4');
    seen.push(...page.body.results.map((k: { id: string }) => k.id));

    const last = await visit(page.body.next);
    expect(last.body.results).toHaveLength(1);
    expect(last.body.next).toBeNull();
    expect(new URL(last.body.previous, 'http://relative.invalid').searchParams.get('offset')).toBe('2');
    seen.push(...last.body.results.map((k: { id: string }) => k.id));

    expect(new Set(seen).size).toBe(5);
    expect([...seen].sort()).toEqual([...ids].sort());

    const back = await visit(page.body.previous);
    expect(back.body.results.map((k: { id: string }) => k.id)).toEqual(seen.slice(0, 2));

    const all = await api(auth).get('/keys');
    expectOk(all);
    const created = all.body.results.map((k: { created_at: string }) => k.created_at);
    expect(created).toEqual([...created].sort().reverse());

    // A forged Host (or an Origin) never reaches a link: links are the path and query only.
    const forged = await new Promise<{ status: number; body: { next: string } }>((resolve, reject) => {
      const req = request(
        `${s.baseUrl}/api/v1/keys?limit=2`,
        { headers: { ...auth, host: 'attacker.invalid', origin: 'https://elsewhere.invalid' } },
        (res) => {
          let text = '';
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(forged.status).toBe(200);
    expect(forged.body.next).toBe('/api/v1/keys?limit=2&offset=2');
  });

  it('filters the list by is_active', async () => {
    const { auth } = await newUser();
    const keys = [];
    for (let i = 0; i < 5; i++) keys.push(await createKey(auth, { name: `k${i}` }));
    for (const k of keys.slice(0, 2)) expectOk(await api(auth).post(`/keys/${k.id}/deactivate`));

    const inactive = await api(auth).get('/keys?is_active=false');
    expectOk(inactive);
    expect(inactive.body.count).toBe(2);
    expect(inactive.body.results.map((k: { id: string }) => k.id).sort()).toEqual(
      keys
        .slice(0, 2)
        .map((k) => k.id)
        .sort(),
    );
    expect(inactive.body.results.every((k: { is_active: boolean }) => k.is_active === false)).toBe(true);

    const active = await api(auth).get('/keys?is_active=true');
    expectOk(active);
    expect(active.body.count).toBe(3);
    expect(active.body.results.every((k: { is_active: boolean }) => k.is_active === true)).toBe(true);
  });

  it('refuses page parameters out of range', async () => {
    const { auth } = await newUser();
    expectProblem(await api(auth).get('/keys?limit=0'), 400, 'VALIDATION_FAILED', 'query.limit');
    expectProblem(await api(auth).get('/keys?limit=201'), 400, 'VALIDATION_FAILED', 'query.limit');
    expectProblem(await api(auth).get('/keys?offset=-1'), 400, 'VALIDATION_FAILED', 'query.offset');
    expectProblem(await api(auth).get('/keys?limit=abc'), 400, 'VALIDATION_FAILED', 'query.limit');
    expectOk(await api(auth).get('/keys?limit=200&offset=0'));
  });

  // ---------------------------------------------------------------- read, (de)activate, delete

  it('deactivates and activates a key, which stops and restores it at once', async () => {
    const { auth } = await newUser();
    const k = await createKey(auth);

    const unchanged = await api(auth).post(`/keys/${k.id}/activate`);
    expectOk(unchanged);
    expect(unchanged.body.is_active).toBe(true);
    expect(unchanged.body.updated_at).toBe(k.updated_at);

    const off = await api(auth).post(`/keys/${k.id}/deactivate`);
    expectOk(off);
    expect(off.body.is_active).toBe(false);
    await expectKeyRefused(k.key);
    const again = await api(auth).post(`/keys/${k.id}/deactivate`);
    expectOk(again);
    expect(again.body.is_active).toBe(false);
    expect((await api(auth).get(`/keys/${k.id}`)).body.is_active).toBe(false);

    const on = await api(auth).post(`/keys/${k.id}/activate`);
    expectOk(on);
    expect(on.body.is_active).toBe(true);
    await expectKeyWorks(k.key, k.id);
  });

  it('deletes a key: 204, then 404 KEY_NOT_FOUND, and the key no longer authenticates', async () => {
    const { auth } = await newUser();
    const k = await createKey(auth);
    await deleteKey(auth, k.id);
    expectProblem(await api(auth).get(`/keys/${k.id}`), 404, 'KEY_NOT_FOUND');
    expectProblem(await api(auth).del(`/keys/${k.id}`), 404, 'KEY_NOT_FOUND');
    expectProblem(await api(auth).post(`/keys/${k.id}/activate`), 404, 'KEY_NOT_FOUND');
    await expectKeyRefused(k.key);
    expect((await api(auth).get('/keys')).body.count).toBe(0);
  });

  it('answers 404 for an unknown id and 400 naming key_id for one that is not a uuid', async () => {
    const { auth } = await newUser();
    expectProblem(await api(auth).get(`/keys/${UNKNOWN_ID}`), 404, 'KEY_NOT_FOUND');
    for (const r of [
      await api(auth).get('/keys/not-a-uuid'),
      await api(auth).patch('/keys/not-a-uuid', { name: 'x' }),
      await api(auth).del('/keys/not-a-uuid'),
      await api(auth).post('/keys/not-a-uuid/rotate', {}),
    ]) {
      expectProblem(r, 400, 'VALIDATION_FAILED');
      expect(
        fields(r).some((f) => f.includes('key_id')),
        JSON.stringify(r.body),
      ).toBe(true);
    }
  });

  // ---------------------------------------------------------------- PATCH

  it('PATCH renames a key', async () => {
    const { auth } = await newUser();
    const k = await createKey(auth, { name: 'old name' });
    const r = await api(auth).patch(`/keys/${k.id}`, { name: 'new name' });
    expectOk(r);
    expect(r.body.name).toBe('new name');
    expect(r.body.updated_at >= k.updated_at).toBe(true);
    expect((await api(auth).get(`/keys/${k.id}`)).body.name).toBe('new name');
    await expectKeyWorks(k.key, k.id);
  });

  it('PATCH narrows write_enabled but never widens it', async () => {
    const { auth } = await newUser();
    const k = await createKey(auth);
    const narrowed = await api(auth).patch(`/keys/${k.id}`, { write_enabled: false });
    expectOk(narrowed);
    expect(narrowed.body.write_enabled).toBe(false);
    // The key itself is now read-only.
    expectProblem(await api(xApiKey(k.key)).post('/keys', { name: 'x' }), 403, 'KEY_READ_ONLY');

    const before = (await api(auth).get(`/keys/${k.id}`)).body;
    const widened = await api(auth).patch(`/keys/${k.id}`, { write_enabled: true });
    expectProblem(widened, 400, 'CANNOT_WIDEN');
    expect(widened.body.errors[0].field).toBe('body.write_enabled');
    // A refused PATCH changes nothing, not even the fields that were fine.
    expectProblem(
      await api(auth).patch(`/keys/${k.id}`, { name: 'renamed', write_enabled: true }),
      400,
      'CANNOT_WIDEN',
    );
    expect((await api(auth).get(`/keys/${k.id}`)).body).toEqual(before);
  });

  it('PATCH sets an expiry or moves it earlier, never later', async () => {
    const { auth } = await newUser();
    const k = await createKey(auth);
    const in2h = new Date(Date.now() + 2 * 3_600_000).toISOString();
    const in1h = new Date(Date.now() + 3_600_000).toISOString();
    const in3h = new Date(Date.now() + 3 * 3_600_000).toISOString();

    const set = await api(auth).patch(`/keys/${k.id}`, { expires_at: in2h });
    expectOk(set);
    expect(set.body.expires_at).toBe(in2h);
    const earlier = await api(auth).patch(`/keys/${k.id}`, { expires_at: in1h });
    expectOk(earlier);
    expect(earlier.body.expires_at).toBe(in1h);
    expect((await useKey(k.key)).headers.get('x-auth-expires')).toBe(in1h);

    const before = (await api(auth).get(`/keys/${k.id}`)).body;
    const later = await api(auth).patch(`/keys/${k.id}`, { expires_at: in3h });
    expectProblem(later, 400, 'CANNOT_WIDEN');
    expect(later.body.errors[0].field).toBe('body.expires_at');
    expectProblem(
      await api(auth).patch(`/keys/${k.id}`, { expires_at: new Date(Date.now() - 60_000).toISOString() }),
      400,
      'VALIDATION_FAILED',
      'body.expires_at',
    );
    // Clearing the expiry would widen the key; the contract does not even allow null.
    expectProblem(
      await api(auth).patch(`/keys/${k.id}`, { expires_at: null }),
      400,
      'VALIDATION_FAILED',
      'body.expires_at',
    );
    expect((await api(auth).get(`/keys/${k.id}`)).body).toEqual(before);
    await expectKeyWorks(k.key, k.id);
  });

  it('PATCH restricts allowed_ips or removes entries, never adds', async () => {
    const { auth } = await newUser();
    const k = await createKey(auth);

    const set = await api(auth).patch(`/keys/${k.id}`, { allowed_ips: ['127.0.0.1', '10.0.0.0/8'] });
    expectOk(set);
    expect(set.body.allowed_ips).toEqual(['127.0.0.1', '10.0.0.0/8']);
    await expectKeyWorks(k.key, k.id);

    const fewer = await api(auth).patch(`/keys/${k.id}`, { allowed_ips: ['127.0.0.1'] });
    expectOk(fewer);
    expect(fewer.body.allowed_ips).toEqual(['127.0.0.1']);

    const before = (await api(auth).get(`/keys/${k.id}`)).body;
    const added = await api(auth).patch(`/keys/${k.id}`, { allowed_ips: ['127.0.0.1', '192.0.2.1'] });
    expectProblem(added, 400, 'CANNOT_WIDEN');
    expect(added.body.errors[0].field).toBe('body.allowed_ips');
    expectProblem(
      await api(auth).patch(`/keys/${k.id}`, { allowed_ips: ['0.0.0.0/0'] }),
      400,
      'CANNOT_WIDEN',
    );
    // An empty list would lift the restriction.
    expectProblem(
      await api(auth).patch(`/keys/${k.id}`, { allowed_ips: [] }),
      400,
      'VALIDATION_FAILED',
      'body.allowed_ips',
    );
    expectProblem(
      await api(auth).patch(`/keys/${k.id}`, { allowed_ips: ['nope'] }),
      400,
      'VALIDATION_FAILED',
      'body.allowed_ips[0]',
    );
    expect((await api(auth).get(`/keys/${k.id}`)).body).toEqual(before);

    // Narrowing to a range that excludes this client makes the key refuse it.
    const other = await createKey(auth);
    expectOk(await api(auth).patch(`/keys/${other.id}`, { allowed_ips: ['10.0.0.0/8'] }));
    expectProblem(await useKey(other.key), 403, 'IP_NOT_ALLOWED');
  });

  it('PATCH refuses an unknown field and an empty body', async () => {
    const { auth } = await newUser();
    const k = await createKey(auth);
    const before = (await api(auth).get(`/keys/${k.id}`)).body;
    expectProblem(
      await api(auth).patch(`/keys/${k.id}`, { user_id: UNKNOWN_ID }),
      400,
      'VALIDATION_FAILED',
      'body.user_id',
    );
    expectProblem(await api(auth).patch(`/keys/${k.id}`, { is_active: false }), 400, 'VALIDATION_FAILED');
    expectProblem(await api(auth).patch(`/keys/${k.id}`, {}), 400, 'VALIDATION_FAILED');
    expectProblem(
      await api(auth).patch(`/keys/${k.id}`, { name: '' }),
      400,
      'VALIDATION_FAILED',
      'body.name',
    );
    expect((await api(auth).get(`/keys/${k.id}`)).body).toEqual(before);
  });

  // ---------------------------------------------------------------- rotate

  it('rotates with a grace period: a new key, and both work until the old one expires', async () => {
    const { auth } = await newUser();
    const old = await createKey(auth, { name: 'rotating', allowed_ips: ['127.0.0.1'] });
    const r = await api(auth).post(`/keys/${old.id}/rotate`, { grace_seconds: 3600 });
    expectOk(r, 201);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('location')).toBe(`/api/v1/keys/${r.body.id}`);
    expect(r.body.key).toMatch(KEY_SHAPE);
    expect(r.body.key).not.toBe(old.key);
    expect(r.body.id).not.toBe(old.id);
    expect(r.body).toMatchObject({
      name: 'rotating',
      write_enabled: true,
      is_active: true,
      allowed_ips: ['127.0.0.1'],
      expires_at: null,
      created_via: 'rotation',
      rotated_from_id: old.id,
    });

    await expectKeyWorks(r.body.key, r.body.id);
    await expectKeyWorks(old.key, old.id);
    const oldNow = await api(auth).get(`/keys/${old.id}`);
    expectOk(oldNow);
    expect(driftMs(oldNow.body.expires_at, 3_600_000)).toBeLessThan(60_000);
    expect(oldNow.body.is_active).toBe(true);
    expect((await useKey(old.key)).headers.get('x-auth-expires')).toBe(oldNow.body.expires_at);
  });

  it('rotation keeps the security fields of a narrowed key', async () => {
    const { auth } = await newUser();
    const expires = new Date(Date.now() + 7_200_000).toISOString();
    const old = await createKey(auth, {
      name: 'narrow',
      write_enabled: false,
      expires_at: expires,
      allowed_ips: ['10.0.0.0/8', '127.0.0.1'],
    });
    const r = await api(auth).post(`/keys/${old.id}/rotate`, { grace_seconds: 60 });
    expectOk(r, 201);
    expect(r.body).toMatchObject({
      name: 'narrow',
      write_enabled: false,
      expires_at: expires,
      allowed_ips: ['10.0.0.0/8', '127.0.0.1'],
    });
    expect(driftMs((await api(auth).get(`/keys/${old.id}`)).body.expires_at, 60_000)).toBeLessThan(30_000);
  });

  it('rotation without grace ends the old key at once', async () => {
    const { auth } = await newUser();
    for (const body of [{ grace_seconds: 0 }, undefined]) {
      const old = await createKey(auth);
      const r = await api(auth).post(`/keys/${old.id}/rotate`, body);
      expectOk(r, 201);
      await expectKeyRefused(old.key);
      await expectKeyWorks(r.body.key, r.body.id);
    }
  });

  it('refuses a grace period out of range and a key that is not rotatable', async () => {
    const { user, auth } = await newUser();
    const k = await createKey(auth);
    expectProblem(
      await api(auth).post(`/keys/${k.id}/rotate`, { grace_seconds: 86_401 }),
      400,
      'VALIDATION_FAILED',
      'body.grace_seconds',
    );
    expectProblem(
      await api(auth).post(`/keys/${k.id}/rotate`, { grace_seconds: -1 }),
      400,
      'VALIDATION_FAILED',
      'body.grace_seconds',
    );
    await expectKeyWorks(k.key, k.id);

    expectOk(await api(auth).post(`/keys/${k.id}/deactivate`));
    expectProblem(
      await api(auth).post(`/keys/${k.id}/rotate`, { grace_seconds: 60 }),
      409,
      'KEY_NOT_ROTATABLE',
    );

    const row = await s.createKey(user, { name: 'expired' });
    await s.setExpiry(row.id, new Date(Date.now() - 3_540_000).toISOString());
    expectProblem(await api(auth).post(`/keys/${row.id}/rotate`, {}), 409, 'KEY_NOT_ROTATABLE');
    // Neither refusal issued a key.
    expect((await api(auth).get('/keys')).body.count).toBe(2);
  });

  it('of concurrent rotations of one key, exactly one succeeds', async () => {
    const { user, auth } = await newUser();
    // Another key authenticates the rotations: it is as fast as a login, with no password hash.
    const caller = api(xApiKey((await s.createKey(user, { name: 'caller' })).key));
    for (let round = 0; round < 3; round++) {
      const old = await createKey(auth, { name: `contended ${round}` });
      const replies = await Promise.all(
        Array.from({ length: 6 }, () => caller.post(`/keys/${old.id}/rotate`, { grace_seconds: 0 })),
      );
      const created = replies.filter((r) => r.status === 201);
      expect(created, JSON.stringify(replies.map((r) => r.status))).toHaveLength(1);
      for (const r of replies.filter((x) => x.status !== 201)) expectProblem(r, 409, 'KEY_NOT_ROTATABLE');
      await expectKeyRefused(old.key);
      await expectKeyWorks(created[0]!.body.key, created[0]!.body.id);
      const successors = (await api(auth).get('/keys?limit=200')).body.results.filter(
        (k: { rotated_from_id: string | null }) => k.rotated_from_id === old.id,
      );
      expect(successors).toHaveLength(1);
    }
  });

  it('rotates a key once: a second rotation during the grace period is 409, and of 20 at once one wins', async () => {
    const { user, auth } = await newUser();
    const caller = api(xApiKey((await s.createKey(user, { name: 'caller' })).key));
    const first = await createKey(auth, { name: 'graceful' });
    const successor = await caller.post(`/keys/${first.id}/rotate`, { grace_seconds: 60 });
    expect(successor.status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const again = await caller.post(`/keys/${first.id}/rotate`, { grace_seconds: 60 });
      expectProblem(again, 409, 'KEY_NOT_ROTATABLE');
      expect(again.body.detail).toMatch(/already rotated/);
    }
    // The old key still works during its grace period; its successor can be rotated.
    await expectKeyWorks(first.key, first.id);
    expect((await caller.post(`/keys/${successor.body.id}/rotate`, { grace_seconds: 60 })).status).toBe(201);

    const contended = await createKey(auth, { name: 'contended with grace' });
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => caller.post(`/keys/${contended.id}/rotate`, { grace_seconds: 60 })),
    );
    expect(
      replies.filter((r) => r.status === 201),
      JSON.stringify(replies.map((r) => r.status)),
    ).toHaveLength(1);
    for (const r of replies.filter((x) => x.status !== 201)) expectProblem(r, 409, 'KEY_NOT_ROTATABLE');
    const successors = (await api(auth).get('/keys?limit=200')).body.results.filter(
      (k: { rotated_from_id: string | null }) => k.rotated_from_id === contended.id,
    );
    expect(successors).toHaveLength(1);
  });

  // ---------------------------------------------------------------- isolation and permissions

  it("keeps users apart: another user's key is a 404 everywhere and unchanged", async () => {
    const a = await newUser();
    const b = await newUser();
    const aKey = await createKey(a.auth, { name: 'a-key' });
    await createKey(b.auth, { name: 'b-key' });
    const before = (await api(a.auth).get(`/keys/${aKey.id}`)).body;

    const asB = api(b.auth);
    for (const r of [
      await asB.get(`/keys/${aKey.id}`),
      await asB.patch(`/keys/${aKey.id}`, { name: 'stolen' }),
      await asB.patch(`/keys/${aKey.id}`, { write_enabled: false }),
      await asB.post(`/keys/${aKey.id}/deactivate`),
      await asB.post(`/keys/${aKey.id}/activate`),
      await asB.post(`/keys/${aKey.id}/rotate`, { grace_seconds: 0 }),
      await asB.del(`/keys/${aKey.id}`),
    ]) {
      expectProblem(r, 404, 'KEY_NOT_FOUND');
    }
    const bList = await asB.get('/keys');
    expectOk(bList);
    expect(bList.body.count).toBe(1);
    expect(bList.body.results.map((k: { name: string }) => k.name)).toEqual(['b-key']);
    expect(JSON.stringify(bList.body)).not.toContain(aKey.id);

    expect((await api(a.auth).get(`/keys/${aKey.id}`)).body).toEqual(before);
    expect((await api(a.auth).get('/keys')).body.count).toBe(1);
    await expectKeyWorks(aKey.key, aKey.id);
  });

  it('refuses key creation and rotation to a user without can_create_tokens', async () => {
    const { user, auth } = await newUser({ canCreateTokens: false });
    expectProblem(await api(auth).post('/keys', { name: 'nope' }), 403, 'KEY_CREATION_NOT_ALLOWED');
    const existing = await s.createKey(user, { name: 'given by an admin' });
    expectProblem(
      await api(auth).post(`/keys/${existing.id}/rotate`, { grace_seconds: 0 }),
      403,
      'KEY_CREATION_NOT_ALLOWED',
    );
    expectProblem(
      await api(xApiKey(existing.key)).post('/keys', { name: 'nope' }),
      403,
      'KEY_CREATION_NOT_ALLOWED',
    );
    // The refused rotation did not end the key, and the user can still manage it.
    await expectKeyWorks(existing.key, existing.id);
    const list = await api(auth).get('/keys');
    expectOk(list);
    expect(list.body.count).toBe(1);
    expect(list.body.results[0].expires_at).toBeNull();
  });

  it('lets a read-only key read but not change anything', async () => {
    const { user } = await newUser();
    const ro = await s.createKey(user, { name: 'read only', write_enabled: false });
    const asKey = api(xApiKey(ro.key));

    const list = await asKey.get('/keys');
    expectOk(list);
    expect(list.headers.get('x-auth-method')).toBe('HeaderTokenAuth');
    expect(list.body.count).toBe(1);
    expectOk(await asKey.get(`/keys/${ro.id}`));

    expectProblem(await asKey.post(`/keys/${ro.id}/deactivate`), 403, 'KEY_READ_ONLY');
    expectProblem(await asKey.post(`/keys/${ro.id}/rotate`, { grace_seconds: 0 }), 403, 'KEY_READ_ONLY');
    expectProblem(await asKey.post('/keys', { name: 'x' }), 403, 'KEY_READ_ONLY');
    expectProblem(await asKey.patch(`/keys/${ro.id}`, { name: 'x' }), 403, 'KEY_READ_ONLY');
    expectProblem(await asKey.del(`/keys/${ro.id}`), 403, 'KEY_READ_ONLY');

    const after = await asKey.get(`/keys/${ro.id}`);
    expect(after.body).toMatchObject({ name: 'read only', is_active: true, expires_at: null });
    expect((await asKey.get('/keys')).body.count).toBe(1);
  });

  // ---------------------------------------------------------------- expiry

  it('refuses an expired key', async () => {
    const { user, auth } = await newUser();
    const row = await s.createKey(user, { name: 'expired' });
    await s.setExpiry(row.id, new Date(Date.now() - 3_540_000).toISOString());
    await expectKeyRefused(row.key);
    const shown = await api(auth).get(`/keys/${row.id}`);
    expectOk(shown);
    expect(shown.body.is_active).toBe(true);
    expect(Date.parse(shown.body.expires_at)).toBeLessThan(Date.now());
  });

  it('a key stops working the moment it expires', async () => {
    const { auth } = await newUser();
    const expiresAt = Date.now() + 2000;
    const k = await createKey(auth, { name: 'short lived', expires_at: new Date(expiresAt).toISOString() });
    await expectKeyWorks(k.key, k.id);
    await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 100));
    await expectKeyRefused(k.key);
  });
});

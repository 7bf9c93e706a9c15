import {
  AuthenticationError,
  createLatchkeyClient,
  LatchkeyError,
  PermissionError,
  RateLimitError,
  ValidationError,
} from '@latchkey/client';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, type StartTarget, type Target, type TargetSettings } from './target.js';

const KEY_FORMAT = /^lk_[0-9A-Za-z]{38}$/;

async function rejection(promise: Promise<unknown>): Promise<LatchkeyError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof LatchkeyError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

/**
 * The scenarios a consumer relies on, written once against the SDK. Each test file runs
 * them against one target; they must pass on the real server and on the mock alike.
 */
export function sharedScenarios(name: string, startTarget: StartTarget): void {
  describe(`shared scenarios: ${name}`, () => {
    let target: Target | undefined;
    afterEach(async () => {
      await target?.close();
      target = undefined;
    });

    async function start(settings: TargetSettings = {}) {
      target = await startTarget(settings);
      const t = target;
      const client = (credentials?: Parameters<typeof createLatchkeyClient>[0]['credentials']) =>
        createLatchkeyClient({
          baseUrl: t.baseUrl,
          fetch: t.fetch,
          maxRateLimitRetries: 0,
          ...(credentials ? { credentials } : {}),
        });
      const admin = client({ login: { username: ADMIN.username, password: ADMIN.password } });
      return { t, client, admin };
    }

    it('creates a key, shows it once, uses it and lists it redacted', async () => {
      const { admin, client } = await start();
      const { data: created, response } = await admin.createKey({ body: { name: 'ci-deploy' } });
      expect(response.status).toBe(201);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('location')).toBe(`/api/v1/keys/${created.id}`);
      expect(created.key).toMatch(KEY_FORMAT);
      expect(created).toMatchObject({
        name: 'ci-deploy',
        start: created.key.slice(0, 7),
        is_active: true,
        created_via: 'api',
      });

      const script = client({ apiKey: created.key });
      const { data: me, response: meResponse } = await script.whoami();
      expect(me.auth).toMatchObject({
        method: 'HeaderTokenAuth',
        token_id: created.id,
        expires_at: null,
        write_enabled: true,
      });
      expect(me.user.username).toBe(ADMIN.username);
      expect(meResponse.headers.get('x-auth-method')).toBe('HeaderTokenAuth');
      expect(meResponse.headers.get('x-auth-token-id')).toBe(created.id);
      expect(meResponse.headers.get('x-auth-expires')).toBe('never');
      expect(meResponse.headers.get('x-auth-user-username')).toBe(ADMIN.username);
      expect(meResponse.headers.get('x-ratelimit-limit')).toBe('100');
      expect(meResponse.headers.get('ratelimit-policy')).toBe('"default";q=100;w=60');
      expect((await client({ token: created.key }).whoami()).data.auth.method).toBe('TokenAuth');

      const { data: page } = await script.listKeys();
      expect(page.count).toBe(1);
      expect(page.results[0]).toMatchObject({ id: created.id, start: created.key.slice(0, 7) });
      expect(page.results[0]).not.toHaveProperty('key');
      expect(JSON.stringify(page)).not.toContain(created.key);
      const { data: one } = await script.getKey({ path: { key_id: created.id } });
      expect(one).not.toHaveProperty('key');
      expect(one.name).toBe('ci-deploy');
    });

    it('pages the key list, checks expiry and allowed addresses', async () => {
      const { admin, client } = await start();
      const ids: string[] = [];
      for (const name of ['one', 'two', 'three'])
        ids.push((await admin.createKey({ body: { name } })).data.id);
      const { data: first } = await admin.listKeys({ query: { limit: 2 } });
      expect(first.count).toBe(3);
      expect(first.results.map((k) => k.name)).toEqual(['three', 'two']);
      expect(first.previous).toBeNull();
      expect(first.next).toMatch(/^\/api\/v1\/keys\?/);
      const next = new URL(first.next ?? '', 'http://relative.invalid');
      expect([next.searchParams.get('limit'), next.searchParams.get('offset')]).toEqual(['2', '2']);
      const { data: second } = await admin.listKeys({ query: { limit: 2, offset: 2 } });
      expect(second.results.map((k) => k.id)).toEqual([ids[0]]);
      expect(second.next).toBeNull();
      expect(new URL(second.previous ?? '', 'http://relative.invalid').searchParams.get('offset')).toBe('0');

      const past = await rejection(
        admin.createKey({ body: { name: 'late', expires_at: '2020-01-01T00:00:00Z' } }),
      );
      expect((past as ValidationError).errors).toEqual([
        { field: 'body.expires_at', message: 'must be in the future' },
      ]);
      const expires_at = new Date(Date.now() + 86_400_000).toISOString();
      const { data: soon } = await admin.createKey({
        body: { name: 'soon', expires_at, allowed_ips: ['10.0.0.0/8'] },
      });
      expect(soon.expires_at).toBe(expires_at);
      const fenced = await rejection(client({ apiKey: soon.key }).whoami());
      expect([fenced.status, fenced.code]).toEqual([403, 'IP_NOT_ALLOWED']);
      const later = await rejection(
        admin.updateKey({
          path: { key_id: soon.id },
          body: { expires_at: new Date(Date.now() + 2 * 86_400_000).toISOString() },
        }),
      );
      expect(later.code).toBe('CANNOT_WIDEN');
      const { data: local } = await admin.createKey({
        body: { name: 'local', allowed_ips: ['127.0.0.1', '10.0.0.0/8'] },
      });
      const { data: me } = await client({ apiKey: local.key }).whoami();
      expect(me.auth.token_id).toBe(local.id);
      const badIp = await rejection(admin.createKey({ body: { name: 'bad', allowed_ips: ['not-an-ip'] } }));
      expect((badIp as ValidationError).errors[0]?.field).toBe('body.allowed_ips[0]');
    });

    it('rotates a key: the old one works through the grace period, or stops at once without one', async () => {
      const { admin, client } = await start();
      const { data: old } = await admin.createKey({ body: { name: 'rotating' } });
      const before = Date.now();
      const { data: fresh, response } = await admin.rotateKey({
        path: { key_id: old.id },
        body: { grace_seconds: 3600 },
      });
      expect(response.status).toBe(201);
      expect(fresh).toMatchObject({ name: 'rotating', rotated_from_id: old.id, created_via: 'rotation' });
      expect(fresh.key).toMatch(KEY_FORMAT);
      expect(fresh.key).not.toBe(old.key);
      expect((await client({ apiKey: fresh.key }).whoami()).data.auth.token_id).toBe(fresh.id);
      const { data: graced } = await client({ apiKey: old.key }).whoami();
      const expires = Date.parse(graced.auth.expires_at ?? '');
      expect(expires).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);

      const { data: newest } = await admin.rotateKey({
        path: { key_id: fresh.id },
        body: { grace_seconds: 0 },
      });
      const refused = await rejection(client({ apiKey: fresh.key }).whoami());
      expect(refused).toBeInstanceOf(AuthenticationError);
      expect(refused.code).toBe('AUTHENTICATION_FAILED');
      expect(refused.response.headers.get('www-authenticate')).toContain('Bearer realm="latchkey"');
      expect((await client({ apiKey: newest.key }).whoami()).data.auth.token_id).toBe(newest.id);
      const again = await rejection(
        admin.rotateKey({ path: { key_id: fresh.id }, body: { grace_seconds: 0 } }),
      );
      expect([again.status, again.code]).toEqual([409, 'KEY_NOT_ROTATABLE']);
    });

    it('deactivates, activates and deletes a key; another user sees none of it', async () => {
      const { admin, client } = await start();
      const { data: key } = await admin.createKey({ body: { name: 'switchable' } });
      const user = client({ apiKey: key.key });
      const { data: off } = await admin.deactivateKey({ path: { key_id: key.id } });
      expect(off.is_active).toBe(false);
      const refused = await rejection(user.whoami());
      expect([refused.status, refused.code]).toEqual([401, 'AUTHENTICATION_FAILED']);
      expect((await admin.listKeys({ query: { is_active: false } })).data.results.map((k) => k.id)).toEqual([
        key.id,
      ]);
      const { data: on } = await admin.activateKey({ path: { key_id: key.id } });
      expect(on.is_active).toBe(true);
      expect((await user.whoami()).data.auth.token_id).toBe(key.id);

      await admin.adminCreateUser({ body: { username: 'bob', password: 'bobs-own-password-42' } });
      const bob = client({ basic: { username: 'bob', password: 'bobs-own-password-42' } });
      const hidden = await rejection(bob.getKey({ path: { key_id: key.id } }));
      expect([hidden.status, hidden.code]).toEqual([404, 'KEY_NOT_FOUND']);
      expect((await bob.listKeys()).data.count).toBe(0);
      const notAdmin = await rejection(bob.adminListUsers());
      expect(notAdmin).toBeInstanceOf(PermissionError);
      expect(notAdmin.code).toBe('SUPERUSER_REQUIRED');

      const { response } = await admin.deleteKey({ path: { key_id: key.id } });
      expect(response.status).toBe(204);
      expect((await rejection(admin.getKey({ path: { key_id: key.id } }))).code).toBe('KEY_NOT_FOUND');
      expect((await rejection(user.whoami())).status).toBe(401);
    });

    it('narrows a key with PATCH and refuses to widen it; a read-only key cannot write', async () => {
      const { admin, client } = await start();
      const { data: key } = await admin.createKey({ body: { name: 'narrow me' } });
      const { data: narrowed } = await admin.updateKey({
        path: { key_id: key.id },
        body: { name: 'read only now', write_enabled: false },
      });
      expect(narrowed).toMatchObject({ name: 'read only now', write_enabled: false });
      const widen = await rejection(
        admin.updateKey({ path: { key_id: key.id }, body: { write_enabled: true } }),
      );
      expect(widen).toBeInstanceOf(ValidationError);
      expect(widen.code).toBe('CANNOT_WIDEN');
      const readOnly = client({ apiKey: key.key });
      expect((await readOnly.listKeys()).data.count).toBe(1);
      const write = await rejection(readOnly.createKey({ body: { name: 'nope' } }));
      expect([write.status, write.code]).toEqual([403, 'KEY_READ_ONLY']);
      const invalid = await rejection(admin.createKey({ body: { name: '' } }));
      expect(invalid.code).toBe('VALIDATION_FAILED');
      expect((invalid as ValidationError).errors).toEqual([
        { field: 'body.name', message: 'must NOT have fewer than 1 characters' },
      ]);
    });

    it('hands out one API token per user and checks it', async () => {
      const { t, client } = await start();
      const anonymous = client();
      const { data: first } = await anonymous.getApiToken({ body: ADMIN });
      const { data: second } = await anonymous.getApiToken({ body: ADMIN });
      expect(second.token).toBe(first.token);
      expect(first.token).toMatch(KEY_FORMAT);
      expect((await anonymous.checkApiToken({ body: { token: first.token } })).data).toMatchObject({
        success: true,
      });
      expect((await anonymous.checkApiToken({ body: { token: 'lk_not-a-real-key' } })).data).toEqual({
        success: false,
        user_id: null,
      });
      expect((await anonymous.getBootstrapStatus()).data).toEqual({
        needs_bootstrap: false,
        has_db_keys: true,
      });
      const late = await rejection(anonymous.registerKey({ body: { api_key: 'x'.repeat(40) } }));
      expect([late.status, late.code]).toEqual([409, 'BOOTSTRAP_DONE']);
      const two = await t.fetch(`${t.baseUrl}/api/v1/auth/whoami`, {
        headers: { 'X-API-Key': first.token, Authorization: `Token ${first.token}` },
      });
      expect(two.status).toBe(400);
      expect(((await two.json()) as { code: string }).code).toBe('MULTIPLE_CREDENTIALS');
    });

    it('changes my password: other logins end, the old password stops, the new one works', async () => {
      const { client } = await start();
      const other = client({ login: { username: ADMIN.username, password: ADMIN.password } });
      await other.whoami();
      const { data: login } = await client().login({ body: ADMIN });
      const me = client({ bearer: login.token });
      const wrong = await rejection(
        me.changePassword({
          body: { current_password: 'not the password', new_password: 'a new long passphrase 9' },
        }),
      );
      expect([wrong.status, wrong.code]).toEqual([400, 'CURRENT_PASSWORD_WRONG']);
      const weak = await rejection(
        me.changePassword({ body: { current_password: ADMIN.password, new_password: 'football123' } }),
      );
      expect(weak).toBeInstanceOf(ValidationError);
      const { response } = await me.changePassword({
        body: { current_password: ADMIN.password, new_password: 'a new long passphrase 9' },
      });
      expect(response.status).toBe(204);
      // Every other login of the user ends; the one that made the change stays.
      expect((await rejection(other.listKeys())).status).toBe(401);
      const relogin = await rejection(client().login({ body: ADMIN }));
      expect([relogin.status, relogin.code]).toEqual([401, 'AUTHENTICATION_FAILED']);
      const { data: fresh } = await client().login({
        body: { username: ADMIN.username, password: 'a new long passphrase 9' },
      });
      expect(fresh.user.username).toBe(ADMIN.username);
    });

    it('refuses what the server refuses, with the same status and code', async () => {
      const { t, admin } = await start();
      const { data: key } = await admin.createKey({ body: { name: 'raw' } });
      const raw = async (path: string, init: RequestInit = {}) => {
        const res = await t.fetch(`${t.baseUrl}${path}`, init);
        const body = (await res.json()) as { code: string; status: number };
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(body.status).toBe(res.status);
        return { status: res.status, code: body.code, headers: res.headers };
      };
      const json = { 'Content-Type': 'application/json', 'X-API-Key': key.key };
      const none = await raw('/api/v1/keys');
      expect([none.status, none.code]).toEqual([401, 'AUTHENTICATION_REQUIRED']);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm="latchkey"/);
      expect(await raw('/api/v1/nothing', { headers: json })).toMatchObject({
        status: 404,
        code: 'NOT_FOUND',
      });
      expect(await raw('/api/v1/keys', { method: 'PUT', headers: json })).toMatchObject({
        status: 405,
        code: 'METHOD_NOT_ALLOWED',
      });
      expect(await raw('/api/v1/keys', { method: 'POST', headers: json, body: '{"name":' })).toMatchObject({
        status: 400,
        code: 'MALFORMED_JSON',
      });
      expect(
        await raw('/api/v1/keys', {
          method: 'POST',
          headers: { ...json, 'Content-Type': 'text/plain' },
          body: 'name=x',
        }),
      ).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
      expect(
        await raw('/api/v1/keys', {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ name: 'x', admin: true }),
        }),
      ).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
      expect(await raw('/api/v1/keys/not-a-uuid', { headers: json })).toMatchObject({
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      expect(
        await raw('/api/v1/keys', {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ name: 'nul\u0000' }),
        }),
      ).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });

      // The session cookie: reads pass, writes need the CSRF token from login, logout ends it.
      const login = await t.fetch(`${t.baseUrl}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(ADMIN),
      });
      const { csrf_token, token } = (await login.json()) as { csrf_token: string; token: string };
      const session = login.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .find((c) => c?.startsWith('latchkey_session='));
      expect(session).toBeDefined();
      const cookie = { Cookie: session as string };
      const read = await t.fetch(`${t.baseUrl}/api/v1/auth/whoami`, { headers: cookie });
      expect(read.headers.get('x-auth-method')).toBe('SessionAuth');
      const write = { 'Content-Type': 'application/json', ...cookie };
      expect(
        await raw('/api/v1/keys', { method: 'POST', headers: write, body: JSON.stringify({ name: 'csrf' }) }),
      ).toMatchObject({ status: 403, code: 'CSRF_FAILED' });
      const ok = await t.fetch(`${t.baseUrl}/api/v1/keys`, {
        method: 'POST',
        headers: { ...write, 'X-CSRF-Token': csrf_token },
        body: JSON.stringify({ name: 'csrf' }),
      });
      expect(ok.status).toBe(201);
      expect(await raw('/api/v1/auth/logout', { method: 'POST', headers: json })).toMatchObject({
        status: 400,
        code: 'NOT_A_SESSION',
      });
      const out = await t.fetch(`${t.baseUrl}/api/v1/auth/logout`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(out.status).toBe(204);
      expect(await raw('/api/v1/auth/whoami', { headers: cookie })).toMatchObject({
        status: 401,
        code: 'AUTHENTICATION_FAILED',
      });
    });

    it('lets a superuser govern every user and key, and records it in the audit log', async () => {
      const { admin, client } = await start();
      const { data: bob } = await admin.adminCreateUser({
        body: { username: 'bob', password: 'bobs-own-password-42', can_create_tokens: true },
      });
      expect(bob).toMatchObject({ username: 'bob', is_superuser: false, is_active: true });
      const weak = await rejection(admin.adminCreateUser({ body: { username: 'weak', password: 'short' } }));
      expect([weak.status, weak.code]).toEqual([400, 'VALIDATION_FAILED']);
      const taken = await rejection(
        admin.adminCreateUser({ body: { username: 'bob', password: 'another-password-42' } }),
      );
      expect([taken.status, taken.code]).toEqual([409, 'USERNAME_TAKEN']);

      const asBob = client({ basic: { username: 'bob', password: 'bobs-own-password-42' } });
      const { data: bobKey } = await asBob.createKey({ body: { name: 'bob-ci' } });
      const { data: bobs } = await admin.adminListKeys({ query: { user_id: bob.id } });
      expect(bobs.results.map((k) => k.id)).toEqual([bobKey.id]);
      await admin.adminDeactivateKey({ path: { key_id: bobKey.id } });
      expect((await rejection(client({ apiKey: bobKey.key }).whoami())).status).toBe(401);
      await admin.adminActivateKey({ path: { key_id: bobKey.id } });
      expect((await client({ apiKey: bobKey.key }).whoami()).data.user.id).toBe(bob.id);

      await admin.adminUpdateUser({ path: { user_id: bob.id }, body: { can_create_tokens: false } });
      const refused = await rejection(asBob.createKey({ body: { name: 'no more' } }));
      expect([refused.status, refused.code]).toEqual([403, 'KEY_CREATION_NOT_ALLOWED']);
      await admin.adminUpdateUser({ path: { user_id: bob.id }, body: { is_active: false } });
      expect((await rejection(client({ apiKey: bobKey.key }).whoami())).status).toBe(401);
      expect((await rejection(asBob.whoami())).status).toBe(401);

      const { data: me } = await admin.whoami();
      const last = await rejection(
        admin.adminUpdateUser({ path: { user_id: me.user.id }, body: { is_superuser: false } }),
      );
      expect([last.status, last.code]).toEqual([409, 'LAST_SUPERUSER']);
      const { data: users } = await admin.adminListUsers({ query: { is_active: false } });
      expect(users.results.map((u) => u.username)).toEqual(['bob']);

      const { data: created } = await admin.adminListAuditEvents({
        query: { action: 'key.created', actor_id: bob.id },
      });
      expect(created.results).toHaveLength(1);
      expect(created.results[0]).toMatchObject({
        action: 'key.created',
        outcome: 'success',
        actor_username: 'bob',
        target_type: 'key',
        target_id: bobKey.id,
        client_ip: '127.0.0.1',
      });
      const { data: all } = await admin.adminListAuditEvents({ query: { limit: 200 } });
      const actions = new Set(all.results.map((e) => e.action));
      for (const action of [
        'auth.login',
        'user.created',
        'key.created',
        'key.deactivated',
        'key.activated',
        'user.updated',
      ]) {
        expect(actions).toContain(action);
      }
      expect(JSON.stringify(all)).not.toContain(bobKey.key);
      expect(JSON.stringify(all)).not.toContain('bobs-own-password-42');

      await admin.adminDeleteUser({ path: { user_id: bob.id } });
      const gone = await rejection(admin.adminGetUser({ path: { user_id: bob.id } }));
      expect([gone.status, gone.code]).toEqual([404, 'USER_NOT_FOUND']);
      expect((await admin.adminListKeys({ query: { user_id: bob.id } })).data.count).toBe(0);
    });

    it('rate limits a key: headers count down, then a real 429 with Retry-After', async () => {
      const { admin, client } = await start({ rateLimit: 3 });
      const { data: key } = await admin.createKey({ body: { name: 'busy' } });
      const busy = client({ apiKey: key.key });
      const remaining: (string | null)[] = [];
      for (let i = 0; i < 3; i++)
        remaining.push((await busy.whoami()).response.headers.get('x-ratelimit-remaining'));
      expect(remaining).toEqual(['2', '1', '0']);
      expect(busy.rateLimit).toMatchObject({ limit: 3, remaining: 0 });
      const limited = await rejection(busy.whoami());
      expect(limited).toBeInstanceOf(RateLimitError);
      expect([limited.status, limited.code]).toEqual([429, 'RATE_LIMITED']);
      const retryAfter = Number(limited.response.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect((limited as RateLimitError).retryAfter).toBe(retryAfter);
      expect(limited.response.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/);
      // Another credential has its own quota.
      expect((await admin.whoami()).response.status).toBe(200);
    });

    it('locks an address out after failed authentications; a success before that forgets them', async () => {
      const { t, admin, client } = await start({ lockoutAttempts: 3 });
      const { data: key } = await admin.createKey({ body: { name: 'good' } });
      const good = client({ apiKey: key.key });
      const bad = client({ apiKey: `lk_${'A'.repeat(38)}` });
      for (let i = 0; i < 2; i++) expect((await rejection(bad.whoami())).status).toBe(401);
      await good.whoami();
      for (let i = 0; i < 2; i++) expect((await rejection(bad.whoami())).status).toBe(401);
      expect((await good.whoami()).response.status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await rejection(bad.whoami())).status).toBe(401);
      const locked = await rejection(good.whoami());
      expect([locked.status, locked.code]).toEqual([429, 'LOCKED_OUT']);
      expect(Number(locked.response.headers.get('retry-after'))).toBeGreaterThan(200);
      const login = await rejection(client().login({ body: ADMIN }));
      expect(login.code).toBe('LOCKED_OUT');
      await t.clearLockout('127.0.0.1');
      expect((await good.whoami()).response.status).toBe(200);
    });
  });
}

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { UserRecord } from '@latchkey/core';
import { CLI_ACTOR, generateKey } from '@latchkey/core';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, type LatchkeyApp } from '../src/app.js';
import { type DatabaseConfig, loadConfig } from '../src/config/config.js';
import { SECRETS_FILE } from '../src/secrets/secrets.js';
import { DIALECTS, type DialectName } from './support/dialects.js';
import { expectProblem, expectStatus } from './support/expect.js';
import {
  basic,
  describeEachDialect,
  PASSWORD,
  startTestServer,
  type TestServer,
} from './support/test-server.js';

// get_api_token / check_api_token, what the database holds, the hot path, and the secrets.

const KEY_SHAPE = /^lk_[0-9A-Za-z]{38}$/;
const DAY_MS = 86_400_000;
const HEX40 = '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c';

const breakChecksum = (key: string) => `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;

/** Every row of every table of the app's database (migration bookkeeping included), by table. */
async function dumpAllTables(app: LatchkeyApp): Promise<Record<string, unknown[]>> {
  const db = app.storage.db;
  const tables =
    app.storage.dialect === 'sqlite'
      ? sql<{ name: string }>`select name from sqlite_master where type = 'table' order by name`
      : sql<{
          name: string;
        }>`select table_name as name from information_schema.tables where table_schema = current_schema() order by table_name`;
  const out: Record<string, unknown[]> = {};
  for (const { name } of (await tables.execute(db)).rows) {
    out[name] = (await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(db)).rows;
  }
  return out;
}

describeEachDialect('get_api_token and check_api_token', (dialect) => {
  let s: TestServer;
  let users = 0;

  beforeAll(async () => {
    s = await startTestServer(dialect);
  });
  afterAll(() => s.close());

  async function newUser(flags: { canCreateTokens?: boolean } = {}): Promise<UserRecord> {
    users += 1;
    return s.createUser(`token-user-${users}`, flags);
  }

  const getApiToken = (username: string, password = PASSWORD) =>
    s.call('/api/v1/auth/get_api_token', { method: 'POST', json: { username, password } });

  const checkApiToken = (json: unknown) => s.call('/api/v1/auth/check_api_token', { method: 'POST', json });

  /** check_api_token's answer for a token, asserting it answered 200. */
  async function check(token: string): Promise<{ success: boolean; user_id: string | null }> {
    const r = await checkApiToken({ token });
    expectStatus(r, 200);
    return r.body;
  }

  const whoami = (key: string) => s.call('/api/v1/auth/whoami', { headers: { 'x-api-key': key } });

  it('issues a 30-day token, then returns the same one again', async () => {
    const user = await newUser();
    const first = await getApiToken(user.username);
    expectStatus(first, 200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.body.token).toMatch(KEY_SHAPE);
    expect(first.body.created_by_id).toBe(user.id);
    expect(Math.abs(Date.parse(first.body.created_at) - Date.now())).toBeLessThan(60_000);
    expect(Date.parse(first.body.expires) - Date.parse(first.body.created_at)).toBe(30 * DAY_MS);

    const second = await getApiToken(user.username);
    expectStatus(second, 200);
    expect(second.body).toEqual(first.body);

    const me = await whoami(first.body.token);
    expectStatus(me, 200);
    expect(me.body.user.id).toBe(user.id);
    expect(me.body.auth.token_id).toBe(first.body.id);
    expect(me.headers.get('x-auth-expires')).toBe(first.body.expires);

    // It is a normal key: it shows up in the owner's list, marked as issued by this endpoint.
    const list = await s.call('/api/v1/keys', { headers: { 'x-api-key': first.body.token } });
    expectStatus(list, 200);
    expect(list.body.count).toBe(1);
    expect(list.body.results[0]).toMatchObject({
      id: first.body.id,
      created_via: 'get_api_token',
      expires_at: first.body.expires,
      write_enabled: true,
    });
    expect(JSON.stringify(list.body)).not.toContain(first.body.token);
  });

  it('issues a new, different token once the old one is deactivated or expired', async () => {
    const user = await newUser();
    const first = (await getApiToken(user.username)).body;
    const off = await s.call(`/api/v1/keys/${first.id}/deactivate`, {
      method: 'POST',
      headers: { 'x-api-key': first.token },
    });
    expectStatus(off, 200);

    const second = await getApiToken(user.username);
    expectStatus(second, 200);
    expect(second.body.token).toMatch(KEY_SHAPE);
    expect(second.body.token).not.toBe(first.token);
    expect(second.body.id).not.toBe(first.id);
    expectProblem(await whoami(first.token), 401, 'AUTHENTICATION_FAILED');
    expectStatus(await whoami(second.body.token), 200);

    // A token issued 31 days ago has expired: it is not handed out again.
    const other = await newUser();
    const old = await s.app.services.keys.issueToken(CLI_ACTOR, other);
    await s.setExpiry(old.key.id, new Date(Date.now() - DAY_MS).toISOString());
    const fresh = await getApiToken(other.username);
    expectStatus(fresh, 200);
    expect(fresh.body.id).not.toBe(old.key.id);
    expect(fresh.body.token).not.toBe(old.plaintext);
    expect(Date.parse(fresh.body.expires)).toBeGreaterThan(Date.now() + 29 * DAY_MS);
  });

  it('gives each user their own token', async () => {
    const a = await newUser();
    const b = await newUser();
    const ta = (await getApiToken(a.username)).body;
    const tb = (await getApiToken(b.username)).body;
    expect(ta.token).not.toBe(tb.token);
    expect(tb.created_by_id).toBe(b.id);
    expect((await getApiToken(a.username)).body.token).toBe(ta.token);
  });

  it('hands simultaneous first callers one and the same token', async () => {
    const user = await newUser();
    const replies = await Promise.all(Array.from({ length: 8 }, () => getApiToken(user.username)));
    for (const r of replies) expectStatus(r, 200);
    expect(new Set(replies.map((r) => r.body.token)).size).toBe(1);
    const issued = await s.app.storage.db
      .selectFrom('api_keys')
      .select('id')
      .where('user_id', '=', user.id)
      .execute();
    expect(issued).toHaveLength(1);
  });

  it('refuses a wrong password, an unknown user and a user who may not create tokens', async () => {
    const user = await newUser();
    const wrong = await getApiToken(user.username, 'not-the-password-at-all');
    expectProblem(wrong, 401, 'AUTHENTICATION_FAILED');
    expect(wrong.headers.get('www-authenticate')).toBeTruthy();
    const unknown = await getApiToken('nobody-by-this-name');
    expectProblem(unknown, 401, 'AUTHENTICATION_FAILED');
    expect(unknown.body.detail).toBe(wrong.body.detail);
    expectProblem(
      await s.call('/api/v1/auth/get_api_token', { method: 'POST', json: { username: user.username } }),
      400,
      'VALIDATION_FAILED',
      'body.password',
    );

    const locked = await newUser({ canCreateTokens: false });
    expectProblem(await getApiToken(locked.username), 403, 'KEY_CREATION_NOT_ALLOWED');
    const list = await s.call('/api/v1/keys', { headers: { authorization: basic(locked.username) } });
    expectStatus(list, 200);
    expect(list.body.count).toBe(0);
  });

  it('check_api_token: success and owner for a valid key', async () => {
    const user = await newUser();
    const generated = await s.createKey(user);
    expect(await check(generated.key)).toEqual({ success: true, user_id: user.id });
    const issued = (await getApiToken(user.username)).body;
    expect(await check(issued.token)).toEqual({ success: true, user_id: user.id });
    const supplied = await s.app.services.keys.create(CLI_ACTOR, user, { name: 'netbox', key: HEX40 }, 'api');
    expect(await check(supplied.plaintext)).toEqual({ success: true, user_id: user.id });
  });

  it('check_api_token: no success and no owner for every kind of bad token', async () => {
    const user = await newUser();
    const refused = { success: false, user_id: null };

    const good = await s.createKey(user);
    expect(await check(generateKey('lk_'))).toEqual(refused);
    expect(await check(`${HEX40}ff`)).toEqual(refused);
    expect(await check('nope')).toEqual(refused);
    expect(await check('')).toEqual(refused);
    expect(await check(breakChecksum(good.key))).toEqual(refused);
    expect(await check(`${good.key}x`)).toEqual(refused);

    const expired = await s.createKey(user, { name: 'expired' });
    await s.setExpiry(expired.id, new Date(Date.now() - 3_540_000).toISOString());
    expect(await check(expired.key)).toEqual(refused);

    const deactivated = await s.createKey(user);
    await s.app.services.keys.setActive(CLI_ACTOR, user, deactivated.id, false);
    expect(await check(deactivated.key)).toEqual(refused);

    const deleted = await s.createKey(user);
    await s.app.services.keys.delete(CLI_ACTOR, user, deleted.id);
    expect(await check(deleted.key)).toEqual(refused);

    // The owner's deactivation ends every key of theirs.
    const gone = await newUser();
    const theirs = await s.createKey(gone);
    expect((await check(theirs.key)).success).toBe(true);
    await s.app.services.users.setActive(CLI_ACTOR, gone.id, false);
    expect(await check(theirs.key)).toEqual(refused);

    // The good key was never affected.
    expect(await check(good.key)).toEqual({ success: true, user_id: user.id });
  });

  it('check_api_token: 400 without a token field', async () => {
    expectProblem(await checkApiToken({}), 400, 'VALIDATION_FAILED', 'body.token');
    expectProblem(await checkApiToken({ key: 'x' }), 400, 'VALIDATION_FAILED');
    expectProblem(await checkApiToken({ token: 42 }), 400, 'VALIDATION_FAILED', 'body.token');
  });
});

describeEachDialect('what is stored', (dialect) => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer(dialect);
  });
  afterAll(() => s.close());

  it('holds no key, password or session cookie in the clear', async () => {
    const passwords = ['stored-password-alpha-1', 'stored-password-bravo-2'];
    const owner = await s.createUser('storage-owner', { password: passwords[0] });
    await s.createUser('storage-other', { password: passwords[1] });

    const login = await s.call('/api/v1/auth/login', {
      method: 'POST',
      json: { username: 'storage-owner', password: passwords[0] },
    });
    expectStatus(login, 200);
    const cookie = login.headers
      .getSetCookie()
      .map((c) => /^latchkey_session=([^;]+)/.exec(c)?.[1])
      .find(Boolean);
    expect(cookie).toBeTruthy();
    const auth = { authorization: `Bearer ${login.body.token}` };

    const generated = await s.call('/api/v1/keys', { method: 'POST', headers: auth, json: { name: 'gen' } });
    expectStatus(generated, 201);
    const supplied = await s.call('/api/v1/keys', {
      method: 'POST',
      headers: auth,
      json: { name: 'sup', key: HEX40 },
    });
    expectStatus(supplied, 201);
    const rotated = await s.call(`/api/v1/keys/${generated.body.id}/rotate`, {
      method: 'POST',
      headers: auth,
      json: { grace_seconds: 60 },
    });
    expectStatus(rotated, 201);
    const token = await s.call('/api/v1/auth/get_api_token', {
      method: 'POST',
      json: { username: 'storage-owner', password: passwords[0] },
    });
    expectStatus(token, 200);

    const keys = [generated.body.key, supplied.body.key, rotated.body.key, token.body.token] as string[];
    const secrets = [...keys, ...keys.map((k) => k.slice(7)), ...passwords, cookie!, login.body.token];

    const everything = await dumpAllTables(s.app);
    expect(Object.keys(everything)).toEqual(expect.arrayContaining(['users', 'api_keys', 'sessions']));
    const text = JSON.stringify(everything);
    for (const secret of secrets) expect(text, `the database holds ${secret}`).not.toContain(secret);

    const db = s.app.storage.db;
    const keyRows = await db.selectFrom('api_keys').selectAll().execute();
    expect(keyRows).toHaveLength(4);
    for (const row of keyRows) {
      expect(row.digest).toMatch(/^[0-9a-f]{64}$/);
      expect(row.pepper_id).toBeTruthy();
      expect(row.user_id).toBe(owner.id);
    }
    // Peppered: the digest is not the plain SHA-256 of any key.
    const plainHashes = keys.map((k) => createHash('sha256').update(k).digest('hex'));
    for (const row of keyRows) expect(plainHashes).not.toContain(row.digest);

    const sealed = keyRows.filter((r) => r.sealed_key !== null);
    expect(sealed.map((r) => r.id)).toEqual([token.body.id]);
    expect(sealed[0]!.created_via).toBe('get_api_token');
    expect(sealed[0]!.sealed_key).not.toBe(token.body.token);

    const userRows = await db.selectFrom('users').selectAll().execute();
    expect(userRows).toHaveLength(2);
    for (const row of userRows) expect(row.password_hash).toMatch(/^\$argon2id\$/);

    const sessionRows = await db.selectFrom('sessions').selectAll().execute();
    expect(sessionRows).toHaveLength(1);
    expect(sessionRows[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(sessionRows[0]!.digest).not.toBe(createHash('sha256').update(cookie!).digest('hex'));
  });
});

describeEachDialect('the hot path', (dialect) => {
  let s: TestServer;
  let user: UserRecord;

  beforeAll(async () => {
    // No background flush during these tests: only flushUsage() writes usage.
    s = await startTestServer(dialect, { LATCHKEY_USAGE_FLUSH_MS: '600000' });
    user = await s.createUser('hot-path');
  });
  afterAll(() => s.close());
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const whoami = (headers: Record<string, string>) => s.call('/api/v1/auth/whoami', { headers });

  it('refuses a malformed key or a bad checksum without reading the database', async () => {
    const good = await s.createKey(user);
    const find = vi.spyOn(s.app.services.store.keys, 'findByDigest');

    for (const bad of [breakChecksum(good.key), `${good.key}0`, 'lk_short', 'too-short-to-be-a-key']) {
      expectProblem(await whoami({ 'x-api-key': bad }), 401, 'AUTHENTICATION_FAILED');
      expectProblem(await whoami({ authorization: `Token ${bad}` }), 401, 'AUTHENTICATION_FAILED');
    }
    const checked = await s.call('/api/v1/auth/check_api_token', {
      method: 'POST',
      json: { token: breakChecksum(good.key) },
    });
    expectStatus(checked, 200);
    expect(checked.body.success).toBe(false);
    expect(find).not.toHaveBeenCalled();

    // A well-formed key costs exactly one lookup, even when nothing matches.
    expectProblem(await whoami({ 'x-api-key': generateKey('lk_') }), 401, 'AUTHENTICATION_FAILED');
    expect(find).toHaveBeenCalledTimes(1);
    expect(find.mock.calls[0]![0]).toMatch(/^[0-9a-f]{64}$/);
    expectStatus(await whoami({ 'x-api-key': good.key }), 200);
    expect(find).toHaveBeenCalledTimes(2);
  });

  it('writes nothing while authenticating; last use is written in a batch by flushUsage', async () => {
    const k = await s.createKey(user, { name: 'used' });
    const other = await s.createKey(user, { name: 'also used' });
    await s.app.flushUsage();
    const repo = s.app.services.store.keys;
    const writes = [
      vi.spyOn(repo, 'recordUsage'),
      vi.spyOn(repo, 'update'),
      vi.spyOn(repo, 'insert'),
      vi.spyOn(repo, 'delete'),
      vi.spyOn(s.app.services.store.users, 'update'),
      vi.spyOn(s.app.services.store.users, 'insert'),
    ];
    const before = await dumpAllTables(s.app);

    const credentials: Record<string, string>[] = [
      { 'x-api-key': k.key },
      { authorization: `Bearer ${k.key}` },
      { authorization: `Token ${k.key}` },
      { 'x-api-key': other.key },
    ];
    for (const headers of credentials) {
      expectStatus(await whoami(headers), 200);
      expectStatus(await s.call('/api/v1/keys', { headers }), 200);
    }
    const unflushed = await s.call(`/api/v1/keys/${k.id}`, { headers: { 'x-api-key': k.key } });
    expectStatus(unflushed, 200);
    expect(unflushed.body.last_used_at).toBeNull();
    expect(unflushed.body.last_used_ip).toBeNull();
    for (const spy of writes) expect(spy).not.toHaveBeenCalled();
    expect(await dumpAllTables(s.app)).toEqual(before);

    const flushedAt = Date.now();
    await s.app.flushUsage();
    const recordUsage = writes[0]!;
    expect(recordUsage).toHaveBeenCalledTimes(1);
    const batch = recordUsage.mock.calls[0]![0] as unknown as { id: string; ip: string }[];
    expect(batch.map((e) => e.id).sort()).toEqual([k.id, other.id].sort());

    const shown = await s.call(`/api/v1/keys/${k.id}`, { headers: { authorization: basic(user.username) } });
    expectStatus(shown, 200);
    expect(shown.body.last_used_ip).toBe('127.0.0.1');
    expect(shown.body.last_used_at).not.toBeNull();
    expect(Math.abs(Date.parse(shown.body.last_used_at) - flushedAt)).toBeLessThan(10_000);
    // Nothing left to write: a second flush does not touch the database.
    await s.app.flushUsage();
    expect(recordUsage).toHaveBeenCalledTimes(1);
  });
});

/** An app on a given data folder and database, as a restart would open it. */
async function openApp(dataDir: string, database: DatabaseConfig): Promise<LatchkeyApp> {
  const config = { ...loadConfig({ LATCHKEY_DATA_DIR: dataDir, LATCHKEY_LOG_LEVEL: 'silent' }), database };
  return createApp(config, { logger: pino({ level: 'silent' }) });
}

/** whoami over HTTP against an app that is not otherwise listening. */
async function whoamiStatus(app: LatchkeyApp, key: string): Promise<number> {
  const server = app.koa.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/auth/whoami`, { headers: { 'x-api-key': key } });
    await res.arrayBuffer();
    return res.status;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describeEachDialect('secrets', (dialect: DialectName) => {
  it('generates secrets.json with mode 0600 in the data folder', async () => {
    const s = await startTestServer(dialect);
    try {
      const file = path.join(s.app.config.dataDir, SECRETS_FILE);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const stored = JSON.parse(readFileSync(file, 'utf8'));
      expect(typeof stored.pepper).toBe('string');
      expect(stored.pepper.length).toBeGreaterThanOrEqual(32);
      expect(typeof stored.jwt_secret).toBe('string');
      expect(stored.jwt_secret).not.toBe(stored.pepper);
    } finally {
      await s.close();
    }
  });

  describe('across a restart', () => {
    const dirs: string[] = [];
    let dropDatabase = async () => {};
    afterAll(async () => {
      await dropDatabase();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });
    const tempDir = () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-restart-'));
      dirs.push(dir);
      return dir;
    };

    it('reuses the secrets of the data folder, so keys, tokens and logins survive', async () => {
      const dataDir = tempDir();
      let database: DatabaseConfig;
      if (dialect === 'sqlite') {
        database = { kind: 'sqlite', file: path.join(tempDir(), 'latchkey.db') };
      } else {
        const fresh = await DIALECTS.find((d) => d.name === 'postgres')!.fresh();
        database = fresh.database;
        dropDatabase = fresh.drop;
      }

      const first = await openApp(dataDir, database);
      let key: { id: string; plaintext: string };
      let token: string;
      let jwt: string;
      try {
        const user = await first.services.users.create(CLI_ACTOR, {
          username: 'restart',
          password: PASSWORD,
        });
        const created = await first.services.keys.create(CLI_ACTOR, user, { name: 'survivor' }, 'api');
        key = { id: created.key.id, plaintext: created.plaintext };
        token = (await first.services.keys.issueToken(CLI_ACTOR, user)).plaintext;
        jwt = (await first.services.sessions.login(user, '127.0.0.1')).jwt;
        expect(await whoamiStatus(first, key.plaintext)).toBe(200);
      } finally {
        await first.close();
      }
      const secretsFile = path.join(dataDir, SECRETS_FILE);
      const secretsBefore = readFileSync(secretsFile, 'utf8');

      const second = await openApp(dataDir, database);
      try {
        expect(readFileSync(secretsFile, 'utf8')).toBe(secretsBefore);
        expect(await whoamiStatus(second, key.plaintext)).toBe(200);
        const verified = await second.services.keys.verify(key.plaintext);
        expect(verified.ok && verified.key.id).toBe(key.id);
        const user = (await second.services.store.users.findByUsername('restart'))!;
        expect((await second.services.keys.issueToken(CLI_ACTOR, user)).plaintext).toBe(token);
        expect(await second.services.sessions.verifyJwt(jwt)).toBeTruthy();
      } finally {
        await second.close();
      }

      // Other secrets on the same database: nothing of the first verifies any more.
      const stranger = await openApp(tempDir(), database);
      try {
        expect(await whoamiStatus(stranger, key.plaintext)).toBe(401);
        expect((await stranger.services.keys.verify(key.plaintext)).ok).toBe(false);
        const user = (await stranger.services.store.users.findByUsername('restart'))!;
        expect((await stranger.services.keys.issueToken(CLI_ACTOR, user)).plaintext).not.toBe(token);
        expect(await stranger.services.sessions.verifyJwt(jwt)).toBeFalsy();
      } finally {
        await stranger.close();
      }
    });
  });
});

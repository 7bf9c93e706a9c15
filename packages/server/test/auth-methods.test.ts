import { randomBytes } from 'node:crypto';
import type { UserRecord } from '@latchkey/core';
import { CLI_ACTOR, generateKey } from '@latchkey/core';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus, type Reply } from './support/expect.js';
import {
  basic,
  describeEachDialect,
  PASSWORD,
  startTestServer,
  type TestServer,
} from './support/test-server.js';

// Integration tests of the six authentication methods (DESIGN.md "Authentication methods"),
// run against a real server on SQLite and on Postgres. Every response is also checked
// against openapi.yaml by the harness, so each test asserts its status first.

type HeaderMap = Record<string, string>;
/** One way of calling: a label for the failure message, the path and the headers. */
type Attempt = [label: string, path: string, headers: HeaderMap];

const WHOAMI = '/api/v1/auth/whoami';
const KEYS = '/api/v1/keys';
const LOGIN = '/api/v1/auth/login';
const LOGOUT = '/api/v1/auth/logout';
const META = '/meta';
const SESSION_COOKIE = 'latchkey_session';
const CSRF_COOKIE = 'latchkey_csrf';
const EVERY_METHOD = [
  'HeaderTokenAuth',
  'BearerTokenAuth',
  'JwtAuth',
  'TokenAuth',
  'QueryParamTokenAuth',
  'BasicAuth',
  'SessionAuth',
];

// ---------------------------------------------------------------------------------------
// Credentials, as a client would send them.

const cred = {
  apiKey: (key: string, header = 'X-API-Key'): HeaderMap => ({ [header]: key }),
  bearer: (value: string): HeaderMap => ({ Authorization: `Bearer ${value}` }),
  token: (key: string): HeaderMap => ({ Authorization: `Token ${key}` }),
  basic: (username: string, password = PASSWORD): HeaderMap => ({ Authorization: basic(username, password) }),
  cookie: (value: string): HeaderMap => ({ Cookie: `${SESSION_COOKIE}=${value}` }),
  csrf: (value: string): HeaderMap => ({ 'X-CSRF-Token': value }),
};

const withQueryKey = (path: string, key: string) =>
  `${path}${path.includes('?') ? '&' : '?'}api_key=${encodeURIComponent(key)}`;

/** A well-formed key whose checksum no longer matches: one checksum character changed. */
function breakChecksum(key: string): string {
  const last = key.slice(-1);
  return key.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}

// ---------------------------------------------------------------------------------------
// Requests.

let seq = 0;
const uniqueName = (prefix: string) => `${prefix}-${++seq}`;

const newUser = (s: TestServer, prefix = 'user', flags?: Parameters<TestServer['createUser']>[1]) =>
  s.createUser(uniqueName(prefix), flags);

const get = (s: TestServer, path: string, headers: HeaderMap = {}) => s.call(path, { headers });

const whoami = (s: TestServer, headers: HeaderMap = {}) => get(s, WHOAMI, headers);

const createKeyVia = (s: TestServer, headers: HeaderMap, json: unknown, path = KEYS) =>
  s.call(path, { method: 'POST', headers, json });

interface Login {
  reply: Reply;
  jwt: string;
  csrf: string;
  cookie: string;
  sessionId: string;
  expiresAt: string;
}

function jwtClaims(jwt: string): { sid?: unknown; sub?: unknown; exp?: unknown } {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

interface SetCookie {
  value: string;
  /** Attribute names in lower case, mapped to their value ('' for flags such as HttpOnly). */
  attributes: Map<string, string>;
}

function readSetCookie(headers: Headers, name: string): SetCookie | undefined {
  for (const line of headers.getSetCookie()) {
    const [pair = '', ...attrs] = line.split(';').map((p) => p.trim());
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq) !== name) continue;
    const attributes = new Map<string, string>();
    for (const a of attrs) {
      const i = a.indexOf('=');
      if (i < 0) attributes.set(a.toLowerCase(), '');
      else attributes.set(a.slice(0, i).toLowerCase(), a.slice(i + 1));
    }
    return { value: pair.slice(eq + 1), attributes };
  }
  return undefined;
}

async function login(s: TestServer, username: string, password = PASSWORD): Promise<Login> {
  const reply = await s.call(LOGIN, { method: 'POST', json: { username, password } });
  expectStatus(reply, 200);
  const cookie = readSetCookie(reply.headers, SESSION_COOKIE)?.value;
  expect(cookie, 'login sets the session cookie').toBeTruthy();
  const jwt: string = reply.body.token;
  return {
    reply,
    jwt,
    csrf: reply.body.csrf_token,
    cookie: cookie as string,
    sessionId: String(jwtClaims(jwt).sid),
    expiresAt: reply.body.expires_at,
  };
}

// ---------------------------------------------------------------------------------------
// What is stored.

const db = (s: TestServer) => s.app.storage.db;

const sessionRows = (s: TestServer, userId: string) =>
  db(s).selectFrom('sessions').selectAll().where('user_id', '=', userId).execute();

async function keyCount(s: TestServer, userId: string): Promise<number> {
  const rows = await db(s).selectFrom('api_keys').select('id').where('user_id', '=', userId).execute();
  return rows.length;
}

const keyRow = (s: TestServer, id: string) =>
  db(s).selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();

// ---------------------------------------------------------------------------------------
// Assertions.

const expectNoContent = (r: Reply) => {
  expectStatus(r, 204);
  expect(r.body).toBe('');
};

/** No identity headers on a response that did not authenticate anyone. */
function expectNoIdentity(r: Reply): void {
  for (const name of ['x-auth-method', 'x-auth-token-id', 'x-auth-user-id', 'x-auth-user-username']) {
    expect(r.headers.get(name), name).toBeNull();
  }
}

/** A presented credential that is unknown, wrong, expired or revoked. */
function expectRejected(r: Reply): void {
  expectProblem(r, 401, 'AUTHENTICATION_FAILED');
  const challenge = r.headers.get('www-authenticate') ?? '';
  expect(challenge).toMatch(/\bBearer realm="latchkey"/);
  expect(challenge).toContain('error="invalid_token"');
  expectNoIdentity(r);
}

function expectMissing(r: Reply): void {
  expectProblem(r, 401, 'AUTHENTICATION_REQUIRED');
  expect(r.headers.get('www-authenticate')).toMatch(/\bBearer realm="latchkey"/);
  expectNoIdentity(r);
}

function expectFieldErrors(r: Reply, fields: string[]): void {
  expectProblem(r, 400, 'VALIDATION_FAILED');
  const named = (r.body.errors as { field: string }[]).map((e) => e.field);
  for (const field of fields) expect(named).toContain(field);
}

interface Identity {
  method: string;
  user: UserRecord;
  tokenId: string | null;
  expiresAt: string | null;
  writeEnabled?: boolean;
}

/** The five X-Auth-* headers of an authenticated response. */
function expectIdentity(r: Reply, want: Identity): void {
  expectStatus(r, 200);
  const h = (name: string) => r.headers.get(name);
  expect({
    method: h('x-auth-method'),
    expires: h('x-auth-expires'),
    tokenId: h('x-auth-token-id'),
    userId: h('x-auth-user-id'),
    username: h('x-auth-user-username'),
  }).toEqual({
    method: want.method,
    expires: want.expiresAt ?? 'never',
    tokenId: want.tokenId ?? 'none',
    userId: want.user.id,
    username: want.user.username,
  });
}

/** The headers, and the whoami body that says the same thing. */
function expectWhoami(r: Reply, want: Identity): void {
  expectIdentity(r, want);
  expect(r.body.user).toMatchObject({ id: want.user.id, username: want.user.username, is_active: true });
  expect(r.body.auth).toEqual({
    method: want.method,
    token_id: want.tokenId,
    expires_at: want.expiresAt,
    write_enabled: want.writeEnabled ?? true,
  });
}

// ---------------------------------------------------------------------------------------

describeEachDialect('authentication methods', (dialect) => {
  describe('default configuration', () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(dialect);
    });
    afterAll(() => s.close());

    describe('each method identifies the caller and says how', () => {
      it('X-API-Key: HeaderTokenAuth, the key id, and "never" for a key without expiry', async () => {
        const user = await newUser(s);
        const { id, key } = await s.createKey(user);
        const r = await whoami(s, cred.apiKey(key));
        expectWhoami(r, { method: 'HeaderTokenAuth', user, tokenId: id, expiresAt: null });
        expect(r.headers.get('cache-control') ?? '').not.toContain('no-store');
      });

      it('X-Auth-Expires is the ISO expiry of a key that has one', async () => {
        const user = await newUser(s);
        const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
        const { id, key } = await s.createKey(user, { expires_at: expiresAt });
        expectWhoami(await whoami(s, cred.apiKey(key)), {
          method: 'HeaderTokenAuth',
          user,
          tokenId: id,
          expiresAt,
        });
        expectIdentity(await whoami(s, cred.token(key)), {
          method: 'TokenAuth',
          user,
          tokenId: id,
          expiresAt,
        });
      });

      it('Authorization: Bearer <key>: BearerTokenAuth (the scheme name is case-insensitive)', async () => {
        const user = await newUser(s);
        const { id, key } = await s.createKey(user);
        const want = { method: 'BearerTokenAuth', user, tokenId: id, expiresAt: null };
        expectWhoami(await whoami(s, cred.bearer(key)), want);
        expectWhoami(await whoami(s, { Authorization: `bearer ${key}` }), want);
      });

      it('Authorization: Bearer <supplied key containing dots>: still BearerTokenAuth, not a JWT', async () => {
        // The contract lets a caller supply a key with "." in it (to restore one); such a key
        // can have the three dot-separated parts of a JWT and must still work as a key.
        const user = await newUser(s);
        const { key: helper } = await s.createKey(user);
        const supplied = `restored.key.${randomBytes(16).toString('hex')}`;
        const created = await createKeyVia(s, cred.apiKey(helper), { name: 'restored', key: supplied });
        expectStatus(created, 201);
        expectWhoami(await whoami(s, cred.bearer(supplied)), {
          method: 'BearerTokenAuth',
          user,
          tokenId: created.body.id,
          expiresAt: null,
        });
      });

      it('Authorization: Bearer <login JWT>: JwtAuth, the session id and the login expiry', async () => {
        const user = await newUser(s);
        const l = await login(s, user.username);
        const [row] = await sessionRows(s, user.id);
        expect(row?.id).toBe(l.sessionId);
        expectWhoami(await whoami(s, cred.bearer(l.jwt)), {
          method: 'JwtAuth',
          user,
          tokenId: l.sessionId,
          expiresAt: l.expiresAt,
        });
      });

      it('Authorization: Token <key>: TokenAuth (NetBox style)', async () => {
        const user = await newUser(s);
        const { id, key } = await s.createKey(user);
        expectWhoami(await whoami(s, cred.token(key)), {
          method: 'TokenAuth',
          user,
          tokenId: id,
          expiresAt: null,
        });
      });

      it('?api_key=: QueryParamTokenAuth, and the response is marked private, no-store', async () => {
        const user = await newUser(s);
        const { id, key } = await s.createKey(user);
        const r = await get(s, withQueryKey(WHOAMI, key));
        expectWhoami(r, { method: 'QueryParamTokenAuth', user, tokenId: id, expiresAt: null });
        expect(r.headers.get('cache-control')).toBe('private, no-store');

        const list = await s.call(withQueryKey(`${KEYS}?limit=1`, key));
        expectIdentity(list, { method: 'QueryParamTokenAuth', user, tokenId: id, expiresAt: null });
        expect(list.headers.get('cache-control')).toBe('private, no-store');
        expect(list.body.count).toBe(1);
      });

      it('Basic: BasicAuth, X-Auth-Token-Id "none" and X-Auth-Expires "never"', async () => {
        const user = await newUser(s);
        expectWhoami(await whoami(s, cred.basic(user.username)), {
          method: 'BasicAuth',
          user,
          tokenId: null,
          expiresAt: null,
        });
      });

      it('the latchkey_session cookie: SessionAuth, the same session as the login JWT', async () => {
        const user = await newUser(s);
        const l = await login(s, user.username);
        expectWhoami(await whoami(s, cred.cookie(l.cookie)), {
          method: 'SessionAuth',
          user,
          tokenId: l.sessionId,
          expiresAt: l.expiresAt,
        });
      });
    });

    describe('login', () => {
      it('sets an HttpOnly SameSite=Lax session cookie, a readable CSRF cookie, and no-store', async () => {
        const user = await newUser(s);
        const before = Date.now();
        const l = await login(s, user.username);
        const { reply } = l;
        expect(reply.headers.get('cache-control')).toBe('no-store');
        expect(reply.body).toMatchObject({
          token_type: 'Bearer',
          user: { id: user.id, username: user.username },
        });

        const session = readSetCookie(reply.headers, SESSION_COOKIE);
        expect(session?.attributes.has('httponly')).toBe(true);
        expect(session?.attributes.get('samesite')?.toLowerCase()).toBe('lax');
        expect(session?.attributes.get('path')).toBe('/');

        const csrf = readSetCookie(reply.headers, CSRF_COOKIE);
        expect(csrf?.value).toBe(l.csrf);
        expect(csrf?.attributes.has('httponly')).toBe(false);
        expect(csrf?.attributes.get('samesite')?.toLowerCase()).toBe('lax');

        // 7 days by default, for the JWT, the body and the stored session alike.
        const expires = Date.parse(l.expiresAt);
        expect(expires - before).toBeGreaterThan(7 * 86_400_000 - 60_000);
        expect(expires - before).toBeLessThan(7 * 86_400_000 + 60_000);
        expect(jwtClaims(l.jwt)).toMatchObject({ sub: user.id, exp: Math.floor(expires / 1000) });

        const rows = await sessionRows(s, user.id);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ id: l.sessionId, expires_at: l.expiresAt, csrf_token: l.csrf });
        // The cookie itself is not stored, only a digest of it.
        expect(rows[0]?.digest).not.toContain(l.cookie);
      });

      it('a wrong password or an unknown user: the same 401, no session and no cookie', async () => {
        const user = await newUser(s);
        const wrong = await s.call(LOGIN, {
          method: 'POST',
          json: { username: user.username, password: 'not-the-password-1' },
        });
        const unknown = await s.call(LOGIN, {
          method: 'POST',
          json: { username: uniqueName('nobody'), password: PASSWORD },
        });
        for (const r of [wrong, unknown]) {
          expectRejected(r);
          expect(r.headers.getSetCookie()).toEqual([]);
        }
        // Apart from the id of each request, nothing tells the cases apart.
        expect({ ...unknown.body, request_id: 'x' }).toEqual({ ...wrong.body, request_id: 'x' });
        expect(await sessionRows(s, user.id)).toEqual([]);
      });

      it('a missing or an extra field: 400 VALIDATION_FAILED naming it', async () => {
        const user = await newUser(s);
        const missing = await s.call(LOGIN, { method: 'POST', json: { username: user.username } });
        expectFieldErrors(missing, ['body.password']);
        const extra = await s.call(LOGIN, {
          method: 'POST',
          json: { username: user.username, password: PASSWORD, remember_me: true },
        });
        expectFieldErrors(extra, ['body.remember_me']);
        const empty = await s.call(LOGIN, { method: 'POST', json: { username: '', password: PASSWORD } });
        expectFieldErrors(empty, ['body.username']);
        expect(await sessionRows(s, user.id)).toEqual([]);
      });

      it('malformed JSON: 400 MALFORMED_JSON', async () => {
        const r = await s.call(LOGIN, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"username": "alice", "password": ',
        });
        expectProblem(r, 400, 'MALFORMED_JSON');
      });

      const textPlainLogin = (username: string) =>
        s.call(LOGIN, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({ username, password: PASSWORD }),
        });

      it('a text/plain body logs nobody in (415)', async () => {
        const user = await newUser(s);
        const r = await textPlainLogin(user.username);
        expectStatus(r, 415);
        expect(r.headers.getSetCookie()).toEqual([]);
        expect(await sessionRows(s, user.id)).toEqual([]);
      });

      it('a text/plain body: 415 UNSUPPORTED_MEDIA_TYPE as the contract would say', async () => {
        const user = await newUser(s);
        expectProblem(await textPlainLogin(user.username), 415, 'UNSUPPORTED_MEDIA_TYPE');
      });
    });

    describe('401: missing or bad credentials', () => {
      it('no credential: AUTHENTICATION_REQUIRED with a challenge for each scheme', async () => {
        for (const path of [WHOAMI, KEYS]) {
          const r = await get(s, path);
          expectMissing(r);
          const challenge = r.headers.get('www-authenticate') ?? '';
          expect(challenge).toContain('Token realm="latchkey"');
          expect(challenge).toContain('Basic realm="latchkey"');
          expect(challenge).not.toContain('error=');
        }
        // A key header this server was not configured for is not a credential at all.
        const user = await newUser(s);
        const { key } = await s.createKey(user);
        expectMissing(await whoami(s, cred.apiKey(key, 'X-ArchiveBox-API-Key')));
      });

      it('unknown user, wrong password, unknown key and deactivated key all get the same 401', async () => {
        const user = await newUser(s);
        const { id, key } = await s.createKey(user);
        const { key: helper } = await s.createKey(user, { name: 'helper' });
        expectStatus(
          await s.call(`${KEYS}/${id}/deactivate`, { method: 'POST', headers: cred.apiKey(helper) }),
          200,
        );

        const replies: [string, Reply][] = [
          ['unknown user', await whoami(s, cred.basic(uniqueName('nobody')))],
          ['wrong password', await whoami(s, cred.basic(user.username, 'not-the-password-1'))],
          ['unknown key', await whoami(s, cred.apiKey(generateKey('lk_')))],
          ['deactivated key', await whoami(s, cred.apiKey(key))],
          ['deactivated key as Bearer', await whoami(s, cred.bearer(key))],
          ['deactivated key as Token', await whoami(s, cred.token(key))],
          ['deactivated key as ?api_key', await get(s, withQueryKey(WHOAMI, key))],
        ];
        const [, first] = replies[0]!;
        expect(first.body.title).toEqual(expect.any(String));
        for (const [label, r] of replies) {
          expectRejected(r);
          // Same code, title, detail (and everything else but the request's id): nothing tells the cases apart.
          expect({ ...r.body, request_id: 'x' }, label).toEqual({ ...first.body, request_id: 'x' });
          expect(r.headers.get('www-authenticate'), label).toBe(first.headers.get('www-authenticate'));
        }

        // The deactivated key was refused for being deactivated: activated again, it works.
        expectStatus(
          await s.call(`${KEYS}/${id}/activate`, { method: 'POST', headers: cred.apiKey(helper) }),
          200,
        );
        expectIdentity(await whoami(s, cred.apiKey(key)), {
          method: 'HeaderTokenAuth',
          user,
          tokenId: id,
          expiresAt: null,
        });
      });

      it('an expired key is refused', async () => {
        const user = await newUser(s);
        const { id, key } = await s.createKey(user, {
          expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        });
        expectStatus(await whoami(s, cred.apiKey(key)), 200);
        await db(s)
          .updateTable('api_keys')
          .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
          .where('id', '=', id)
          .execute();
        expectRejected(await whoami(s, cred.apiKey(key)));
        expectRejected(await whoami(s, cred.token(key)));
      });

      it('a deleted key is refused at once', async () => {
        const user = await newUser(s);
        const { id, key } = await s.createKey(user);
        expectStatus(await whoami(s, cred.apiKey(key)), 200);
        expectNoContent(await s.call(`${KEYS}/${id}`, { method: 'DELETE', headers: cred.apiKey(key) }));
        expect(await keyRow(s, id)).toBeUndefined();
        expectRejected(await whoami(s, cred.apiKey(key)));
        expectRejected(await whoami(s, cred.bearer(key)));
      });

      it('malformed keys and keys with a bad checksum are refused', async () => {
        const user = await newUser(s);
        const { key } = await s.createKey(user);
        expect(breakChecksum(key)).not.toBe(key);
        for (const bad of [
          'lk_garbage',
          `lk_${'!'.repeat(38)}`,
          `lk_${'a'.repeat(60)}`,
          breakChecksum(key),
          breakChecksum(generateKey('lk_')),
          'short',
          '',
        ]) {
          expectRejected(await whoami(s, cred.apiKey(bad)));
        }
        expectRejected(await whoami(s, cred.token(breakChecksum(key))));
        expectRejected(await get(s, withQueryKey(WHOAMI, 'lk_garbage')));
      });

      it('a garbage, tampered or forged JWT is refused', async () => {
        const user = await newUser(s);
        const l = await login(s, user.username);
        const [header, payload, signature] = l.jwt.split('.') as [string, string, string];
        const otherPayload = Buffer.from(
          JSON.stringify({ ...jwtClaims(l.jwt), sub: 'someone-else' }),
        ).toString('base64url');
        const forged = await new SignJWT({ sid: l.sessionId })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .setSubject(user.id)
          .setIssuer('latchkey')
          .setAudience('latchkey-api')
          .setIssuedAt()
          .setExpirationTime('1h')
          .setJti(l.sessionId)
          .sign(randomBytes(32));
        for (const bad of [
          'aaa.bbb.ccc',
          `${header}.${otherPayload}.${signature}`,
          `${header}.${payload}.${signature.slice(0, -2)}xx`,
          forged,
        ]) {
          expectRejected(await whoami(s, cred.bearer(bad)));
        }
        // The real one still works: the refusals were about the tokens.
        expectStatus(await whoami(s, cred.bearer(l.jwt)), 200);
      });

      it('an unknown session cookie, and an expired login, are refused', async () => {
        expectRejected(await whoami(s, cred.cookie(randomBytes(32).toString('base64url'))));
        const user = await newUser(s);
        const l = await login(s, user.username);
        await db(s)
          .updateTable('sessions')
          .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
          .where('id', '=', l.sessionId)
          .execute();
        expectRejected(await whoami(s, cred.bearer(l.jwt)));
        expectRejected(await whoami(s, cred.cookie(l.cookie)));
      });

      it('an Authorization header of an unknown scheme is refused, not ignored', async () => {
        expectRejected(await whoami(s, { Authorization: 'Digest username="alice"' }));
        expectRejected(await whoami(s, { Authorization: 'Basic not-base64!' }));
      });
    });

    describe('one credential per request', () => {
      it('X-API-Key with Authorization: Token: 400 MULTIPLE_CREDENTIALS naming both', async () => {
        const user = await newUser(s);
        const { key } = await s.createKey(user);
        const r = await get(s, KEYS, { ...cred.apiKey(key), ...cred.token(key) });
        expectProblem(r, 400, 'MULTIPLE_CREDENTIALS');
        expect(r.body.detail).toContain('X-API-Key');
        expect(r.body.detail).toContain('Authorization: Token');
        expectNoIdentity(r);
      });

      it('X-API-Key with ?api_key=: 400, even for the same valid key, and even when one is bad', async () => {
        const user = await newUser(s);
        const { key } = await s.createKey(user);
        const same = await get(s, withQueryKey(KEYS, key), cred.apiKey(key));
        expectProblem(same, 400, 'MULTIPLE_CREDENTIALS');
        expect(same.body.detail).toContain('?api_key');
        const oneBad = await get(s, withQueryKey(KEYS, 'lk_garbage'), cred.apiKey(key));
        expectProblem(oneBad, 400, 'MULTIPLE_CREDENTIALS');
        const basicAndQuery = await get(s, withQueryKey(KEYS, key), cred.basic(user.username));
        expectProblem(basicAndQuery, 400, 'MULTIPLE_CREDENTIALS');
      });

      it('two credentials on whoami: 400 MULTIPLE_CREDENTIALS as the contract would say', async () => {
        const user = await newUser(s);
        const { key } = await s.createKey(user);
        expectProblem(
          await whoami(s, { ...cred.apiKey(key), ...cred.token(key) }),
          400,
          'MULTIPLE_CREDENTIALS',
        );
      });

      it('two credentials on a write change nothing', async () => {
        const user = await newUser(s);
        const { key } = await s.createKey(user);
        const before = await keyCount(s, user.id);
        const r = await createKeyVia(s, { ...cred.apiKey(key), ...cred.bearer(key) }, { name: 'twice' });
        expectProblem(r, 400, 'MULTIPLE_CREDENTIALS');
        expect(await keyCount(s, user.id)).toBe(before);
      });

      it('the session cookie yields to an explicit credential (documented choice)', async () => {
        const alice = await newUser(s, 'alice');
        const bob = await newUser(s, 'bob');
        const l = await login(s, alice.username);
        const { id, key } = await s.createKey(bob);

        // The explicit key wins over the ambient cookie: the caller is bob.
        expectWhoami(await whoami(s, { ...cred.cookie(l.cookie), ...cred.apiKey(key) }), {
          method: 'HeaderTokenAuth',
          user: bob,
          tokenId: id,
          expiresAt: null,
        });
        // Without falling back to the cookie when the explicit credential is bad.
        expectRejected(await whoami(s, { ...cred.cookie(l.cookie), ...cred.apiKey(generateKey('lk_')) }));

        // A write with the key needs no CSRF token, and lands on bob's account.
        const aliceBefore = await keyCount(s, alice.id);
        const created = await createKeyVia(
          s,
          { ...cred.cookie(l.cookie), ...cred.apiKey(key) },
          { name: 'bobs' },
        );
        expectStatus(created, 201);
        expect(created.body.user_id).toBe(bob.id);
        expect(await keyCount(s, alice.id)).toBe(aliceBefore);
      });
    });

    describe('403: valid, but not allowed', () => {
      it('a read-only key may read but not write, action endpoints included', async () => {
        const user = await newUser(s);
        const { id, key } = await s.createKey(user, { write_enabled: false });
        const before = await keyCount(s, user.id);

        const created = await createKeyVia(s, cred.apiKey(key), { name: 'nope' });
        expectProblem(created, 403, 'KEY_READ_ONLY');
        expect(created.body.detail).toMatch(/read-only/);
        expect(created.body.detail).toMatch(/write_enabled/);
        expectProblem(
          await s.call(`${KEYS}/${id}/deactivate`, { method: 'POST', headers: cred.apiKey(key) }),
          403,
          'KEY_READ_ONLY',
        );
        expectProblem(
          await s.call(`${KEYS}/${id}`, { method: 'DELETE', headers: cred.token(key) }),
          403,
          'KEY_READ_ONLY',
        );
        expect(await keyCount(s, user.id)).toBe(before);
        expect(await keyRow(s, id)).toMatchObject({ is_active: 1 });

        const list = await s.call(KEYS, { headers: cred.apiKey(key) });
        expectStatus(list, 200);
        expect(list.body.count).toBe(before);
        expectStatus(await s.call(`${KEYS}/${id}`, { headers: cred.apiKey(key) }), 200);
        expectWhoami(await whoami(s, cred.apiKey(key)), {
          method: 'HeaderTokenAuth',
          user,
          tokenId: id,
          expiresAt: null,
          writeEnabled: false,
        });
      });

      it('the session cookie on an unsafe method needs the X-CSRF-Token given at login', async () => {
        const user = await newUser(s);
        const l = await login(s, user.username);
        const other = await login(s, user.username);
        const before = await keyCount(s, user.id);

        for (const headers of [
          cred.cookie(l.cookie),
          { ...cred.cookie(l.cookie), ...cred.csrf('wrong') },
          { ...cred.cookie(l.cookie), ...cred.csrf(other.csrf) },
        ]) {
          const r = await createKeyVia(s, headers, { name: 'csrf' });
          expectProblem(r, 403, 'CSRF_FAILED');
          expect(r.body.detail).toContain('X-CSRF-Token');
        }
        expect(await keyCount(s, user.id)).toBe(before);

        // Reads need no token.
        expectStatus(await s.call(KEYS, { headers: cred.cookie(l.cookie) }), 200);

        const ok = await createKeyVia(
          s,
          { ...cred.cookie(l.cookie), ...cred.csrf(l.csrf) },
          { name: 'csrf' },
        );
        expectStatus(ok, 201);
        expect(ok.headers.get('x-auth-method')).toBe('SessionAuth');
        expect(await keyCount(s, user.id)).toBe(before + 1);

        // The login JWT is not ambient, so it needs no CSRF token.
        const withJwt = await createKeyVia(s, cred.bearer(l.jwt), { name: 'jwt' });
        expectStatus(withJwt, 201);
        expect(withJwt.headers.get('x-auth-method')).toBe('JwtAuth');
      });

      it('a key limited to other addresses: 403 IP_NOT_ALLOWED; limited to 127.0.0.1 it works', async () => {
        const user = await newUser(s);
        const elsewhere = await s.createKey(user, { allowed_ips: ['10.0.0.0/8'] });
        const here = await s.createKey(user, { allowed_ips: ['127.0.0.1'] });

        const refused = await whoami(s, cred.apiKey(elsewhere.key));
        expectProblem(refused, 403, 'IP_NOT_ALLOWED');
        expect(refused.body.detail).toContain('127.0.0.1');
        expect(refused.body.detail).toContain('10.0.0.0/8');
        expectProblem(await get(s, withQueryKey(WHOAMI, elsewhere.key)), 403, 'IP_NOT_ALLOWED');

        expectIdentity(await whoami(s, cred.apiKey(here.key)), {
          method: 'HeaderTokenAuth',
          user,
          tokenId: here.id,
          expiresAt: null,
        });

        // Only the accepted use is recorded.
        await s.app.flushUsage();
        expect(await keyRow(s, elsewhere.id)).toMatchObject({ last_used_at: null, last_used_ip: null });
        expect(await keyRow(s, here.id)).toMatchObject({ last_used_ip: '127.0.0.1' });
      });
    });

    describe('logout', () => {
      it('with the JWT: 204, the cookies are cleared, and the JWT and the cookie both stop working', async () => {
        const user = await newUser(s);
        const l = await login(s, user.username);
        expectStatus(await whoami(s, cred.cookie(l.cookie)), 200);

        const out = await s.call(LOGOUT, { method: 'POST', headers: cred.bearer(l.jwt) });
        expectNoContent(out);
        for (const name of [SESSION_COOKIE, CSRF_COOKIE]) {
          const cleared = readSetCookie(out.headers, name);
          expect(cleared?.value, name).toBe('');
          expect(Date.parse(cleared?.attributes.get('expires') ?? '')).toBeLessThan(Date.now());
        }

        expectRejected(await whoami(s, cred.bearer(l.jwt)));
        expectRejected(await whoami(s, cred.cookie(l.cookie)));
        expect(await sessionRows(s, user.id)).toEqual([]);
        // Logging out again with the ended JWT is a 401, not a second 204.
        expectRejected(await s.call(LOGOUT, { method: 'POST', headers: cred.bearer(l.jwt) }));
      });

      it('with the cookie: needs the CSRF token, then ends the JWT too', async () => {
        const user = await newUser(s);
        const l = await login(s, user.username);
        expectProblem(
          await s.call(LOGOUT, { method: 'POST', headers: cred.cookie(l.cookie) }),
          403,
          'CSRF_FAILED',
        );
        expectStatus(await whoami(s, cred.bearer(l.jwt)), 200);

        expectNoContent(
          await s.call(LOGOUT, {
            method: 'POST',
            headers: { ...cred.cookie(l.cookie), ...cred.csrf(l.csrf) },
          }),
        );
        expectRejected(await whoami(s, cred.bearer(l.jwt)));
        expectRejected(await whoami(s, cred.cookie(l.cookie)));
      });

      it('ends only that login; another login of the same user keeps working', async () => {
        const user = await newUser(s);
        const first = await login(s, user.username);
        const second = await login(s, user.username);
        expectNoContent(await s.call(LOGOUT, { method: 'POST', headers: cred.bearer(first.jwt) }));
        expectRejected(await whoami(s, cred.bearer(first.jwt)));
        expectIdentity(await whoami(s, cred.bearer(second.jwt)), {
          method: 'JwtAuth',
          user,
          tokenId: second.sessionId,
          expiresAt: second.expiresAt,
        });
        expect((await sessionRows(s, user.id)).map((r) => r.id)).toEqual([second.sessionId]);
      });

      it('logout answers a plain 204 under the response check', async () => {
        const user = await newUser(s);
        const l = await login(s, user.username);
        expectStatus(await s.call(LOGOUT, { method: 'POST', headers: cred.bearer(l.jwt) }), 204);
      });

      it('with an API key or Basic: 400 NOT_A_SESSION, and the user stays logged in', async () => {
        const user = await newUser(s);
        const l = await login(s, user.username);
        const { key } = await s.createKey(user);
        for (const headers of [cred.apiKey(key), cred.bearer(key), cred.basic(user.username)]) {
          const r = await s.call(LOGOUT, { method: 'POST', headers });
          expectProblem(r, 400, 'NOT_A_SESSION');
          expect(r.headers.getSetCookie()).toEqual([]);
        }
        expect(await sessionRows(s, user.id)).toHaveLength(1);
        expectStatus(await whoami(s, cred.bearer(l.jwt)), 200);
        expectStatus(await whoami(s, cred.apiKey(key)), 200);
      });
    });

    describe('deactivating a user', () => {
      it('stops their key, JWT, cookie and Basic at once, and deletes their sessions', async () => {
        const user = await newUser(s);
        const bystander = await newUser(s);
        const { key } = await s.createKey(user);
        const l = await login(s, user.username);
        const theirs = await login(s, bystander.username);
        const attempts: Attempt[] = [
          ['key', WHOAMI, cred.apiKey(key)],
          ['key as ?api_key', withQueryKey(WHOAMI, key), {}],
          ['JWT', WHOAMI, cred.bearer(l.jwt)],
          ['cookie', WHOAMI, cred.cookie(l.cookie)],
          ['Basic', WHOAMI, cred.basic(user.username)],
        ];
        for (const [label, path, headers] of attempts) {
          expect((await get(s, path, headers)).status, label).toBe(200);
        }
        expect(await sessionRows(s, user.id)).toHaveLength(1);

        await s.app.services.users.setActive(CLI_ACTOR, user.id, false);

        for (const [label, path, headers] of attempts) {
          const r = await get(s, path, headers);
          expect(r.status, label).toBe(401);
          expectRejected(r);
        }
        expect(await sessionRows(s, user.id)).toEqual([]);
        // Other users are not touched.
        expect(await sessionRows(s, bystander.id)).toHaveLength(1);
        expectStatus(await whoami(s, cred.bearer(theirs.jwt)), 200);
        // Logging in is refused too.
        expectRejected(
          await s.call(LOGIN, { method: 'POST', json: { username: user.username, password: PASSWORD } }),
        );

        // Reactivated, the key and the password work again; the ended logins stay ended.
        await s.app.services.users.setActive(CLI_ACTOR, user.id, true);
        expectStatus(await whoami(s, cred.apiKey(key)), 200);
        expectStatus(await whoami(s, cred.basic(user.username)), 200);
        expectRejected(await whoami(s, cred.bearer(l.jwt)));
        expectRejected(await whoami(s, cred.cookie(l.cookie)));
      });
    });

    describe('requests the contract rejects change nothing', () => {
      it('a 400 on POST /api/v1/keys leaves the keys as they were', async () => {
        const user = await newUser(s);
        const { key } = await s.createKey(user);
        const before = await keyCount(s, user.id);
        const cases: [unknown, string][] = [
          [{}, 'body.name'],
          [{ name: '' }, 'body.name'],
          [{ name: 'x', colour: 'blue' }, 'body.colour'],
          [{ name: 'x', write_enabled: 'yes' }, 'body.write_enabled'],
          [{ name: 'x', key: 'too-short' }, 'body.key'],
          [{ name: 'x', expires_at: new Date(Date.now() - 60_000).toISOString() }, 'body.expires_at'],
          [{ name: 'x', allowed_ips: ['not-an-address'] }, 'body.allowed_ips[0]'],
        ];
        for (const [json, field] of cases) {
          const r = await createKeyVia(s, cred.apiKey(key), json);
          expectFieldErrors(r, [field]);
        }
        expect(await keyCount(s, user.id)).toBe(before);
        const list = await s.call(KEYS, { headers: cred.apiKey(key) });
        expectStatus(list, 200);
        expect(list.body.count).toBe(before);
      });

      it('malformed JSON and a non-JSON body on POST /api/v1/keys create nothing', async () => {
        const user = await newUser(s);
        const { key } = await s.createKey(user);
        const before = await keyCount(s, user.id);
        const malformed = await s.call(KEYS, {
          method: 'POST',
          headers: { ...cred.apiKey(key), 'content-type': 'application/json' },
          body: '{"name": ',
        });
        expectProblem(malformed, 400, 'MALFORMED_JSON');
        const plain = await s.call(KEYS, {
          method: 'POST',
          headers: { ...cred.apiKey(key), 'content-type': 'text/plain' },
          body: '{"name": "plain"}',
        });
        expectStatus(plain, 415);
        expect(await keyCount(s, user.id)).toBe(before);
      });

      it('a PATCH that would widen a key is refused and the key is unchanged', async () => {
        const user = await newUser(s);
        const { key: helper } = await s.createKey(user);
        const { id } = await s.createKey(user, { write_enabled: false, allowed_ips: ['10.0.0.0/8'] });
        const stored = await keyRow(s, id);
        const widen = await s.call(`${KEYS}/${id}`, {
          method: 'PATCH',
          headers: cred.apiKey(helper),
          json: { name: 'renamed', write_enabled: true },
        });
        expectProblem(widen, 400, 'CANNOT_WIDEN');
        expect(widen.body.errors).toEqual([{ field: 'body.write_enabled', message: expect.any(String) }]);
        const more = await s.call(`${KEYS}/${id}`, {
          method: 'PATCH',
          headers: cred.apiKey(helper),
          json: { allowed_ips: ['10.0.0.0/8', '0.0.0.0/0'] },
        });
        expectProblem(more, 400, 'CANNOT_WIDEN');
        expect(await keyRow(s, id)).toEqual(stored);
      });
    });
  });

  describe('extra API key header names', () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(dialect, { LATCHKEY_API_KEY_HEADERS: 'X-API-Key,X-ArchiveBox-API-Key' });
    });
    afterAll(() => s.close());

    it('X-ArchiveBox-API-Key works like X-API-Key', async () => {
      const user = await newUser(s);
      const { id, key } = await s.createKey(user);
      const want = { method: 'HeaderTokenAuth', user, tokenId: id, expiresAt: null };
      expectWhoami(await whoami(s, cred.apiKey(key, 'X-ArchiveBox-API-Key')), want);
      expectWhoami(await whoami(s, cred.apiKey(key, 'x-archivebox-api-key')), want);
      expectWhoami(await whoami(s, cred.apiKey(key)), want);
      expectRejected(await whoami(s, cred.apiKey(generateKey('lk_'), 'X-ArchiveBox-API-Key')));
    });

    it('both header names at once are two credentials: 400 MULTIPLE_CREDENTIALS', async () => {
      const user = await newUser(s);
      const { key } = await s.createKey(user);
      const r = await get(s, KEYS, { ...cred.apiKey(key), ...cred.apiKey(key, 'X-ArchiveBox-API-Key') });
      expectProblem(r, 400, 'MULTIPLE_CREDENTIALS');
      expect(r.body.detail).toContain('X-ArchiveBox-API-Key');
      const mixed = await get(s, KEYS, { ...cred.apiKey(key, 'X-ArchiveBox-API-Key'), ...cred.token(key) });
      expectProblem(mixed, 400, 'MULTIPLE_CREDENTIALS');
    });

    it('GET /meta lists both header names', async () => {
      const meta = await s.call(META);
      expectStatus(meta, 200);
      expect(meta.body.api_key_headers).toEqual(['X-API-Key', 'X-ArchiveBox-API-Key']);
      expect(meta.body.auth_methods).toEqual(EVERY_METHOD);
    });
  });

  describe('LATCHKEY_SUPERUSER_ONLY=true', () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(dialect, { LATCHKEY_SUPERUSER_ONLY: 'true' });
    });
    afterAll(() => s.close());

    it('a non-superuser gets 403 SUPERUSER_REQUIRED, whatever the method', async () => {
      const user = await newUser(s);
      const { key } = await s.createKey(user);
      const attempts: Attempt[] = [
        ['key', WHOAMI, cred.apiKey(key)],
        ['Token', WHOAMI, cred.token(key)],
        ['?api_key', withQueryKey(WHOAMI, key), {}],
        ['Basic', WHOAMI, cred.basic(user.username)],
        ['Basic on the key list', KEYS, cred.basic(user.username)],
      ];
      for (const [label, path, headers] of attempts) {
        const r = await get(s, path, headers);
        expect(r.status, label).toBe(403);
        expectProblem(r, 403, 'SUPERUSER_REQUIRED');
        expect(r.body.detail).toMatch(/superuser/);
        expectNoIdentity(r);
      }
      // A bad credential is still a 401, not a hint that the user exists.
      expectRejected(await whoami(s, cred.basic(user.username, 'not-the-password-1')));
    });

    it('a superuser passes, with a key, Basic and a login', async () => {
      const admin = await newUser(s, 'admin', { superuser: true });
      const { id, key } = await s.createKey(admin);
      expectWhoami(await whoami(s, cred.apiKey(key)), {
        method: 'HeaderTokenAuth',
        user: admin,
        tokenId: id,
        expiresAt: null,
      });
      expectStatus(await whoami(s, cred.basic(admin.username)), 200);
      const l = await login(s, admin.username);
      expectStatus(await whoami(s, cred.bearer(l.jwt)), 200);
      expectStatus(await whoami(s, cred.cookie(l.cookie)), 200);
    });

    it('check_api_token answers false for a non-superuser key, true for a superuser key', async () => {
      const user = await newUser(s);
      const admin = await newUser(s, 'admin', { superuser: true });
      const plain = await s.call('/api/v1/auth/check_api_token', {
        method: 'POST',
        json: { token: (await s.createKey(user)).key },
      });
      expectStatus(plain, 200);
      expect(plain.body).toEqual({ success: false, user_id: null });
      const su = await s.call('/api/v1/auth/check_api_token', {
        method: 'POST',
        json: { token: (await s.createKey(admin)).key },
      });
      expectStatus(su, 200);
      expect(su.body).toEqual({ success: true, user_id: admin.id });
    });

    const loginAs = (username: string) =>
      s.call(LOGIN, { method: 'POST', json: { username, password: PASSWORD } });

    it('a non-superuser cannot log in (403) and gets no session', async () => {
      const user = await newUser(s);
      const r = await loginAs(user.username);
      expectStatus(r, 403);
      expect(r.headers.getSetCookie()).toEqual([]);
      expect(await sessionRows(s, user.id)).toEqual([]);
    });

    it('a non-superuser login: 403 SUPERUSER_REQUIRED as the contract would say', async () => {
      const user = await newUser(s);
      const r = await loginAs(user.username);
      expectProblem(r, 403, 'SUPERUSER_REQUIRED');
      expect(r.body.detail).toMatch(/superuser/);
    });

    it('GET /meta says superuser_only', async () => {
      const meta = await s.call(META);
      expectStatus(meta, 200);
      expect(meta.body.superuser_only).toBe(true);
    });
  });

  describe('LATCHKEY_AUTH_METHODS=header,bearer', () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(dialect, { LATCHKEY_AUTH_METHODS: 'header,bearer' });
    });
    afterAll(() => s.close());

    it('the enabled methods work', async () => {
      const user = await newUser(s);
      const { id, key } = await s.createKey(user);
      expectWhoami(await whoami(s, cred.apiKey(key)), {
        method: 'HeaderTokenAuth',
        user,
        tokenId: id,
        expiresAt: null,
      });
      expectWhoami(await whoami(s, cred.bearer(key)), {
        method: 'BearerTokenAuth',
        user,
        tokenId: id,
        expiresAt: null,
      });
      const l = await login(s, user.username);
      expectWhoami(await whoami(s, cred.bearer(l.jwt)), {
        method: 'JwtAuth',
        user,
        tokenId: l.sessionId,
        expiresAt: l.expiresAt,
      });
    });

    it('Basic, Token and ?api_key= are refused with 401, and only Bearer is advertised', async () => {
      const user = await newUser(s);
      const { key } = await s.createKey(user);
      const attempts: Attempt[] = [
        ['Basic', WHOAMI, cred.basic(user.username)],
        ['Token', WHOAMI, cred.token(key)],
        ['?api_key', withQueryKey(WHOAMI, key), {}],
      ];
      for (const [label, path, headers] of attempts) {
        const r = await get(s, path, headers);
        expect(r.status, label).toBe(401);
        expectRejected(r);
        const challenge = r.headers.get('www-authenticate') ?? '';
        expect(challenge).not.toContain('Basic');
        expect(challenge).not.toContain('Token');
      }
    });

    it('the session cookie is not a credential any more', async () => {
      const user = await newUser(s);
      const l = await login(s, user.username);
      expectMissing(await whoami(s, cred.cookie(l.cookie)));
      // The cookie does not get in the way of an explicit credential either.
      expectStatus(await whoami(s, { ...cred.cookie(l.cookie), ...cred.bearer(l.jwt) }), 200);
    });

    it('a switched-off method next to an enabled one is still two credentials', async () => {
      const user = await newUser(s);
      const { key } = await s.createKey(user);
      expectProblem(await get(s, withQueryKey(KEYS, key), cred.apiKey(key)), 400, 'MULTIPLE_CREDENTIALS');
    });

    it('GET /meta lists only the enabled methods', async () => {
      const meta = await s.call(META);
      expectStatus(meta, 200);
      expect(meta.body.auth_methods).toEqual(['HeaderTokenAuth', 'BearerTokenAuth', 'JwtAuth']);
      expect(meta.body.api_key_headers).toEqual(['X-API-Key']);
    });
  });
});

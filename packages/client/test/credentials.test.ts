import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  type Credentials,
  createLatchkeyClient,
  type LatchkeyClient,
  UnsupportedCredentialsError,
} from '../src/index.js';
import { cookieJarFetch } from './support/cookie-jar.js';
import { ADMIN, type LatchkeyTestServer, startLatchkeyServer } from './support/latchkey-server.js';

// Each kind of credential against the real server (SQLite), through the SDK only.

let server: LatchkeyTestServer;
let admin: LatchkeyClient;
let seq = 0;

const client = (credentials?: Credentials, fetch?: typeof globalThis.fetch) =>
  createLatchkeyClient({ baseUrl: server.baseUrl, credentials, ...(fetch ? { fetch } : {}) });

async function newKey(): Promise<string> {
  const { data } = await admin.createKey({ body: { name: `key-${++seq}` } });
  return data.key;
}

/** The requests the server received while `run` ran. */
async function hitsDuring(run: () => Promise<unknown>) {
  const before = server.hits.length;
  await run();
  return server.hits.slice(before);
}

/** The credentials a request carried, by where they were. */
const credentialsIn = (hit: LatchkeyTestServer['hits'][number]) =>
  ['x-api-key', 'authorization'].filter((name) => hit.headers[name] !== undefined);

beforeAll(async () => {
  server = await startLatchkeyServer();
  admin = client({ login: ADMIN });
});

afterAll(async () => {
  await server?.close();
});

describe('each kind of credential', () => {
  it('{ apiKey } goes as X-API-Key', async () => {
    const key = await newKey();
    const lk = client({ apiKey: key });
    const hits = await hitsDuring(async () => {
      const { data } = await lk.whoami();
      expect(data.auth.method).toBe('HeaderTokenAuth');
      expect(data.user.username).toBe(ADMIN.username);
    });
    expect(hits.map(credentialsIn)).toEqual([['x-api-key']]);
  });

  it('{ token } goes as Authorization: Token', async () => {
    const lk = client({ token: await newKey() });
    const hits = await hitsDuring(async () => expect((await lk.whoami()).data.auth.method).toBe('TokenAuth'));
    expect(hits[0]?.headers.authorization).toMatch(/^Token lk_/);
  });

  it('{ bearer } carries a key or a login JWT', async () => {
    expect((await client({ bearer: await newKey() }).whoami()).data.auth.method).toBe('BearerTokenAuth');
    const { data: login } = await client().login({ body: ADMIN });
    expect((await client({ bearer: login.token }).whoami()).data.auth.method).toBe('JwtAuth');
  });

  it('{ basic } sends the username and password', async () => {
    const lk = client({ basic: ADMIN });
    const { data } = await lk.whoami();
    expect(data.auth.method).toBe('BasicAuth');
    expect(lk.credentialExpiresAt).toBeNull();
  });

  it('{ login } logs in on first use and keeps the JWT', async () => {
    const lk = client({ login: ADMIN });
    const hits = await hitsDuring(async () => {
      const first = await lk.whoami();
      const second = await lk.listKeys();
      expect(first.data.auth.method).toBe('JwtAuth');
      expect(second.data.count).toBeGreaterThanOrEqual(0);
    });
    expect(hits.map((h) => `${h.method} ${h.path}`)).toEqual([
      'POST /api/v1/auth/login',
      'GET /api/v1/auth/whoami',
      'GET /api/v1/keys',
    ]);
  });

  it('{ login } logs in again after a logout', async () => {
    const lk = client({ login: ADMIN });
    const before = (await lk.whoami()).data.auth.token_id;
    await lk.logout();
    const hits = await hitsDuring(async () => {
      const after = (await lk.whoami()).data.auth;
      expect(after.method).toBe('JwtAuth');
      expect(after.token_id).not.toBe(before);
    });
    expect(hits.map((h) => `${h.method} ${h.path}`)).toEqual([
      'POST /api/v1/auth/login',
      'GET /api/v1/auth/whoami',
    ]);
  });

  it('{ login } logs in again and retries when a 401 says the JWT was revoked', async () => {
    const lk = client({ login: ADMIN });
    const [first] = await hitsDuring(() => lk.whoami()).then((hits) =>
      hits.filter((h) => h.path.endsWith('whoami')),
    );
    const jwt = String(first?.headers.authorization).replace(/^Bearer /, '');
    // Someone else ends that session.
    await client({ bearer: jwt }).logout();

    const hits = await hitsDuring(async () => {
      const { data } = await lk.createKey({ body: { name: 'after-revocation' } });
      expect(data.name).toBe('after-revocation');
    });
    expect(hits.map((h) => `${h.method} ${h.path}`)).toEqual([
      'POST /api/v1/keys',
      'POST /api/v1/auth/login',
      'POST /api/v1/keys',
    ]);
    expect(hits[0]?.headers.authorization).toBe(`Bearer ${jwt}`);
    expect(hits[2]?.headers.authorization).not.toBe(`Bearer ${jwt}`);
  });

  it('{ session: true } rides on the login cookie and sends the CSRF token on changes', async () => {
    const jar = cookieJarFetch();
    const lk = client({ session: true }, jar.fetch);
    await lk.login({ body: ADMIN });
    expect([...jar.cookies.keys()].sort()).toEqual(['latchkey_csrf', 'latchkey_session']);

    expect((await lk.whoami()).data.auth.method).toBe('SessionAuth');
    const hits = await hitsDuring(async () => {
      const { response } = await lk.createKey({ body: { name: 'from-the-browser' } });
      expect(response.status).toBe(201);
    });
    expect(hits[0]?.headers['x-csrf-token']).toBe(jar.cookies.get('latchkey_csrf'));
    expect(credentialsIn(hits[0] as LatchkeyTestServer['hits'][number])).toEqual([]);

    await lk.logout();
    expect(jar.cookies.size).toBe(0);
    await expect(lk.whoami()).rejects.toBeInstanceOf(AuthenticationError);
  });
});

describe('switching and refusing', () => {
  it('setCredentials swaps the credential of a client between requests', async () => {
    const lk = client({ apiKey: await newKey() });
    expect((await lk.whoami()).data.auth.method).toBe('HeaderTokenAuth');
    lk.setCredentials({ basic: ADMIN });
    expect((await lk.whoami()).data.auth.method).toBe('BasicAuth');
    lk.setCredentials({ login: ADMIN });
    expect((await lk.whoami()).data.auth.method).toBe('JwtAuth');
  });

  it('refuses, sending nothing, an operation that accepts none of the credentials', async () => {
    const hits = await hitsDuring(async () => {
      await expect(client({ basic: ADMIN }).logout()).rejects.toBeInstanceOf(UnsupportedCredentialsError);
      await expect(client().whoami()).rejects.toBeInstanceOf(UnsupportedCredentialsError);
    });
    expect(hits).toEqual([]);
  });

  it('calls the open operations without any credential', async () => {
    const lk = client({ apiKey: await newKey() });
    const hits = await hitsDuring(async () => {
      expect((await lk.getHealth()).data.status).toBe('ok');
      expect((await lk.getMeta()).data.key_prefix).toBe('lk_');
    });
    expect(hits.map(credentialsIn)).toEqual([[], []]);
  });
});

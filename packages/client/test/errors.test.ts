import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  type Credentials,
  createLatchkeyClient,
  type LatchkeyClient,
  LatchkeyError,
  NetworkError,
  PermissionError,
  ValidationError,
} from '../src/index.js';
import { cookieJarFetch } from './support/cookie-jar.js';
import { ADMIN, type LatchkeyTestServer, startLatchkeyServer } from './support/latchkey-server.js';

// The error classes, from real answers of the server.

let server: LatchkeyTestServer;
let admin: LatchkeyClient;

const client = (credentials?: Credentials, fetch?: typeof globalThis.fetch) =>
  createLatchkeyClient({ baseUrl: server.baseUrl, credentials, ...(fetch ? { fetch } : {}) });

async function failure(call: Promise<unknown>): Promise<LatchkeyError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LatchkeyError);
  return error as LatchkeyError;
}

beforeAll(async () => {
  server = await startLatchkeyServer();
  admin = client({ login: ADMIN });
});

afterAll(async () => {
  await server?.close();
});

describe('error classes', () => {
  it('400 is a ValidationError naming the fields at fault', async () => {
    const error = await failure(admin.createKey({ body: { name: '' } }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((error as ValidationError).errors.map((e) => e.field)).toContain('body.name');
    expect(error.problem?.type).toBe('/docs/errors/VALIDATION_FAILED');
  });

  it('401 is an AuthenticationError, with the response and its WWW-Authenticate', async () => {
    const error = await failure(client({ apiKey: 'lk_notAKeyThisServerEverIssued000000000' }).whoami());
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: 'AUTHENTICATION_FAILED', title: expect.any(String) });
    expect(error.detail).toMatch(/missing, invalid, expired or revoked/);
    expect(error.response.headers.get('www-authenticate')).toMatch(/Bearer realm="latchkey"/);
  });

  it('403 is a PermissionError saying what is missing: a read-only key', async () => {
    const { data } = await admin.createKey({ body: { name: 'read-only', write_enabled: false } });
    const readOnly = client({ apiKey: data.key });
    expect((await readOnly.listKeys()).data.count).toBeGreaterThan(0);
    const error = await failure(readOnly.createKey({ body: { name: 'nope' } }));
    expect(error).toBeInstanceOf(PermissionError);
    expect(error).toMatchObject({ status: 403, code: 'KEY_READ_ONLY' });
    expect(error.detail).toMatch(/read-only/);
  });

  it('403 is a PermissionError saying what is missing: the CSRF token of a session', async () => {
    const jar = cookieJarFetch();
    await client({ session: true }, jar.fetch).login({ body: ADMIN });
    jar.cookies.delete('latchkey_csrf');
    // Another client on the same browser session, which did not log in and has no CSRF token.
    const tab = client({ session: true }, jar.fetch);
    expect((await tab.whoami()).data.auth.method).toBe('SessionAuth');
    const error = await failure(tab.createKey({ body: { name: 'nope' } }));
    expect(error).toBeInstanceOf(PermissionError);
    expect(error).toMatchObject({ status: 403, code: 'CSRF_FAILED' });
  });

  it('other statuses are a LatchkeyError with the code of the problem', async () => {
    const notFound = await failure(
      admin.getKey({ path: { key_id: '5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61' } }),
    );
    expect(notFound.constructor).toBe(LatchkeyError);
    expect(notFound).toMatchObject({ status: 404, code: 'KEY_NOT_FOUND' });

    const supplied = `restored-${'x'.repeat(32)}`;
    await admin.createKey({ body: { name: 'first', key: supplied } });
    const conflict = await failure(admin.createKey({ body: { name: 'second', key: supplied } }));
    expect(conflict).toMatchObject({ status: 409, code: 'KEY_ALREADY_EXISTS' });
  });

  it('no answer at all is a NetworkError keeping its cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const lk = createLatchkeyClient({ baseUrl: `http://127.0.0.1:${port}`, credentials: { apiKey: 'lk_x' } });
    const error = await lk.whoami().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).not.toBeInstanceOf(LatchkeyError);
    expect((error as NetworkError).cause).toBeInstanceOf(TypeError);
    expect((error as NetworkError).message).toMatch(/^GET \/api\/v1\/auth\/whoami failed/);
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_POSTGRES, POSTGRES_URL } from './support/dialects.js';
import { freePort } from './support/free-port.js';
import { HAS_REDIS, REDIS_URL } from './support/redis.js';

// Two server processes on one Postgres schema and one Redis prefix, as behind a load
// balancer: what one does, the other sees; what one refuses after a change, the other
// refuses within a second although it had cached the credential.

const SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN = 'cluster-admin';
const ADMIN_PASSWORD = 'cluster-admin-password-1';
const PROPAGATION_MS = 1000;

const reason = !HAS_POSTGRES ? 'Postgres is not reachable' : !HAS_REDIS ? 'Redis is not reachable' : '';
if (reason) console.warn(`[latchkey tests] cluster.test.ts skipped: ${reason}.`);

interface Instance {
  name: string;
  url: string;
  child: ChildProcess;
}

async function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: SERVER_DIR,
    env: { ...process.env, ...env, LATCHKEY_PORT: String(port), LATCHKEY_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 30 s:\n${output}`)), 30_000);
    const watch = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Latchkey listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', watch);
    child.stderr?.on('data', watch);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${output}`));
    });
  });
  return { name, url: `http://127.0.0.1:${port}`, child };
}

async function stopInstance(instance: Instance | undefined): Promise<void> {
  if (!instance || instance.child.exitCode !== null) return;
  const exited = new Promise((resolve) => instance.child.once('exit', resolve));
  instance.child.kill('SIGTERM');
  const timer = setTimeout(() => instance.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

async function call(
  on: Instance,
  method: string,
  p: string,
  headers: Record<string, string>,
  json?: unknown,
): Promise<Reply> {
  const res = await fetch(`${on.url}/api/v1${p}`, {
    method,
    headers: { ...headers, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: json !== undefined ? JSON.stringify(json) : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const basicAuth = (username: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
});
const asAdmin = basicAuth(ADMIN, ADMIN_PASSWORD);
const withKey = (key: string) => ({ 'x-api-key': key });

/** Asks `on` until it refuses the key; returns how long that took after the change returned. */
async function msUntilRefused(on: Instance, key: string): Promise<number> {
  const start = Date.now();
  for (;;) {
    const r = await call(on, 'GET', '/auth/whoami', withKey(key));
    const elapsed = Date.now() - start;
    if (r.status === 401) return elapsed;
    expect(r.status).toBe(200);
    if (elapsed > 3 * PROPAGATION_MS) return elapsed;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Asks `on` to verify the key until the verdict is no longer VALID; returns how long that took, and the code. */
async function msUntilNotValid(on: Instance, key: string): Promise<{ ms: number; code: string }> {
  const start = Date.now();
  for (;;) {
    const r = await call(on, 'POST', '/keys/verify', asAdmin, { key });
    const elapsed = Date.now() - start;
    expect(r.status).toBe(200);
    if (r.body.code !== 'VALID') return { ms: elapsed, code: r.body.code };
    if (elapsed > 3 * PROPAGATION_MS) return { ms: elapsed, code: r.body.code };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(Boolean(reason))('two instances on one Postgres and one Redis', () => {
  const schema = `lk_cluster_${randomBytes(6).toString('hex')}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-cluster-'));
  let a: Instance | undefined;
  let b: Instance | undefined;
  const A = () => a as Instance;
  const B = () => b as Instance;

  beforeAll(async () => {
    const env = {
      LATCHKEY_DATABASE_URL: POSTGRES_URL,
      LATCHKEY_DATABASE_SCHEMA: schema,
      LATCHKEY_REDIS_URL: REDIS_URL,
      LATCHKEY_REDIS_PREFIX: `lk-cluster-${randomBytes(6).toString('hex')}`,
      LATCHKEY_KEY_PEPPER: randomBytes(32).toString('hex'),
      LATCHKEY_JWT_SECRET: randomBytes(32).toString('hex'),
      LATCHKEY_ADMIN_USERNAME: ADMIN,
      LATCHKEY_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LATCHKEY_DATA_DIR: dataDir,
      // The banner the start is awaited by is an info line.
      LATCHKEY_LOG_LEVEL: 'info',
      LATCHKEY_RATE_LIMIT: '100000',
      LATCHKEY_TRUSTED_PROXIES: '127.0.0.1',
      LATCHKEY_AUTH_CACHE_TTL_S: '600',
    };
    // One after the other: the first creates the schema, the tables and the admin.
    a = await startInstance('A', env);
    b = await startInstance('B', env);
  }, 70_000);

  afterAll(async () => {
    await Promise.all([stopInstance(a), stopInstance(b)]);
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await client.end();
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 20_000);

  async function newKey(on: Instance, auth: Record<string, string>, extra: Record<string, unknown> = {}) {
    const r = await call(on, 'POST', '/keys', auth, { name: 'cluster key', ...extra });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return { id: r.body.id as string, key: r.body.key as string };
  }

  /** Uses the key on B twice, so that B has cached it. */
  async function cacheOnB(key: string) {
    for (let i = 0; i < 2; i++)
      expect((await call(B(), 'GET', '/auth/whoami', withKey(key))).status).toBe(200);
  }

  it('a key created on one instance verifies on the other', async () => {
    const { key } = await newKey(A(), asAdmin);
    const r = await call(B(), 'GET', '/auth/whoami', withKey(key));
    expect(r.status).toBe(200);
    expect(r.body.user.username).toBe(ADMIN);
  });

  it('a deactivation on A is refused on B within 1 s, although B had the key cached', async () => {
    const { id, key } = await newKey(A(), asAdmin);
    await cacheOnB(key);
    // B answers from its cache: a change made in SQL, which tells nobody, goes unseen.
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`update "${schema}".api_keys set is_active = 0 where id = $1`, [id]);
      expect((await call(B(), 'GET', '/auth/whoami', withKey(key))).status).toBe(200);
      await client.query(`update "${schema}".api_keys set is_active = 1 where id = $1`, [id]);
    } finally {
      await client.end();
    }
    expect((await call(A(), 'POST', `/keys/${id}/deactivate`, asAdmin)).status).toBe(200);
    expect(await msUntilRefused(B(), key)).toBeLessThan(PROPAGATION_MS);
  });

  it('a deletion on A is refused on B within 1 s', async () => {
    const { id, key } = await newKey(A(), asAdmin);
    await cacheOnB(key);
    expect((await call(A(), 'DELETE', `/keys/${id}`, asAdmin)).status).toBe(204);
    expect(await msUntilRefused(B(), key)).toBeLessThan(PROPAGATION_MS);
  });

  it('a rotation with grace 0 on A is refused on B within 1 s; the new key works on B', async () => {
    const { id, key } = await newKey(A(), asAdmin);
    await cacheOnB(key);
    const r = await call(A(), 'POST', `/keys/${id}/rotate`, asAdmin, { grace_seconds: 0 });
    expect(r.status).toBe(201);
    expect(await msUntilRefused(B(), key)).toBeLessThan(PROPAGATION_MS);
    expect((await call(B(), 'GET', '/auth/whoami', withKey(r.body.key))).status).toBe(200);
  });

  it("a user's deactivation on A stops their key on B within 1 s", async () => {
    const username = `cluster-user-${randomBytes(3).toString('hex')}`;
    const password = 'cluster-user-password-2';
    const created = await call(A(), 'POST', '/admin/users', asAdmin, { username, password });
    expect(created.status).toBe(201);
    const { key } = await newKey(A(), basicAuth(username, password));
    await cacheOnB(key);
    const off = await call(A(), 'PATCH', `/admin/users/${created.body.id}`, asAdmin, { is_active: false });
    expect(off.status).toBe(200);
    expect(await msUntilRefused(B(), key)).toBeLessThan(PROPAGATION_MS);
  });

  it('the verify API on B sees a deactivation, deletion, rotation or user deactivation on A within 1 s', async () => {
    const verifyOnB = async (key: string) => {
      for (let i = 0; i < 2; i++) {
        const r = await call(B(), 'POST', '/keys/verify', asAdmin, { key });
        expect(r.body.code).toBe('VALID');
      }
    };
    const off = await newKey(A(), asAdmin);
    await verifyOnB(off.key);
    expect((await call(A(), 'POST', `/keys/${off.id}/deactivate`, asAdmin)).status).toBe(200);
    const deactivated = await msUntilNotValid(B(), off.key);
    expect(deactivated.code).toBe('DISABLED');
    expect(deactivated.ms).toBeLessThan(PROPAGATION_MS);

    const gone = await newKey(A(), asAdmin);
    await verifyOnB(gone.key);
    expect((await call(A(), 'DELETE', `/keys/${gone.id}`, asAdmin)).status).toBe(204);
    const deleted = await msUntilNotValid(B(), gone.key);
    expect(deleted.code).toBe('NOT_FOUND');
    expect(deleted.ms).toBeLessThan(PROPAGATION_MS);

    const old = await newKey(A(), asAdmin);
    await verifyOnB(old.key);
    const rotated = await call(A(), 'POST', `/keys/${old.id}/rotate`, asAdmin, { grace_seconds: 0 });
    expect(rotated.status).toBe(201);
    const replaced = await msUntilNotValid(B(), old.key);
    expect(['EXPIRED', 'DISABLED']).toContain(replaced.code);
    expect(replaced.ms).toBeLessThan(PROPAGATION_MS);
    await verifyOnB(rotated.body.key);

    const username = `cluster-verified-${randomBytes(3).toString('hex')}`;
    const password = 'cluster-user-password-3';
    const created = await call(A(), 'POST', '/admin/users', asAdmin, { username, password });
    const { key } = await newKey(A(), basicAuth(username, password));
    await verifyOnB(key);
    expect(
      (await call(A(), 'PATCH', `/admin/users/${created.body.id}`, asAdmin, { is_active: false })).status,
    ).toBe(200);
    const userOff = await msUntilNotValid(B(), key);
    expect(userOff.code).toBe('DISABLED');
    expect(userOff.ms).toBeLessThan(PROPAGATION_MS);
  });

  it('rate limits are shared: a key limited to 4 a minute gets its 5th request refused, wherever it goes', async () => {
    const { key } = await newKey(A(), asAdmin, { rate_limit: { limit: 4, window_s: 60 } });
    const remaining: string[] = [];
    for (const on of [A(), B(), A(), B()]) {
      const r = await call(on, 'GET', '/auth/whoami', withKey(key));
      expect(r.status).toBe(200);
      remaining.push(r.headers.get('x-ratelimit-remaining') ?? '');
    }
    expect(remaining).toEqual(['3', '2', '1', '0']);
    const refused = await call(B(), 'GET', '/auth/whoami', withKey(key));
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('RATE_LIMITED');
    expect((await call(A(), 'GET', '/auth/whoami', withKey(key))).status).toBe(429);
  });

  it('lockouts are shared: failures on A lock the address out on B too', async () => {
    const address = `203.0.113.${1 + ((randomBytes(1)[0] ?? 0) % 250)}`;
    const from = { 'x-forwarded-for': address };
    const { key } = await newKey(A(), asAdmin);
    const bad = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    for (let i = 0; i < 5; i++) {
      const r = await call(A(), 'GET', '/auth/whoami', { ...from, ...withKey(bad) });
      expect(r.status).toBe(401);
    }
    const onB = await call(B(), 'GET', '/auth/whoami', { ...from, ...withKey(key) });
    expect(onB.status).toBe(429);
    expect(onB.body.code).toBe('LOCKED_OUT');
    // Another address is not affected.
    expect((await call(B(), 'GET', '/auth/whoami', withKey(key))).status).toBe(200);
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess, stopServerProcesses } from './support/server-process.js';

// `latchkey serve --workers 2` on one SQLite file, as a user runs it: every request goes on a
// connection of its own, which node:cluster hands to the workers in turn, so that consecutive
// requests meet different workers (the request lines name the worker that answered).

const ADMIN = 'workers-admin';
const PASSWORD = 'a-long-workers-password-7';
const basic = `Basic ${Buffer.from(`${ADMIN}:${PASSWORD}`).toString('base64')}`;
const WHOAMI = '/api/v1/auth/whoami';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const running: ServerProcess[] = [];
afterEach(async () => {
  // SIGTERM first: the workers stop with their primary (stopServerProcesses kills it at once).
  for (const s of running.splice(0)) {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  }
  stopServerProcesses();
});

async function startWorkers(env: Record<string, string> = {}): Promise<ServerProcess> {
  const s = await startServerProcess({
    LATCHKEY_WORKERS: '2',
    LATCHKEY_LOG_LEVEL: 'info',
    LATCHKEY_LOG_FORMAT: 'json',
    LATCHKEY_ADMIN_USERNAME: ADMIN,
    LATCHKEY_ADMIN_PASSWORD: PASSWORD,
    ...env,
  });
  running.push(s);
  // /health answers once one worker listens; the primary's banner comes once both do.
  const until = Date.now() + 30_000;
  while (!s.stdout().includes('with 2 workers')) {
    if (Date.now() > until) throw new Error(`the workers did not start:\n${s.logs()}`);
    await sleep(50);
  }
  return s;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  requestId: string;
}

/** One request on a new connection (fetch would keep one connection, and so one worker). */
function call(
  s: ServerProcess,
  urlPath: string,
  options: { method?: string; headers?: Record<string, string>; json?: unknown } = {},
): Promise<Answer> {
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  return new Promise((resolve, reject) => {
    const req = request(
      `${s.base}${urlPath}`,
      {
        agent: false,
        method: options.method ?? 'GET',
        headers: { ...options.headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString('utf8');
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
            requestId: String(res.headers['x-request-id']),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Which worker answered each request id, from the request lines (they reach stdout within 250 ms). */
async function workersOf(s: ServerProcess, ids: string[]): Promise<Set<number>> {
  await sleep(600);
  const byId = new Map<string, number>();
  for (const line of s.stdout().split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; requestId?: string; worker?: number };
    if (entry.msg === 'request' && entry.requestId && entry.worker !== undefined)
      byId.set(entry.requestId, entry.worker);
  }
  return new Set(ids.map((id) => byId.get(id) ?? -1));
}

async function createKey(s: ServerProcess, name: string): Promise<{ id: string; key: string }> {
  const created = await call(s, '/api/v1/keys', {
    method: 'POST',
    headers: { authorization: basic },
    json: { name },
  });
  expect(created.status).toBe(201);
  return { id: String(created.body.id), key: String(created.body.key) };
}

describe('latchkey serve --workers 2', () => {
  it('counts one rate limit across both workers: of 30 requests against a limit of 20, exactly 20 pass', async () => {
    const s = await startWorkers({ LATCHKEY_RATE_LIMIT: '20', LATCHKEY_RATE_WINDOW_S: '300' });
    const { key } = await createKey(s, 'limited');
    const answers: Answer[] = [];
    for (let i = 0; i < 30; i++) answers.push(await call(s, WHOAMI, { headers: { 'x-api-key': key } }));
    expect(answers.map((a) => a.status)).toEqual([...Array(20).fill(200), ...Array(10).fill(429)]);
    expect(answers[29]?.body.code).toBe('RATE_LIMITED');
    // Both workers answered, so that a per-process count would have let 40 through.
    expect(
      await workersOf(
        s,
        answers.map((a) => a.requestId),
      ),
    ).toEqual(new Set([1, 2]));
  });

  it('locks an address out after 5 failures spread over both workers, on both', async () => {
    const s = await startWorkers({ LATCHKEY_LOCKOUT_ATTEMPTS: '5' });
    const { key } = await createKey(s, 'locked-out');
    const bad = 'lk_not-a-real-key-but-long-enough-0123456789';
    const failures: Answer[] = [];
    for (let i = 0; i < 5; i++) failures.push(await call(s, WHOAMI, { headers: { 'x-api-key': bad } }));
    expect(failures.map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
    expect(
      await workersOf(
        s,
        failures.map((a) => a.requestId),
      ),
    ).toEqual(new Set([1, 2]));
    // Within a second, the valid key is refused on every worker (ten connections, five each).
    const until = Date.now() + 1000;
    let refused: Answer[] = [];
    do {
      refused = [];
      for (let i = 0; i < 10; i++) refused.push(await call(s, WHOAMI, { headers: { 'x-api-key': key } }));
    } while (refused.some((a) => a.status !== 429) && Date.now() < until);
    expect(refused.map((a) => a.body.code)).toEqual(Array(10).fill('LOCKED_OUT'));
    expect(
      await workersOf(
        s,
        refused.map((a) => a.requestId),
      ),
    ).toEqual(new Set([1, 2]));
  });

  it('refuses a key deactivated through one worker on every worker within a second, although both had cached it', async () => {
    // Each refused try is a failed attempt: keep the lockout out of the way.
    const s = await startWorkers({ LATCHKEY_LOCKOUT_ATTEMPTS: '100' });
    const { id, key } = await createKey(s, 'revoked');
    const used: Answer[] = [];
    for (let i = 0; i < 4; i++) used.push(await call(s, WHOAMI, { headers: { 'x-api-key': key } }));
    expect(used.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(
      await workersOf(
        s,
        used.map((a) => a.requestId),
      ),
    ).toEqual(new Set([1, 2]));

    const deactivated = await call(s, `/api/v1/keys/${id}/deactivate`, {
      method: 'POST',
      headers: { authorization: basic },
    });
    expect(deactivated.status).toBe(200);
    const at = Date.now();
    let after: Answer[] = [];
    do {
      after = [];
      for (let i = 0; i < 4; i++) after.push(await call(s, WHOAMI, { headers: { 'x-api-key': key } }));
    } while (after.some((a) => a.status !== 401) && Date.now() - at < 1000);
    expect(after.map((a) => a.status)).toEqual([401, 401, 401, 401]);
    expect(Date.now() - at).toBeLessThan(1500);
    expect(
      await workersOf(
        s,
        after.map((a) => a.requestId),
      ),
    ).toEqual(new Set([1, 2]));
  });

  it('stops every worker on SIGTERM to the primary, and the primary writes their last-used times once', async () => {
    const s = await startWorkers({ LATCHKEY_USAGE_FLUSH_MS: '600000' });
    const one = await createKey(s, 'first');
    const two = await createKey(s, 'second');
    const used: Answer[] = [];
    for (const { key } of [one, two, one, two])
      used.push(await call(s, WHOAMI, { headers: { 'x-api-key': key } }));
    expect(used.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    const logs = s.stdout();
    expect(logs).toContain('shutting down: asking every worker to stop');
    expect(logs.split('"msg":"every request under way was answered"').length - 1).toBe(2);
    expect(logs).toContain('every worker stopped');
    // The workers handed their usage over; only the primary runs a usage writer.
    expect(logs.split('writing buffered last-used times').length - 1).toBe(2);
    expect(logs).toContain('writing the last-used times the workers handed over');
    const db = new SqliteDatabase(path.join(s.dataDir, 'latchkey.db'), { readonly: true });
    try {
      for (const { id } of [one, two]) {
        const row = db.prepare('select last_used_at, last_used_ip from api_keys where id = ?').get(id) as {
          last_used_at: string | null;
          last_used_ip: string | null;
        };
        expect(row.last_used_at).toMatch(/^\d{4}-\d\d-\d\dT/);
        expect(row.last_used_ip).toBe('127.0.0.1');
      }
    } finally {
      db.close();
    }
  });

  it('replaces a worker that dies, and keeps answering meanwhile', async () => {
    const s = await startWorkers();
    const { key } = await createKey(s, 'survivor');
    const workerPids = () =>
      readdirSync(`/proc/${s.child.pid}/task`).flatMap((task) =>
        readFileSync(`/proc/${s.child.pid}/task/${task}/children`, 'utf8')
          .split(' ')
          .filter(Boolean)
          .map(Number),
      );
    const before = workerPids();
    expect(before).toHaveLength(2);
    process.kill(before[0] as number, 'SIGKILL');
    const until = Date.now() + 20_000;
    while (!s.stdout().includes('a worker stopped unexpectedly')) {
      if (Date.now() > until) throw new Error(`the primary did not notice:\n${s.logs()}`);
      await sleep(50);
    }
    // The other worker answers meanwhile; a new one takes the dead one's place.
    for (let i = 0; i < 4; i++)
      expect((await call(s, WHOAMI, { headers: { 'x-api-key': key } })).status).toBe(200);
    while (!(workerPids().length === 2 && !workerPids().includes(before[0] as number))) {
      if (Date.now() > until) throw new Error(`no new worker:\n${s.logs()}`);
      await sleep(100);
    }
    const answers: Answer[] = [];
    const settled = Date.now() + 20_000;
    // Once the new worker listens, requests reach both workers again.
    do {
      answers.length = 0;
      for (let i = 0; i < 4; i++) answers.push(await call(s, WHOAMI, { headers: { 'x-api-key': key } }));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    } while (
      (
        await workersOf(
          s,
          answers.map((a) => a.requestId),
        )
      ).size < 2 &&
      Date.now() < settled
    );
    expect(
      (
        await workersOf(
          s,
          answers.map((a) => a.requestId),
        )
      ).size,
    ).toBe(2);
  });

  it('stops the workers of a primary that was killed', async () => {
    const s = await startWorkers({ LATCHKEY_SHUTDOWN_TIMEOUT_S: '1' });
    const workers = readdirSync(`/proc/${s.child.pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${s.child.pid}/task/${task}/children`, 'utf8')
        .split(' ')
        .filter(Boolean)
        .map(Number),
    );
    expect(workers).toHaveLength(2);
    s.child.kill('SIGKILL');
    await s.exited;
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const until = Date.now() + 15_000;
    while (workers.some(alive) && Date.now() < until) await sleep(100);
    expect(workers.filter(alive)).toEqual([]);
  });

  it('refuses more than one worker on an in-memory database, naming the setting', async () => {
    await expect(
      startServerProcess({ LATCHKEY_WORKERS: '2', LATCHKEY_DATABASE_URL: 'sqlite::memory:' }),
    ).rejects.toThrow(/LATCHKEY_WORKERS: more than one worker needs a database they can share/);
  });
});

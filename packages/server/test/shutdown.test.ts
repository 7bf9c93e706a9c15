import { request } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startServerProcess, stopServerProcesses } from './support/server-process.js';
import { startReceiver } from './support/webhook-receiver.js';

// A real server process receives SIGTERM while requests are under way: it stops accepting
// connections, answers what it had accepted, writes buffered last-used times, closes the
// database, logs each step and exits 0. A request that never ends is cut off at
// LATCHKEY_SHUTDOWN_TIMEOUT_S.

const ADMIN = 'shutdown-admin';
const PASSWORD = 'a-long-shutdown-password-7';

const basic = `Basic ${Buffer.from(`${ADMIN}:${PASSWORD}`).toString('base64')}`;

afterEach(stopServerProcesses);

const startServer = (env: Record<string, string> = {}) =>
  startServerProcess({
    LATCHKEY_LOG_LEVEL: 'info',
    LATCHKEY_ADMIN_USERNAME: ADMIN,
    LATCHKEY_ADMIN_PASSWORD: PASSWORD,
    LATCHKEY_RATE_LIMIT: '1000000',
    // Only the shutdown writes last-used times.
    LATCHKEY_USAGE_FLUSH_MS: '600000',
    ...env,
  });

/** GET /health on a connection of its own (fetch would reuse a kept-alive one). */
function healthOnNewConnection(base: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/health`, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('graceful shutdown', () => {
  it('lets a webhook attempt under way at SIGTERM finish and records it before the database closes', async () => {
    const receiver = await startReceiver();
    try {
      // The first answer comes after the signal; the receiver is then down for the others.
      receiver.answer((_r, n) => (n === 1 ? { status: 200, delayMs: 1500 } : { status: 503 }));
      const s = await startServer({
        LATCHKEY_WEBHOOK_ALLOW_HTTP: 'true',
        LATCHKEY_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
        LATCHKEY_WEBHOOK_RETRY_BASE_MS: '600000',
      });
      const hook = await fetch(`${s.base}/api/v1/webhooks`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'shutdown', url: receiver.url(), events: ['key.created'] }),
      });
      expect(hook.status).toBe(201);
      const created = await fetch(`${s.base}/api/v1/keys`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'raised before shutdown' }),
      });
      expect(created.status).toBe(201);
      await receiver.waitFor((got) => got.length === 1);
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
      expect(receiver.received[0]?.status).toBe(200);
      const logs = s.logs();
      expect(logs).toContain('stopping the webhook worker');
      expect(logs.indexOf('stopping the webhook worker')).toBeLessThan(logs.indexOf('closing the database'));
      const db = new SqliteDatabase(path.join(s.dataDir, 'latchkey.db'), { readonly: true });
      try {
        const rows = db
          .prepare('select status, attempt_count, lease_owner from webhook_deliveries')
          .all() as { status: string; attempt_count: number; lease_owner: string | null }[];
        expect(rows).toEqual([{ status: 'delivered', attempt_count: 1, lease_owner: null }]);
      } finally {
        db.close();
      }
    } finally {
      await receiver.close();
    }
  });

  it('answers 20 logins under way at SIGTERM, writes buffered last-used times, logs each step and exits 0', async () => {
    const s = await startServer();
    const created = await fetch(`${s.base}/api/v1/keys`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'used-before-shutdown' }),
    });
    expect(created.status).toBe(201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    expect((await fetch(`${s.base}/api/v1/auth/whoami`, { headers: { 'x-api-key': key } })).status).toBe(200);

    // Twenty users, so that each login hashes its own password (a repeated pair is cached).
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    await Promise.all(
      users.map(async (username) => {
        const r = await fetch(`${s.base}/api/v1/admin/users`, {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/json' },
          body: JSON.stringify({ username, password: PASSWORD }),
        });
        expect(r.status).toBe(201);
      }),
    );

    const answeredAt: number[] = [];
    const sent: Promise<void>[] = [];
    const logins = users.map(
      (username) =>
        new Promise<{ status: number; token: string | undefined }>((resolve) => {
          const body = JSON.stringify({ username, password: PASSWORD });
          const req = request(
            `${s.base}/api/v1/auth/login`,
            {
              method: 'POST',
              agent: false,
              headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
            },
            (res) => {
              let text = '';
              res.on('data', (c: Buffer) => {
                text += c.toString('utf8');
              });
              res.on('end', () => {
                answeredAt.push(Date.now());
                resolve({
                  status: res.statusCode ?? 0,
                  token: (JSON.parse(text) as { token?: string }).token,
                });
              });
            },
          );
          req.on('error', (err) => resolve({ status: 0, token: err.message }));
          sent.push(new Promise((done) => req.once('finish', () => done())));
          req.end(body);
        }),
    );
    // Every login is on the wire. Connections are accepted in order: once a request on a
    // connection opened after theirs is answered, theirs were accepted, and their password
    // hashes keep them under way.
    await Promise.all(sent);
    expect(await healthOnNewConnection(s.base)).toBe(200);
    const signalledAt = Date.now();
    s.child.kill('SIGTERM');
    const answers = await Promise.all(logins);
    expect(
      answers.map((a) => a.status),
      s.logs(),
    ).toEqual(Array(20).fill(200));
    for (const a of answers) expect(a.token).toMatch(/^ey/);
    // Some of them were still under way when the signal came.
    expect(Math.max(...answeredAt)).toBeGreaterThanOrEqual(signalledAt);
    expect(await s.exited).toBe(0);

    const logs = s.logs();
    for (const step of [
      'shutting down',
      'stopped accepting connections; waiting for requests under way',
      'every request under way was answered',
      'writing buffered last-used times',
      'stopping the usage writer',
      'closing the database',
      '"closed"',
    ]) {
      expect(logs, step).toContain(step);
    }
    const db = new SqliteDatabase(path.join(s.dataDir, 'latchkey.db'), { readonly: true });
    try {
      const row = db.prepare('select last_used_at, last_used_ip from api_keys where id = ?').get(id) as {
        last_used_at: string | null;
        last_used_ip: string | null;
      };
      expect(row.last_used_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(row.last_used_ip).toBe('127.0.0.1');
    } finally {
      db.close();
    }
  });

  it('cuts off a request that does not end within LATCHKEY_SHUTDOWN_TIMEOUT_S, then exits 0', async () => {
    const s = await startServer({ LATCHKEY_SHUTDOWN_TIMEOUT_S: '1' });
    // A login whose body never arrives in full.
    const socket = connect(Number(new URL(s.base).port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.write(
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user',
    );
    expect(await healthOnNewConnection(s.base)).toBe(200);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    await closed;
    expect(s.logs()).toContain('closing their connections');
    expect(s.logs()).toContain('"cutOff":1');
    expect(s.logs()).toContain('"closed"');
  });

  it('writes the request line of every request answered before SIGTERM (the request log is buffered)', async () => {
    const s = await startServer();
    const answered: string[] = [];
    // Bursts of requests on kept-alive connections: lines pile up in the log's buffer.
    for (let burst = 0; burst < 10; burst++) {
      const statuses = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const id = `line-${burst}-${i}`;
          const res = await fetch(`${s.base}/meta`, { headers: { 'x-request-id': id } });
          await res.arrayBuffer();
          answered.push(id);
          return res.status;
        }),
      );
      expect(statuses.every((st) => st === 200)).toBe(true);
    }
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    const logged = new Set(
      s
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { msg: string; requestId?: string })
        .filter((l) => l.msg === 'request')
        .map((l) => l.requestId),
    );
    expect(answered.filter((id) => !logged.has(id))).toEqual([]);
    // The shutdown's own lines come after them, the last one included.
    expect(s.stdout().trim().split('\n').pop()).toContain('"closed"');
  });
});

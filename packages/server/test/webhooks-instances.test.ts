import { CLI_ACTOR, type UserRecord } from '@latchkey/core';
import { afterEach, expect, it } from 'vitest';
import { runLatchkey } from './support/cli-process.js';
import { describeEachDialect, startTestServer, type TestServer } from './support/test-server.js';
import { type Receiver, startReceiver } from './support/webhook-receiver.js';
import { verified, WEBHOOK_ENV } from './support/webhooks.js';

// The outbox across instances and restarts: every event is delivered exactly once, whether
// one instance stops with deliveries pending and under way and another takes over, or two
// instances claim from the same outbox at once; events raised by the command line (another
// process) are sent by the running server.

/** Instances of one deployment share these, so that each can read the secrets the other sealed. */
const SHARED = {
  ...WEBHOOK_ENV,
  LATCHKEY_KEY_PEPPER: 'instances-suite-pepper-0123456789abcdef',
  LATCHKEY_JWT_SECRET: 'instances-suite-jwt-secret-0123456789ab',
  LATCHKEY_WEBHOOK_MAX_ATTEMPTS: '8',
  LATCHKEY_WEBHOOK_RETRY_BASE_MS: '100',
  LATCHKEY_WEBHOOK_POLL_MS: '50',
};

/** How many times each webhook-id was answered with a 2xx. */
function deliveredCounts(receiver: Receiver): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of receiver.deliveredIds()) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

describeEachDialect('webhooks across instances', (dialect) => {
  const open: (TestServer | Receiver)[] = [];
  afterEach(async () => {
    // The first server owns the database: it closes last.
    for (const thing of open.reverse()) await thing.close();
    open.length = 0;
  });

  const start = async (env: Record<string, string> = {}, first?: TestServer) => {
    const s = await startTestServer(
      dialect,
      { ...SHARED, ...env },
      first ? { sameDatabaseAs: first } : { sqliteOnFile: true },
    );
    open.push(s);
    return s;
  };
  const hookFor = async (s: TestServer, admin: UserRecord, receiver: Receiver) =>
    s.app.services.webhooks.create(
      { id: admin.id, username: admin.username, clientIp: null, via: 'api' },
      { name: 'instances', url: receiver.url(), events: ['key.created'] },
    );
  const allDelivered = async (s: TestServer, webhookId: string, count: number) => {
    const until = Date.now() + 20_000;
    for (;;) {
      const { rows } = await s.app.services.webhooks.listDeliveries(webhookId, {}, { limit: 200, offset: 0 });
      if (rows.length === count && rows.every((d) => d.status === 'delivered')) return rows;
      if (Date.now() > until) {
        throw new Error(`not all delivered: ${JSON.stringify(rows.map((d) => [d.status, d.attempt_count]))}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('delivers everything exactly once across a restart with deliveries pending and under way', async () => {
    const receiver = await startReceiver();
    const first = await start();
    open.unshift(receiver);
    const admin = await first.createUser('restart-admin', { superuser: true });
    const { webhook, secret } = await hookFor(first, admin, receiver);

    // The receiver is down: every event fails its first attempt and waits for a retry.
    receiver.answer(() => ({ status: 503 }));
    for (let i = 0; i < 10; i++) await first.createKey(admin, { name: `before restart ${i}` });
    await receiver.waitFor((got) => new Set(got.map((r) => r.headers['webhook-id'])).size === 10);

    // It comes back, slowly: the instance stops while attempts are under way.
    receiver.answer(() => ({ status: 200, delayMs: 300 }));
    const inFlight = receiver.received.length;
    await receiver.waitFor((got) => got.length > inFlight);
    await first.app.webhooks?.stop();
    const sentByFirst = receiver.received.length;

    // A new instance on the same database takes over what is left.
    const second = await start({}, first);
    const rows = await allDelivered(second, webhook.id, 10);
    const counts = deliveredCounts(receiver);
    expect(counts.size).toBe(10);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // What the first instance had under way was answered and recorded before it stopped.
    expect(receiver.received.slice(inFlight, sentByFirst).every((r) => r.status === 200)).toBe(true);
    expect(rows.map((d) => d.event_id).sort()).toEqual([...counts.keys()].sort());
    for (const r of receiver.received) verified(secret, r);
  });

  it('shares one outbox between two running instances without a duplicate', async () => {
    const receiver = await startReceiver();
    const a = await start();
    const b = await start({}, a);
    open.unshift(receiver);
    receiver.answer((_r, n) => ({ status: 204, delayMs: n % 7 }));
    const admin = await a.createUser('shared-admin', { superuser: true });
    const { webhook } = await hookFor(a, admin, receiver);
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).createKey(admin, { name: `shared ${i}` })),
    );
    const rows = await allDelivered(b, webhook.id, 30);
    const counts = deliveredCounts(receiver);
    expect(counts.size).toBe(30);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(receiver.received).toHaveLength(30);
    expect(rows.every((d) => d.attempt_count === 1)).toBe(true);
  });

  it('sends the events the command line raises in its own process', async () => {
    const receiver = await startReceiver();
    const s = await start();
    open.unshift(receiver);
    const admin = await s.app.services.users.create(CLI_ACTOR, {
      username: 'cli-owner',
      password: 'cli-owner-password-1',
      isSuperuser: true,
    });
    const { secret } = await hookFor(s, admin, receiver);
    const db = s.config.database;
    const run = await runLatchkey(['token', 'create', '--user', 'cli-owner', '--name', 'from the shell'], {
      ...SHARED,
      LATCHKEY_DATA_DIR: s.config.dataDir,
      LATCHKEY_LOG_LEVEL: 'warn',
      ...(db.kind === 'postgres'
        ? { LATCHKEY_DATABASE_URL: db.url, LATCHKEY_DATABASE_SCHEMA: db.schema }
        : { LATCHKEY_DATABASE_URL: `sqlite:${db.file}` }),
    });
    expect(run.code, run.err).toBe(0);
    const plaintext = run.out.split('\n').at(-1) as string;
    await receiver.waitFor((got) => got.length === 1);
    const payload = verified(secret, receiver.received[0]!);
    expect(payload).toMatchObject({
      type: 'key.created',
      data: { name: 'from the shell', created_via: 'cli', owner: { username: 'cli-owner' } },
    });
    expect(receiver.received[0]!.body).not.toContain(plaintext);
  });
});

import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus } from './support/expect.js';
import { describeEachDialect, startTestServer, type TestServer } from './support/test-server.js';
import { type Receiver, startReceiver } from './support/webhook-receiver.js';

// Server-side request forgery: a webhook may not point Latchkey at the machine it runs on, the
// private network or a cloud's metadata service, written any way a URL parser accepts, unless
// the operator opens that target; the check runs at creation and again at every delivery.

/** Instances of one deployment share these, so that each can read the secrets the other sealed. */
const SHARED_SECRETS = {
  LATCHKEY_KEY_PEPPER: 'ssrf-suite-pepper-0123456789abcdef0123',
  LATCHKEY_JWT_SECRET: 'ssrf-suite-jwt-secret-0123456789abcdef',
};

/** This machine's own name when it resolves to loopback only (it usually does): a name the URL rules cannot know. */
async function loopbackName(): Promise<string | undefined> {
  try {
    const name = hostname();
    const found = await lookup(name, { all: true });
    return found.length && found.every((a) => /^127\.|^::1$/.test(a.address)) ? name : undefined;
  } catch {
    return undefined;
  }
}

const BATTERY = [
  'https://127.0.0.1/hook',
  'https://[::1]/hook',
  'https://[::ffff:127.0.0.1]/hook',
  'https://2130706433/hook',
  'https://0x7f000001/hook',
  'https://0177.0.0.1/hook',
  'https://169.254.169.254/latest/meta-data/',
  'https://10.0.0.1/hook',
  'https://192.168.0.10/hook',
  'https://100.64.0.1/hook',
  'https://[fd00:ec2::254]/hook',
  'https://localhost/hook',
  'https://user:pass@hooks.example.com/hook',
  'file:///etc/passwd',
  'gopher://hooks.example.com/',
  'http://hooks.example.com/hook',
];

describeEachDialect('webhook targets', (dialect) => {
  let strict: TestServer;
  let strictKey: string;
  let name: string | undefined;
  beforeAll(async () => {
    strict = await startTestServer(dialect);
    strictKey = (await strict.createKey(await strict.createUser('ssrf-admin', { superuser: true }))).key;
    name = await loopbackName();
    if (!name)
      console.warn(
        '[latchkey tests] no host name of this machine resolves to loopback only: that case is skipped.',
      );
  });
  afterAll(() => strict.close());

  const create = (s: TestServer, key: string, url: string) =>
    s.call('/api/v1/webhooks', {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: { name: 'ssrf', url },
    });

  it('refuses every target of the battery by default, naming why, and stores nothing', async () => {
    const battery = name ? [...BATTERY, `https://${name}/hook`] : BATTERY;
    const reasons: Record<string, string> = {};
    for (const url of battery) {
      const r = await create(strict, strictKey, url);
      expectProblem(r, 400, 'WEBHOOK_URL_NOT_ALLOWED', 'body.url');
      reasons[url] = r.body.errors[0].message;
    }
    expect(reasons['https://127.0.0.1/hook']).toMatch(/loopback/);
    expect(reasons['https://[::ffff:127.0.0.1]/hook']).toMatch(
      /loopback address inside an IPv4-mapped IPv6 address/,
    );
    expect(reasons['https://2130706433/hook']).toMatch(/four decimal numbers/);
    expect(reasons['https://0x7f000001/hook']).toMatch(/four decimal numbers/);
    expect(reasons['https://169.254.169.254/latest/meta-data/']).toMatch(/cloud metadata/);
    expect(reasons['https://10.0.0.1/hook']).toMatch(/private/);
    expect(reasons['https://user:pass@hooks.example.com/hook']).toMatch(/username or password/);
    expect(reasons['file:///etc/passwd']).toMatch(/must use https, not file/);
    expect(reasons['http://hooks.example.com/hook']).toMatch(/LATCHKEY_WEBHOOK_ALLOW_HTTP/);
    if (name)
      expect(reasons[`https://${name}/hook`]).toMatch(
        new RegExp(`${name} resolves to 127\\.0\\.0\\.1, a loopback address`),
      );
    const list = await strict.call('/api/v1/webhooks', { headers: { 'x-api-key': strictKey } });
    expect(list.body.count).toBe(0);
  });

  it('accepts a public host name, even one that does not resolve yet', async () => {
    const r = await create(strict, strictKey, 'https://hooks.example.invalid/latchkey');
    expectStatus(r, 201);
  });

  it('opens the listed targets, and never the forms and schemes no list opens', async () => {
    const open = await startTestServer(dialect, {
      LATCHKEY_WEBHOOK_ALLOW_HTTP: 'true',
      LATCHKEY_WEBHOOK_ALLOWED_HOSTS: `127.0.0.0/8,::1,169.254.169.254,10.0.0.1,localhost${name ? `,${name}` : ''}`,
    });
    try {
      const key = (await open.createKey(await open.createUser('ssrf-open', { superuser: true }))).key;
      for (const url of [
        'https://127.0.0.1/hook',
        'https://[::1]/hook',
        'https://[::ffff:127.0.0.1]/hook',
        'https://169.254.169.254/latest/meta-data/',
        'https://10.0.0.1/hook',
        'https://localhost/hook',
        'http://hooks.example.invalid/hook',
        ...(name ? [`https://${name}/hook`] : []),
      ]) {
        expectStatus(await create(open, key, url), 201);
      }
      for (const url of [
        'https://2130706433/hook',
        'https://0x7f000001/hook',
        'https://192.168.0.10/hook',
        'https://user:pass@127.0.0.1/hook',
        'file:///etc/passwd',
      ]) {
        expectProblem(await create(open, key, url), 400, 'WEBHOOK_URL_NOT_ALLOWED', 'body.url');
      }
    } finally {
      await open.close();
    }
  });

  it('checks again at every delivery: a target opened once is refused after the operator closes it', async () => {
    const receiver: Receiver = await startReceiver();
    const env = {
      ...SHARED_SECRETS,
      LATCHKEY_WEBHOOK_ALLOW_HTTP: 'true',
      LATCHKEY_WEBHOOK_POLL_MS: '100',
      LATCHKEY_WEBHOOK_RETRY_BASE_MS: '50',
      LATCHKEY_WEBHOOK_MAX_ATTEMPTS: '2',
    };
    const before = await startTestServer(
      dialect,
      { ...env, LATCHKEY_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' },
      { sqliteOnFile: true },
    );
    let after: TestServer | undefined;
    try {
      const admin = await before.createUser('ssrf-redeliver', { superuser: true });
      const key = (await before.createKey(admin)).key;
      const hook = await create(before, key, receiver.url());
      expectStatus(hook, 201);
      await before.createKey(admin, { name: 'while open' });
      await receiver.waitFor((got) => got.length === 1);
      // The operator restarts without the allowance; the webhook is still in the database.
      // (The first instance stays up for the database it owns, but delivers no more.)
      await before.app.webhooks?.stop();
      after = await startTestServer(dialect, env, { sameDatabaseAs: before });
      await after.createKey(admin, { name: 'after closing' });
      const until = Date.now() + 10_000;
      let results: any[] = [];
      while (Date.now() < until) {
        results = (
          await after.call(`/api/v1/webhooks/${hook.body.id}/deliveries`, { headers: { 'x-api-key': key } })
        ).body.results;
        if (results[0]?.status === 'failed') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(results[0]).toMatchObject({ status: 'failed', attempt_count: 2 });
      for (const attempt of results[0].attempts) {
        expect(attempt).toMatchObject({ outcome: 'refused', status_code: null });
        expect(attempt.error).toMatch(/127\.0\.0\.1 is a loopback address; nothing was sent/);
      }
      expect(receiver.received).toHaveLength(1);
    } finally {
      await after?.close();
      await before.close();
      await receiver.close();
    }
  });
});

describe('the SSRF battery through the test endpoint', () => {
  it('sends nothing to a target that the rules refuse at delivery', async () => {
    // A webhook stored with a target the rules refuse (as if written by an older version):
    // the test event is refused before any connection.
    const s = await startTestServer('sqlite');
    try {
      const admin = await s.createUser('ssrf-test-endpoint', { superuser: true });
      const key = (await s.createKey(admin)).key;
      const made = await s.call('/api/v1/webhooks', {
        method: 'POST',
        headers: { 'x-api-key': key },
        json: { name: 'x', url: 'https://hooks.example.invalid/' },
      });
      await s.app.storage.db
        .updateTable('webhooks')
        .set({ url: 'https://169.254.169.254/latest/meta-data/' })
        .where('id', '=', made.body.id)
        .execute();
      const test = await s.call(`/api/v1/webhooks/${made.body.id}/test`, {
        method: 'POST',
        headers: { 'x-api-key': key },
      });
      expectStatus(test, 200);
      expect(test.body).toMatchObject({ status: 'failed' });
      expect(test.body.attempts[0]).toMatchObject({ outcome: 'refused', status_code: null });
      expect(test.body.attempts[0].error).toMatch(/cloud metadata address/);
    } finally {
      await s.close();
    }
  });
});

import { randomBytes } from 'node:crypto';
import { ContractValidator, type UserRecord } from '@latchkey/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus } from './support/expect.js';
import {
  basic,
  describeEachDialect,
  PASSWORD,
  startTestServer,
  type TestServer,
} from './support/test-server.js';
import { type Receiver, startReceiver, typesOf } from './support/webhook-receiver.js';
import { verified, WEBHOOK_ENV } from './support/webhooks.js';

// Outbound webhooks against real local HTTP receivers (opened through the operator's list),
// on SQLite and Postgres: every event delivered and signed so that the Standard Webhooks
// reference library verifies it, retries, 410, redirects, timeouts, bounded answers, secret
// rotation, the test event and redelivery, and the API's refusals.

const validator = new ContractValidator();

describeEachDialect('webhooks', (dialect) => {
  let s: TestServer;
  let admin: UserRecord;
  let key: string;
  let receiver: Receiver;
  const as = () => ({ 'x-api-key': key });

  beforeAll(async () => {
    s = await startTestServer(dialect, {
      ...WEBHOOK_ENV,
      LATCHKEY_TRUSTED_PROXIES: '127.0.0.1',
      LATCHKEY_LOCKOUT_ATTEMPTS: '3',
      LATCHKEY_METRICS: 'open',
    });
    admin = await s.createUser('wh-admin', { superuser: true });
    key = (await s.createKey(admin, { name: 'wh-admin key' })).key;
  });
  afterAll(() => s.close());

  beforeEach(async () => {
    receiver = await startReceiver();
  });
  afterEach(async () => {
    // No webhook of one test may receive the next one's events.
    const { body } = await s.call('/api/v1/webhooks?limit=200', { headers: as() });
    for (const w of body.results)
      await s.call(`/api/v1/webhooks/${w.id}`, { method: 'DELETE', headers: as() });
    await receiver.close();
  });

  const createWebhook = async (json: Record<string, unknown>) => {
    const r = await s.call('/api/v1/webhooks', {
      method: 'POST',
      headers: as(),
      json: { name: 'test hook', url: receiver.url(), ...json },
    });
    expectStatus(r, 201);
    return r.body as { id: string; secret: string };
  };
  const deliveriesOf = async (id: string, query = '') =>
    (await s.call(`/api/v1/webhooks/${id}/deliveries${query}`, { headers: as() })).body;
  const waitForDeliveries = async (id: string, done: (results: any[]) => boolean) => {
    const until = Date.now() + 15_000;
    for (;;) {
      const { results } = await deliveriesOf(id, '?limit=200');
      if (done(results)) return results;
      if (Date.now() > until) throw new Error(`deliveries never settled: ${JSON.stringify(results)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('sends every event, each verified by the standardwebhooks library and matching its schema', async () => {
    const hook = await createWebhook({});
    const post = (path: string, json?: unknown, headers: Record<string, string> = as()) =>
      s.call(path, { method: 'POST', headers, json });

    const bob = await post('/api/v1/admin/users', { username: 'wh-bob', password: PASSWORD });
    expectStatus(bob, 201);
    const bobId = bob.body.id as string;
    expectStatus(
      await s.call(`/api/v1/admin/users/${bobId}`, {
        method: 'PATCH',
        headers: as(),
        json: { can_verify_keys: true },
      }),
      200,
    );
    expectStatus(
      await post(`/api/v1/admin/users/${bobId}/password`, { password: 'bobs-second-password-2' }),
      204,
    );
    expectStatus(
      await post(
        '/api/v1/auth/password',
        { current_password: 'bobs-second-password-2', new_password: 'bobs-third-password-3' },
        { authorization: basic('wh-bob', 'bobs-second-password-2') },
      ),
      204,
    );
    const created = await post('/api/v1/keys', { name: 'wh-key', expires_at: '2099-01-01T00:00:00Z' });
    expectStatus(created, 201);
    const keyId = created.body.id as string;
    expectStatus(
      await s.call(`/api/v1/keys/${keyId}`, { method: 'PATCH', headers: as(), json: { name: 'renamed' } }),
      200,
    );
    expectStatus(await post(`/api/v1/keys/${keyId}/deactivate`), 200);
    expectStatus(await post(`/api/v1/keys/${keyId}/activate`), 200);
    const rotated = await post(`/api/v1/keys/${keyId}/rotate`, { grace_seconds: 60 });
    expectStatus(rotated, 201);
    expectStatus(await s.call(`/api/v1/keys/${rotated.body.id}`, { method: 'DELETE', headers: as() }), 204);
    for (let i = 0; i < 3; i++) {
      await s.call('/api/v1/auth/whoami', {
        headers: {
          'x-api-key': 'lk_000000000000000000000000000000000000000',
          'x-forwarded-for': '203.0.113.77',
        },
      });
    }
    expectStatus(await s.call(`/api/v1/admin/users/${bobId}`, { method: 'DELETE', headers: as() }), 204);

    const expected = [
      'user.created',
      'user.updated',
      'user.password_changed',
      'user.password_changed',
      'key.created',
      'key.updated',
      'key.deactivated',
      'key.activated',
      'key.rotated',
      'key.deleted',
      'auth.locked_out',
      'user.deleted',
    ];
    await receiver.waitFor((got) => got.filter((r) => r.status === 204).length >= expected.length);
    expect(typesOf(receiver.received).sort()).toEqual([...expected].sort());
    const byType = new Map<string, any[]>();
    for (const r of receiver.received) {
      const payload = verified(hook.secret, r);
      expect(validator.checkWebhookPayload(payload.type, payload), payload.type).toEqual([]);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['user-agent']).toMatch(/^Latchkey-Webhooks\//);
      expect(r.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
      expect(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(300);
      byType.set(payload.type, [...(byType.get(payload.type) ?? []), payload.data]);
    }
    // A tampered body fails verification.
    const first = receiver.received[0]!;
    expect(() =>
      verified(hook.secret, { ...first, body: first.body.replace('"data"', '"data" ') }),
    ).toThrow();
    expect(byType.get('key.created')?.[0]).toMatchObject({
      id: keyId,
      name: 'wh-key',
      start: created.body.start,
      owner: { id: admin.id, username: 'wh-admin' },
      expires_at: '2099-01-01T00:00:00.000Z',
    });
    expect(byType.get('key.updated')?.[0]).toMatchObject({ name: 'renamed', changes: ['name'] });
    expect(byType.get('key.deactivated')?.[0]).toMatchObject({ id: keyId, is_active: false });
    expect(byType.get('key.rotated')?.[0]).toMatchObject({
      id: keyId,
      replaced_by: { id: rotated.body.id, start: rotated.body.start },
      grace_seconds: 60,
    });
    expect(byType.get('key.deleted')?.[0]).toMatchObject({ id: rotated.body.id });
    expect(byType.get('user.updated')?.[0]).toMatchObject({ id: bobId, changes: ['can_verify_keys'] });
    expect(
      byType
        .get('user.password_changed')
        ?.map((d) => d.by_administrator)
        .sort(),
    ).toEqual([false, true]);
    expect(byType.get('auth.locked_out')?.[0]).toMatchObject({ address: '203.0.113.77', failures: 3 });
    expect(byType.get('user.deleted')?.[0]).toMatchObject({ id: bobId, username: 'wh-bob' });

    // No key, digest or secret in anything sent or logged.
    const plaintexts = [created.body.key, rotated.body.key, key];
    const digests = (await s.app.storage.db.selectFrom('api_keys').select('digest').execute()).map(
      (r) => r.digest,
    );
    const sealed = (await s.app.storage.db.selectFrom('webhooks').select('sealed_secret').execute()).map(
      (r) => r.sealed_secret,
    );
    const log = JSON.stringify(await deliveriesOf(hook.id, '?limit=200'));
    const stored = JSON.stringify([
      await s.app.storage.db.selectFrom('webhook_events').selectAll().execute(),
      await s.app.storage.db.selectFrom('webhook_attempts').selectAll().execute(),
      await s.app.storage.db.selectFrom('audit_events').selectAll().execute(),
    ]);
    for (const text of [...receiver.received.map((r) => r.body), log, stored]) {
      for (const secret of [...plaintexts, ...digests, ...sealed, hook.secret]) {
        expect(text.includes(secret), `a secret in ${text.slice(0, 80)}`).toBe(false);
      }
    }
    const results = await waitForDeliveries(hook.id, (rs) => rs.every((d) => d.status === 'delivered'));
    expect(results).toHaveLength(expected.length);
    for (const d of results) {
      expect(d).toMatchObject({ attempt_count: 1, next_attempt_at: null, status: 'delivered' });
      expect(d.attempts[0]).toMatchObject({ number: 1, status_code: 204, outcome: 'delivered', error: null });
      expect(d.payload.type).toBe(d.event_type);
    }

    const metrics = await (await s.fetch('/metrics')).text();
    expect(metrics).toMatch(/latchkey_webhook_deliveries_total\{result="delivered"\} [1-9]/);
    expect(metrics).toMatch(/latchkey_webhook_outbox_depth 0/);
  });

  it('sends only the events a webhook subscribes to, and none to an inactive one', async () => {
    const keys = await createWebhook({ events: ['key.deleted', 'key.created'] });
    const off = await createWebhook({ is_active: false });
    const made = await s.createKey(admin, { name: 'subscribed' });
    await s.app.services.users.create(
      { id: admin.id, username: admin.username, clientIp: null, via: 'cli' },
      { username: 'wh-unsubscribed', password: PASSWORD },
    );
    expectStatus(await s.call(`/api/v1/keys/${made.id}`, { method: 'DELETE', headers: as() }), 204);
    await receiver.waitFor((got) => got.length >= 2);
    expect(typesOf(receiver.received)).toEqual(['key.created', 'key.deleted']);
    expect((await deliveriesOf(off.id)).count).toBe(0);
    const { body } = await s.call(`/api/v1/webhooks/${keys.id}`, { headers: as() });
    expect(body.events).toEqual(['key.created', 'key.deleted']);
  });

  it('retries after a 500 with the same webhook-id, then succeeds, and logs each attempt', async () => {
    receiver.answer((_r, n) =>
      n === 1 ? { status: 500, body: '{"error":"database down"}' } : { status: 200 },
    );
    const hook = await createWebhook({ events: ['key.created'] });
    await s.createKey(admin, { name: 'retried' });
    const [delivery] = await waitForDeliveries(hook.id, (rs) => rs[0]?.status === 'delivered');
    expect(delivery.attempt_count).toBe(2);
    expect(delivery.attempts.map((a: any) => [a.number, a.status_code, a.outcome])).toEqual([
      [1, 500, 'http_error'],
      [2, 200, 'delivered'],
    ]);
    expect(delivery.attempts[0].response_body).toBe('{"error":"database down"}');
    expect(delivery.attempts[0].error).toMatch(/answered 500/);
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([
      delivery.event_id,
      delivery.event_id,
    ]);
    for (const r of receiver.received) verified(hook.secret, r);
  });

  it('gives a delivery up as failed after the last attempt', async () => {
    receiver.answer(() => ({ status: 503 }));
    const hook = await createWebhook({ events: ['key.created'] });
    await s.createKey(admin, { name: 'never delivered' });
    const [delivery] = await waitForDeliveries(hook.id, (rs) => rs[0]?.status === 'failed');
    expect(delivery).toMatchObject({ attempt_count: 3, next_attempt_at: null });
    expect(delivery.completed_at).toEqual(expect.any(String));
    expect(receiver.received).toHaveLength(3);
  });

  it('switches the webhook off on a 410, fails what was pending, and sends nothing more', async () => {
    receiver.answer(() => ({ status: 410, body: 'gone for good' }));
    const hook = await createWebhook({ events: ['key.created'] });
    await s.createKey(admin, { name: 'to a gone receiver' });
    await waitForDeliveries(hook.id, (rs) => rs[0]?.status === 'failed');
    const { body } = await s.call(`/api/v1/webhooks/${hook.id}`, { headers: as() });
    expect(body).toMatchObject({ is_active: false, disabled_reason: expect.stringMatching(/410 Gone/) });
    expect(receiver.received).toHaveLength(1);
    await s.createKey(admin, { name: 'after the 410' });
    expect((await deliveriesOf(hook.id)).count).toBe(1);
    const audit = await s.call(`/api/v1/admin/audit-events?target_id=${hook.id}&action=webhook.disabled`, {
      headers: as(),
    });
    expect(audit.body.results).toHaveLength(1);
    const redelivery = await s.call(
      `/api/v1/webhooks/${hook.id}/deliveries/${(await deliveriesOf(hook.id)).results[0].id}/redeliver`,
      { method: 'POST', headers: as() },
    );
    expectProblem(redelivery, 409, 'WEBHOOK_INACTIVE');
    // Switched on again: delivered, and the reason is gone.
    receiver.answer(() => ({ status: 204 }));
    const on = await s.call(`/api/v1/webhooks/${hook.id}`, {
      method: 'PATCH',
      headers: as(),
      json: { is_active: true },
    });
    expect(on.body).toMatchObject({ is_active: true, disabled_reason: null });
  });

  it('follows no redirect: a 302 is a failed attempt, and its target gets nothing', async () => {
    const elsewhere = await startReceiver();
    try {
      receiver.answer(() => ({ status: 302, headers: { location: elsewhere.url('/stolen') } }));
      const hook = await createWebhook({ events: ['key.created'] });
      await s.createKey(admin, { name: 'redirected' });
      const [delivery] = await waitForDeliveries(hook.id, (rs) => rs[0]?.status === 'failed');
      expect(delivery.attempts.map((a: any) => a.status_code)).toEqual([302, 302, 302]);
      expect(delivery.attempts[0].error).toMatch(/redirects are not followed/);
      expect(elsewhere.received).toHaveLength(0);
    } finally {
      await elsewhere.close();
    }
  });

  it('times out a receiver that never answers, and retries it', async () => {
    receiver.answer((_r, n) => (n === 1 ? 'hold' : { status: 204 }));
    const hook = await createWebhook({ events: ['key.created'] });
    await s.createKey(admin, { name: 'slow receiver' });
    const [delivery] = await waitForDeliveries(hook.id, (rs) => rs[0]?.status === 'delivered');
    expect(delivery.attempts[0]).toMatchObject({
      outcome: 'timeout',
      status_code: null,
      error: 'no answer within 800 ms',
    });
    expect(delivery.attempts[1]).toMatchObject({ outcome: 'delivered', status_code: 204 });
  });

  it("keeps only the start of a receiver's answer", async () => {
    receiver.answer(() => ({ status: 200, body: 'x'.repeat(100_000) }));
    const hook = await createWebhook({ events: ['key.created'] });
    await s.createKey(admin, { name: 'talkative receiver' });
    const [delivery] = await waitForDeliveries(hook.id, (rs) => rs[0]?.status === 'delivered');
    const logged = delivery.attempts[0].response_body as string;
    expect(logged.length).toBe(1024);
    expect(logged.endsWith('…')).toBe(true);
  });

  it('signs with both secrets during the grace after a rotation, then with the new one only', async () => {
    const hook = await createWebhook({ events: ['key.created'] });
    const rotated = await s.call(`/api/v1/webhooks/${hook.id}/rotate-secret`, {
      method: 'POST',
      headers: as(),
      json: { grace_seconds: 600 },
    });
    expectStatus(rotated, 200);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    expect(rotated.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(rotated.body.secret).not.toBe(hook.secret);
    expect(Date.parse(rotated.body.previous_secret_expires_at) - Date.now()).toBeGreaterThan(500_000);
    await s.createKey(admin, { name: 'during grace' });
    await receiver.waitFor((got) => got.length === 1);
    const during = receiver.received[0]!;
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verified(hook.secret, during).type).toBe('key.created');
    expect(verified(rotated.body.secret, during).type).toBe('key.created');

    const again = await s.call(`/api/v1/webhooks/${hook.id}/rotate-secret`, {
      method: 'POST',
      headers: as(),
      json: { grace_seconds: 0 },
    });
    expect(again.body.previous_secret_expires_at).toBeNull();
    await s.createKey(admin, { name: 'after grace' });
    await receiver.waitFor((got) => got.length === 2);
    const after = receiver.received[1]!;
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verified(again.body.secret, after).type).toBe('key.created');
    expect(() => verified(rotated.body.secret, after)).toThrow();
    expect(() => verified(hook.secret, after)).toThrow();
  });

  it('sends a test event now and answers with its delivery; redelivers with the same webhook-id', async () => {
    const hook = await createWebhook({ events: ['key.created'] });
    const test = await s.call(`/api/v1/webhooks/${hook.id}/test`, { method: 'POST', headers: as() });
    expectStatus(test, 200);
    expect(test.body).toMatchObject({ event_type: 'webhook.test', status: 'delivered', attempt_count: 1 });
    expect(test.body.attempts[0]).toMatchObject({ status_code: 204, outcome: 'delivered' });
    expect(receiver.received).toHaveLength(1);
    expect(verified(hook.secret, receiver.received[0]!)).toMatchObject({
      type: 'webhook.test',
      data: { webhook_id: hook.id },
    });

    receiver.answer(() => ({ status: 500 }));
    const failing = await s.call(`/api/v1/webhooks/${hook.id}/test`, { method: 'POST', headers: as() });
    expect(failing.body).toMatchObject({ status: 'failed', attempt_count: 1, next_attempt_at: null });
    expect(failing.body.attempts[0]).toMatchObject({ status_code: 500, outcome: 'http_error' });

    receiver.answer(() => ({ status: 204 }));
    const redelivered = await s.call(`/api/v1/webhooks/${hook.id}/deliveries/${failing.body.id}/redeliver`, {
      method: 'POST',
      headers: as(),
    });
    expectStatus(redelivered, 202);
    expect(redelivered.body).toMatchObject({
      status: 'pending',
      attempt_count: 0,
      event_id: failing.body.event_id,
    });
    await receiver.waitFor((got) => got.length === 3 && got[2]?.status === 204);
    expect(receiver.received[2]!.headers['webhook-id']).toBe(failing.body.event_id);
    const audit = await s.call(`/api/v1/admin/audit-events?target_id=${hook.id}`, { headers: as() });
    expect(audit.body.results.map((e: any) => e.action).sort()).toEqual([
      'webhook.created',
      'webhook.redelivered',
      'webhook.tested',
      'webhook.tested',
    ]);
  });

  it('shows the secret once, keeps it sealed, and refuses what it must', async () => {
    const made = await s.call('/api/v1/webhooks', {
      method: 'POST',
      headers: as(),
      json: { name: 'crud', url: receiver.url(), description: 'for the suite', events: ['user.created'] },
    });
    expectStatus(made, 201);
    expect(made.headers.get('cache-control')).toBe('no-store');
    expect(made.headers.get('location')).toBe(`/api/v1/webhooks/${made.body.id}`);
    expect(made.body).toMatchObject({ created_by: admin.id, is_active: true, description: 'for the suite' });
    const read = await s.call(`/api/v1/webhooks/${made.body.id}`, { headers: as() });
    expect(read.body.secret).toBeUndefined();
    const row = await s.app.storage.db
      .selectFrom('webhooks')
      .selectAll()
      .where('id', '=', made.body.id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(made.body.secret.slice(6));
    expect((await s.call('/api/v1/webhooks', { headers: as() })).body.results[0]).toEqual(read.body);

    const patched = await s.call(`/api/v1/webhooks/${made.body.id}`, {
      method: 'PATCH',
      headers: as(),
      json: { name: 'renamed', events: null },
    });
    expect(patched.body).toMatchObject({ name: 'renamed', events: null });

    const user = await s.createUser('wh-nobody');
    const userKey = (await s.createKey(user)).key;
    for (const [method, path] of [
      ['GET', '/api/v1/webhooks'],
      ['POST', '/api/v1/webhooks'],
      ['GET', `/api/v1/webhooks/${made.body.id}`],
      ['POST', `/api/v1/webhooks/${made.body.id}/test`],
      ['GET', `/api/v1/webhooks/${made.body.id}/deliveries`],
    ] as const) {
      const r = await s.call(path, {
        method,
        headers: { 'x-api-key': userKey },
        json: method === 'POST' ? { name: 'x', url: receiver.url() } : undefined,
      });
      expectProblem(r, 403, 'SUPERUSER_REQUIRED');
    }
    const unknown = '3f1c9a52-0d7e-4b8a-9c61-5e2f7d4a1b90';
    expectProblem(await s.call(`/api/v1/webhooks/${unknown}`, { headers: as() }), 404, 'WEBHOOK_NOT_FOUND');
    expectProblem(
      await s.call(`/api/v1/webhooks/${made.body.id}/deliveries/${unknown}/redeliver`, {
        method: 'POST',
        headers: as(),
      }),
      404,
      'WEBHOOK_DELIVERY_NOT_FOUND',
    );
    const bad = (json: unknown) => s.call('/api/v1/webhooks', { method: 'POST', headers: as(), json });
    expectProblem(
      await bad({ name: 'x', url: receiver.url(), events: ['key.nothing'] }),
      400,
      'VALIDATION_FAILED',
      'body.events',
    );
    expectProblem(
      await bad({ name: 'x', url: receiver.url(), events: [] }),
      400,
      'VALIDATION_FAILED',
      'body.events',
    );
    expectProblem(
      await bad({ name: 'x', url: receiver.url(), secret: 'whsec_mine' }),
      400,
      'VALIDATION_FAILED',
      'body.secret',
    );
    expectProblem(await bad({ url: receiver.url() }), 400, 'VALIDATION_FAILED', 'body.name');
    expectProblem(
      await s.call(`/api/v1/webhooks/${made.body.id}/rotate-secret`, {
        method: 'POST',
        headers: as(),
        json: { grace_seconds: 604_801 },
      }),
      400,
      'VALIDATION_FAILED',
      'body.grace_seconds',
    );
    expectProblem(
      await s.call(`/api/v1/webhooks/${made.body.id}`, {
        method: 'PATCH',
        headers: as(),
        json: { url: 'https://10.0.0.1/' },
      }),
      400,
      'WEBHOOK_URL_NOT_ALLOWED',
      'body.url',
    );
    expectStatus(await s.call(`/api/v1/webhooks/${made.body.id}`, { method: 'DELETE', headers: as() }), 204);
    expectProblem(
      await s.call(`/api/v1/webhooks/${made.body.id}`, { method: 'DELETE', headers: as() }),
      404,
      'WEBHOOK_NOT_FOUND',
    );
  });
});

describe('webhook secrets without a randomness shortcut', () => {
  it('are whsec_ and the base64 of 32 bytes, different each time', async () => {
    const s = await startTestServer('sqlite', WEBHOOK_ENV);
    try {
      const admin = await s.createUser('wh-secrets', { superuser: true });
      const secrets = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const { secret } = await s.app.services.webhooks.create(
          { id: admin.id, username: admin.username, clientIp: null, via: 'api' },
          { name: `s${i}`, url: `http://127.0.0.1:9/${randomBytes(4).toString('hex')}` },
        );
        expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
        secrets.add(secret);
      }
      expect(secrets.size).toBe(5);
    } finally {
      await s.close();
    }
  });
});

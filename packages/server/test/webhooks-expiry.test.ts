import { afterEach, expect, it } from 'vitest';
import { describeEachDialect, startTestServer, type TestServer } from './support/test-server.js';
import { type Receiver, startReceiver } from './support/webhook-receiver.js';
import { verified, WEBHOOK_ENV } from './support/webhooks.js';

// Notices before keys run out: key.expiring when a key enters the 7-day and the 1-day window,
// key.expired once it has expired; each once per key, window and expiry, on two instances
// scanning the same database and after a restart. The instances' clock is moved forward
// instead of waiting days.

const DAY = 86_400_000;
const SHARED = {
  ...WEBHOOK_ENV,
  LATCHKEY_KEY_PEPPER: 'expiry-suite-pepper-0123456789abcdef01',
  LATCHKEY_JWT_SECRET: 'expiry-suite-jwt-secret-0123456789abcd',
  LATCHKEY_WEBHOOK_EXPIRY_SCAN_MS: '100',
  LATCHKEY_WEBHOOK_POLL_MS: '50',
};

describeEachDialect('key expiry notices', (dialect) => {
  const open: (TestServer | Receiver)[] = [];
  afterEach(async () => {
    for (const thing of open.reverse()) await thing.close();
    open.length = 0;
  });

  it('sends key.expiring at 7 days and at 1 day and key.expired, each once, across instances and a restart', async () => {
    let offset = 0;
    const clock = () => Date.now() + offset;
    const receiver = await startReceiver();
    open.push(receiver);
    const a = await startTestServer(dialect, SHARED, { sqliteOnFile: true, clock });
    open.push(a);
    const b = await startTestServer(dialect, SHARED, { sameDatabaseAs: a, clock });
    open.push(b);
    const admin = await a.createUser('expiry-admin', { superuser: true });
    const { secret } = await a.app.services.webhooks.create(
      { id: admin.id, username: admin.username, clientIp: null, via: 'api' },
      { name: 'expiry', url: receiver.url(), events: ['key.expiring', 'key.expired'] },
    );
    const t0 = Date.now();
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    const tenDays = await a.createKey(admin, { name: 'ten days', expires_at: at(10 * DAY) });
    const halfDay = await a.createKey(admin, { name: 'half a day', expires_at: at(DAY / 2) });
    await a.createKey(admin, { name: 'a month', expires_at: at(30 * DAY) });
    await a.createKey(admin, { name: 'never' });
    const off = await a.createKey(admin, { name: 'deactivated', expires_at: at(DAY / 2) });
    await a.app.services.keys.setActive(
      { id: admin.id, username: admin.username, clientIp: null, via: 'api' },
      'any',
      off.id,
      false,
    );

    const notices = () =>
      receiver.received.map((r) => {
        const { type, data } = verified(secret, r);
        return `${data.name}: ${type}${data.threshold_days ? ` ${data.threshold_days}d` : ''}`;
      });
    const until = async (expected: string[]) => {
      await receiver.waitFor((got) => got.length >= expected.length);
      expect(notices().sort()).toEqual([...expected].sort());
    };

    // Already inside both windows: one notice, for the nearer.
    const first = ['half a day: key.expiring 1d'];
    await until(first);
    offset = 3.5 * DAY;
    const second = [...first, 'ten days: key.expiring 7d', 'half a day: key.expired'];
    await until(second);
    offset = 9.5 * DAY;
    const third = [...second, 'ten days: key.expiring 1d'];
    await until(third);
    offset = 10 * DAY + 3_600_000;
    const all = [...third, 'ten days: key.expired'];
    await until(all);

    // Nothing again: two instances scan every 100 ms, then one restarts.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(notices().sort()).toEqual([...all].sort());
    await b.app.webhooks?.stop();
    const c = await startTestServer(dialect, SHARED, { sameDatabaseAs: a, clock });
    open.push(c);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(notices().sort()).toEqual([...all].sort());
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(all.length);

    const tenDaysNotice = receiver.received
      .map((r) => verified(secret, r))
      .find((p) => p.type === 'key.expired' && p.data.id === tenDays.id);
    expect(tenDaysNotice.data).toMatchObject({
      expires_at: at(10 * DAY),
      is_active: true,
      owner: { id: admin.id },
    });
    expect(receiver.received.some((r) => r.body.includes(tenDays.key) || r.body.includes(halfDay.key))).toBe(
      false,
    );

    // A new expiry is a new key as far as notices go.
    await c.setExpiry(tenDays.id, at(10 * DAY + 7_200_000));
    await until([...all, 'ten days: key.expiring 1d']);
  });
});

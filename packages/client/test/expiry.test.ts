import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CredentialExpiringEvent, createLatchkeyClient, type LatchkeyClient } from '../src/index.js';
import { ADMIN, type LatchkeyTestServer, startLatchkeyServer } from './support/latchkey-server.js';

// The credential's expiry as the real server reports it in X-Auth-Expires.

const DAY = 24 * 3600 * 1000;
let server: LatchkeyTestServer;
let admin: LatchkeyClient;

async function keyExpiringIn(ms: number | null) {
  const expires_at = ms === null ? null : new Date(Date.now() + ms).toISOString();
  const { data } = await admin.createKey({ body: { name: `expires-${ms}`, expires_at } });
  return data;
}

beforeAll(async () => {
  server = await startLatchkeyServer();
  admin = createLatchkeyClient({ baseUrl: server.baseUrl, credentials: { login: ADMIN } });
});

afterAll(async () => {
  await server?.close();
});

describe('credential expiry', () => {
  it('fires onCredentialExpiring once when the key expires within the default week', async () => {
    const key = await keyExpiringIn(2 * DAY);
    const onCredentialExpiring = vi.fn<(event: CredentialExpiringEvent) => void>();
    const lk = createLatchkeyClient({
      baseUrl: server.baseUrl,
      credentials: { apiKey: key.key },
      onCredentialExpiring,
    });
    expect(lk.credentialExpiresAt).toBeUndefined();

    await lk.whoami();
    await lk.listKeys();
    expect(lk.credentialExpiresAt).toEqual(new Date(key.expires_at as string));
    expect(onCredentialExpiring).toHaveBeenCalledTimes(1);
    const event = onCredentialExpiring.mock.calls[0]?.[0] as CredentialExpiringEvent;
    expect(event.expiresAt).toEqual(new Date(key.expires_at as string));
    expect(event.msLeft).toBeGreaterThan(2 * DAY - 60_000);
    expect(event.msLeft).toBeLessThanOrEqual(2 * DAY);
  });

  it('stays quiet for a key that never expires, and for one beyond expiryWarningMs', async () => {
    const onCredentialExpiring = vi.fn();
    const forever = createLatchkeyClient({
      baseUrl: server.baseUrl,
      credentials: { apiKey: (await keyExpiringIn(null)).key },
      onCredentialExpiring,
    });
    await forever.whoami();
    expect(forever.credentialExpiresAt).toBeNull();

    const later = createLatchkeyClient({
      baseUrl: server.baseUrl,
      credentials: { token: (await keyExpiringIn(2 * DAY)).key },
      expiryWarningMs: DAY,
      onCredentialExpiring,
    });
    await later.whoami();
    expect(later.credentialExpiresAt).toBeInstanceOf(Date);
    expect(onCredentialExpiring).not.toHaveBeenCalled();
  });

  it('reports the expiry of a login JWT without warning, since the client renews it', async () => {
    const onCredentialExpiring = vi.fn();
    const lk = createLatchkeyClient({
      baseUrl: server.baseUrl,
      credentials: { login: ADMIN },
      onCredentialExpiring,
    });
    const { data } = await lk.whoami();
    expect(lk.credentialExpiresAt).toEqual(new Date(data.auth.expires_at as string));
    expect(onCredentialExpiring).not.toHaveBeenCalled();
  });
});

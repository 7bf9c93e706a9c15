import { createLatchkeyClient, type KeyCreate, type LatchkeyClient } from '../../src/index.js';
import { ADMIN, type LatchkeyTestServer, startLatchkeyServer } from './latchkey-server.js';

/** The service's own user: may verify keys, and its key holds nothing but `keys:verify`. */
export const GATEWAY = { username: 'gateway', password: 'gateway-password-42' };
/** The user whose keys the protected service sees. */
export const ARCHIVIST = { username: 'archivist', password: 'archivist-password-42' };

export interface GuardFixtures {
  server: LatchkeyTestServer;
  admin: LatchkeyClient;
  /** A key of GATEWAY, for the guard's `credentials`. */
  verifierKey: string;
  /** Makes a key of ARCHIVIST; returns its value and id. */
  keyOf(input?: Partial<KeyCreate>): Promise<{ key: string; id: string }>;
  /** ARCHIVIST's client, to deactivate their keys. */
  archivist: LatchkeyClient;
  /** How many verifications reached Latchkey so far. */
  verifications(): number;
  close(): Promise<void>;
}

/**
 * Starts the real Latchkey server with a verifier user (GATEWAY, `can_verify_keys`, a key with
 * only `keys:verify`) and an ordinary user (ARCHIVIST) whose keys the tests present.
 */
export async function startGuardFixtures(): Promise<GuardFixtures> {
  // The server's default limit is not what these tests are about; keys' own limits are.
  const server = await startLatchkeyServer({ LATCHKEY_RATE_LIMIT: '1000000' });
  const { baseUrl } = server;
  const admin = createLatchkeyClient({ baseUrl, credentials: { login: ADMIN } });
  await admin.adminCreateUser({ body: { ...GATEWAY, can_verify_keys: true } });
  await admin.adminCreateUser({ body: ARCHIVIST });
  const gateway = createLatchkeyClient({ baseUrl, credentials: { login: GATEWAY } });
  const { data: verifier } = await gateway.createKey({
    body: { name: 'guard', permissions: ['keys:verify'] },
  });
  const archivist = createLatchkeyClient({ baseUrl, credentials: { login: ARCHIVIST } });
  let n = 0;
  return {
    server,
    admin,
    archivist,
    verifierKey: verifier.key,
    async keyOf(input = {}) {
      n += 1;
      const { data } = await archivist.createKey({ body: { name: `presented ${n}`, ...input } });
      return { key: data.key, id: data.id };
    },
    verifications: () => server.hits.filter((h) => h.path === '/api/v1/keys/verify').length,
    close: () => server.close(),
  };
}

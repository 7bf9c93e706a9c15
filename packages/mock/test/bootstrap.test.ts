// Bootstrap on an empty mock: the first key is registered without a credential, once.
import { createLatchkeyClient, type LatchkeyError } from '@latchkey/client';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLatchkeyMock } from '../src/mock.js';

const mock = createLatchkeyMock({ baseUrl: 'http://empty.test' });
const server = setupServer(...mock.handlers);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

it('of 20 simultaneous register-key calls exactly one wins; its key belongs to the superuser admin', async () => {
  const anonymous = createLatchkeyClient({ baseUrl: mock.baseUrl });
  expect((await anonymous.getBootstrapStatus()).data).toEqual({ needs_bootstrap: true, has_db_keys: false });
  const keys = Array.from(
    { length: 20 },
    (_, i) => `bootstrap-key-${String(i).padStart(2, '0')}-0123456789abcdef`,
  );
  const results = await Promise.allSettled(
    keys.map((api_key) => anonymous.registerKey({ body: { api_key } })),
  );
  const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
  expect(won).toHaveLength(1);
  for (const r of results) {
    if (r.status === 'rejected') expect((r.reason as LatchkeyError).code).toBe('BOOTSTRAP_DONE');
  }
  const winner = createLatchkeyClient({ baseUrl: mock.baseUrl, credentials: { apiKey: keys[won[0]!]! } });
  const { data: me } = await winner.whoami();
  expect(me.user).toMatchObject({ username: 'admin', is_superuser: true });
  expect((await anonymous.getBootstrapStatus()).data).toEqual({ needs_bootstrap: false, has_db_keys: true });
  const login = await anonymous
    .login({ body: { username: 'admin', password: 'any password at all' } })
    .catch((e) => e);
  expect((login as LatchkeyError).code).toBe('AUTHENTICATION_FAILED');
});

// The README's ten lines, as written there (the import paths are the package's own exports).
import { createLatchkeyClient } from '@latchkey/client';
import { setupLatchkeyServer } from '@latchkey/mock/node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';

const { server, mock } = setupLatchkeyServer({
  baseUrl: 'http://latchkey.test',
  seed: { users: [{ username: 'alice' }], keys: [{ owner: 'alice' }] },
});
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());
afterEach(() => {
  server.resetHandlers();
  mock.reset();
});
it('lists my keys', async () => {
  const client = createLatchkeyClient({
    baseUrl: mock.baseUrl,
    credentials: { apiKey: mock.seeded.keys['alice-key-1']!.key },
  });
  expect((await client.listKeys()).data.count).toBe(1);
});

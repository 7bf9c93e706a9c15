import { describe, expect, it, vi } from 'vitest';
import { credentialsSent, fakeFetch, type SeenRequest } from '../test/support/fake-fetch.js';
import { createLatchkeyClient } from './client.js';

// A contract whose whoami and listKeys accept the key in the query only, to follow a query
// key through the whole stack (generated client, ky, transport). hey-api 0.95 on its own
// drops a query credential from calls that have no query parameters.
vi.mock('./generated/security.gen.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('./generated/security.gen.js')>();
  const queryOnly = { schemes: ['QueryApiKey'], anonymous: false };
  return {
    ...real,
    operationSecurity: {
      ...real.operationSecurity,
      whoami: { ...real.operationSecurity.whoami, ...queryOnly },
      listKeys: { ...real.operationSecurity.listKeys, ...queryOnly },
    },
  };
});

const KEY = 'lk_4GqNv0Qm8ZrT2cYwX7bLp1sDk9HfE3aJ1Z0f2k';

describe('a key sent in the query', () => {
  it('reaches the server on calls with and without query parameters, and nowhere else', async () => {
    const server = fakeFetch();
    const client = createLatchkeyClient({
      baseUrl: 'http://h',
      credentials: { token: KEY },
      fetch: server.fetch,
    });
    await client.whoami();
    await client.listKeys({ query: { limit: 5, is_active: true } });
    const [whoami, list] = server.seen as [SeenRequest, SeenRequest];
    expect(credentialsSent(whoami)).toEqual({ '?api_key': KEY });
    expect(credentialsSent(list)).toEqual({ '?api_key': KEY });
    expect(Object.fromEntries(list.url.searchParams)).toEqual({
      limit: '5',
      is_active: 'true',
      api_key: KEY,
    });
  });
});

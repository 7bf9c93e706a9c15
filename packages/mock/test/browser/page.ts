// Runs in Chromium: the consumer's view of @latchkey/mock/browser with the SDK.
import { createLatchkeyClient, RateLimitError } from '@latchkey/client';
import { scenarios, setupLatchkeyWorker } from '../../src/browser.js';

async function run() {
  const { worker, mock } = setupLatchkeyWorker({
    baseUrl: 'http://latchkey.test',
    seed: { users: [{ username: 'alice' }], keys: [{ owner: 'alice', name: 'browser' }] },
    config: { rateLimit: 3 },
  });
  await worker.start({ onUnhandledRequest: 'bypass', quiet: true });
  const client = createLatchkeyClient({
    baseUrl: 'http://latchkey.test',
    credentials: { apiKey: mock.seeded.keys.browser?.key ?? '' },
    maxRateLimitRetries: 0,
  });
  const me = await client.whoami();
  const created = await client.createKey({ body: { name: 'made in the browser' } });
  const page = await client.listKeys();
  let limited = '';
  try {
    await client.whoami();
  } catch (err) {
    limited = err instanceof RateLimitError ? `${err.status} ${err.code}` : String(err);
  }
  worker.use(...scenarios.serverError({ once: true }));
  const failed = await fetch('http://latchkey.test/health').then((r) => r.status);
  return {
    method: me.data.auth.method,
    remaining: me.response.headers.get('x-ratelimit-remaining'),
    createdKey: created.data.key,
    names: page.data.results.map((k) => k.name),
    limited,
    failed,
  };
}

(window as unknown as { result: Promise<unknown> }).result = run().catch((err: Error) => ({
  error: String(err.stack ?? err),
}));

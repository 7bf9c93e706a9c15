// The page of browser-cors.test.ts, bundled with esbuild and served from another origin than
// Latchkey's. `?api=` is Latchkey's URL; `?as=` the user to log in as. It stores what it saw
// in `window.result` for the test to read.
import { createLatchkeyClient, LatchkeyError } from '@latchkey/client';

const query = new URLSearchParams(location.search);
const baseUrl = query.get('api') ?? '';
const account = { username: query.get('as') ?? '', password: query.get('password') ?? '' };

function describeError(err: unknown) {
  if (err instanceof LatchkeyError) return { name: err.name, status: err.status, code: err.code };
  const e = err as Error;
  return { name: e.name, message: e.message, cause: String((e.cause as Error | undefined)?.message ?? '') };
}

/** From a listed origin: log in with the session cookie, make a key, read the rate limit. */
async function listed() {
  const browser = createLatchkeyClient({ baseUrl, credentials: { session: true } });
  const { data: login } = await browser.login({ body: account });
  const { data: key, response: created } = await browser.createKey({ body: { name: 'made in the browser' } });
  const { data: me, response: whoami } = await browser.whoami();
  const stranger = createLatchkeyClient({ baseUrl, credentials: { apiKey: `lk_${'x'.repeat(38)}` } });
  const refused = await stranger.whoami().then(
    () => 'accepted',
    (err: unknown) => describeError(err),
  );
  const script = createLatchkeyClient({ baseUrl, credentials: { apiKey: key.key } });
  const { data: viaKey } = await script.whoami();
  const limit = browser.rateLimit;
  return {
    loggedIn: login.user.username,
    createdStatus: created.status,
    keyName: key.name,
    keyPrefix: key.key.slice(0, 3),
    location: created.headers.get('Location') === null ? null : 'present',
    sessionMethod: me.auth.method,
    authHeader: whoami.headers.get('X-Auth-Method'),
    rateLimit: limit && { limit: limit.limit, remaining: limit.remaining, resets: limit.resetAt !== null },
    unauthorized: refused,
    keyMethod: viaKey.auth.method,
  };
}

/** From an unlisted origin: every call fails as the browser withholds the answer. */
async function unlisted() {
  const browser = createLatchkeyClient({ baseUrl, credentials: { session: true } });
  const health = await browser.getHealth().then(
    () => 'read',
    (err: unknown) => describeError(err),
  );
  const login = await browser.login({ body: account }).then(
    () => 'logged in',
    (err: unknown) => describeError(err),
  );
  return { health, login };
}

(window as unknown as { result: Promise<unknown> }).result = (
  query.get('mode') === 'listed' ? listed() : unlisted()
).catch((err: unknown) => ({ failed: describeError(err) }));

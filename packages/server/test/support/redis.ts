import { Redis } from 'ioredis';

/** The machine's Redis; override with LATCHKEY_TEST_REDIS_URL. */
export const REDIS_URL = process.env.LATCHKEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function probeRedis(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    client.disconnect();
  }
}

const probeError = (await probeRedis()) && (await probeRedis());
export const HAS_REDIS = !probeError;
if (probeError) {
  console.warn(
    `[latchkey tests] Redis is not reachable at ${REDIS_URL} (${probeError}): the Redis runs are skipped.`,
  );
}

/** The stores protection tests run against: memory always, Redis when reachable. */
export const STORES = [
  { name: 'memory', skip: false, env: {} as Record<string, string> },
  { name: 'redis', skip: !HAS_REDIS, env: { LATCHKEY_REDIS_URL: REDIS_URL } as Record<string, string> },
];

// The fallback load generator, in its own process so that it can be pinned to a core.
// Prints one JSON line with the same fields as the wrk runner.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { LoadResult, LoadSpec } from './load.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const keys = spec.randomKeysFile ? readFileSync(spec.randomKeysFile, 'utf8').split('\n').filter(Boolean) : [];

const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.durationS,
  timeout: 10,
  headers:
    spec.body === undefined ? (spec.headers ?? {}) : { ...spec.headers, 'content-type': 'application/json' },
  ...(spec.body === undefined ? {} : { method: 'POST' as const, body: spec.body }),
  ...(keys.length
    ? {
        requests: [
          {
            setupRequest: (req: autocannon.Request) => ({
              ...req,
              headers: {
                ...req.headers,
                'x-api-key': keys[Math.floor(Math.random() * keys.length)] as string,
              },
            }),
          },
        ],
      }
    : {}),
});
const out: LoadResult = {
  rps: result.requests.average,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  requests: result.requests.total,
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
};
process.stdout.write(`${JSON.stringify(out)}\n`);

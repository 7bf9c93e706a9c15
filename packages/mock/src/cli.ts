import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { COOKIE_SAME_SITE, type CookieSameSite } from '@latchkey/core';
import { startMockServer } from './http-server.js';
import type { MockConfig } from './mock.js';
import type { SeedSpec } from './seed.js';

const USAGE = `latchkey-mock: a stateful mock of the Latchkey API over HTTP

  latchkey-mock [--port 4010] [--host 127.0.0.1] [--seed seed.json]
                [--rate-limit N] [--rate-window S] [--lockout-attempts N] [--lockout-duration S]
                [--cors-origin http://localhost:5173 ...] [--cookie-samesite lax|strict|none]

--cors-origin (repeatable) lets a browser page on that origin call the mock with its
credentials, as LATCHKEY_CORS_ORIGINS does for the server; "*" is refused.
--cookie-samesite sets the session cookies' SameSite (default lax); none also marks them Secure.

--seed reads {"users": [{"username": "alice", "password": "...", "is_superuser": true}],
              "keys": [{"owner": "alice", "name": "ci", "key": "<at least 32 characters>"}]}
and prints the seeded users and keys (with their plaintext) as JSON on standard output.`;

/**
 * Runs the `latchkey-mock` command with the given arguments.
 *
 * @example
 * ```ts
 * await runCli(['--port', '4010', '--rate-limit', '5']);
 * ```
 */
export async function runCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '4010' },
      host: { type: 'string', default: '127.0.0.1' },
      seed: { type: 'string' },
      'rate-limit': { type: 'string' },
      'rate-window': { type: 'string' },
      'lockout-attempts': { type: 'string' },
      'lockout-duration': { type: 'string' },
      'cors-origin': { type: 'string', multiple: true },
      'cookie-samesite': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const number = (name: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got ${raw}`);
    return n;
  };
  const config: MockConfig = {};
  const set = <K extends keyof MockConfig>(key: K, value: MockConfig[K]) => {
    if (value !== undefined) config[key] = value;
  };
  set('rateLimit', number('rate-limit', values['rate-limit']));
  set('rateWindowS', number('rate-window', values['rate-window']));
  set('lockoutAttempts', number('lockout-attempts', values['lockout-attempts']));
  set('lockoutDurationS', number('lockout-duration', values['lockout-duration']));
  const sameSite = values['cookie-samesite'];
  if (sameSite !== undefined && !(COOKIE_SAME_SITE as readonly string[]).includes(sameSite)) {
    throw new Error(`--cookie-samesite must be lax, strict or none, got ${sameSite}`);
  }
  if (sameSite) config.cookieSameSite = sameSite as CookieSameSite;
  if (sameSite === 'none') config.cookieSecure = true;
  const seed = values.seed ? (JSON.parse(readFileSync(values.seed, 'utf8')) as SeedSpec) : undefined;
  const running = await startMockServer({
    port: number('port', values.port) ?? 4010,
    host: values.host,
    config,
    corsOrigins: values['cors-origin'] ?? [],
    ...(seed ? { seed } : {}),
  });
  console.error(`latchkey-mock listening on ${running.url}`);
  if (seed) console.log(JSON.stringify(running.mock.seeded, null, 2));
  const stop = () => void running.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

import path from 'node:path';
import {
  AUTH_METHOD_SWITCHES,
  type AuthMethodSwitch,
  COOKIE_SAME_SITE,
  type CookieSameSite,
  checkCorsOrigin,
  cookieSettingsProblem,
  parseAllowedHosts,
  parseIpRules,
  type RulesConfig,
} from '@latchkey/core';

export { AUTH_METHOD_SWITCHES, type AuthMethodSwitch } from '@latchkey/core';

export type DatabaseConfig =
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; url: string; schema: string };

export interface Config extends RulesConfig {
  host: string;
  port: number;
  dataDir: string;
  database: DatabaseConfig;
  adminUsername: string | undefined;
  adminPassword: string | undefined;
  keyPepper: string | undefined;
  jwtSecret: string | undefined;
  /** Origins of browser pages that may call the API (CORS), exactly as browsers send them. */
  corsOrigins: string[];
  usageFlushMs: number;
  logLevel: string;
  /** undefined: pretty at a terminal, JSON otherwise. */
  logFormat: 'json' | 'pretty' | undefined;
  redisUrl: string | undefined;
  redisPrefix: string;
  authCacheSize: number;
  authCacheTtlS: number;
  sqliteBusyTimeoutMs: number;
  shutdownTimeoutS: number;
  /** Processes `latchkey serve` runs through node:cluster, sharing one port and one database. */
  workers: number;
  metrics: MetricsSetting;
  webhookConnectTimeoutMs: number;
  webhookPollMs: number;
  webhookExpiryScanMs: number;
  webhookRetentionDays: number;
}

/** Who may read GET /metrics: nobody (404), anyone, or a scraper that sends the token. */
export type MetricsSetting = { mode: 'off' } | { mode: 'open' } | { mode: 'token'; token: string };

/** The shortest metrics token accepted: long enough that guessing it is hopeless. */
export const MIN_METRICS_TOKEN_LENGTH = 32;

type Parser<T> = (raw: string) => T;

export interface ConfigEntry<K extends keyof Config = keyof Config> {
  key: K;
  env: string;
  flag?: string;
  description: string;
  /** The default as an operator would write it; undefined when there is none. */
  default: string | undefined;
  parse: Parser<Config[K]>;
}

class BadValue extends Error {}

/**
 * Relative paths are taken from where the user ran the command: package scripts run inside
 * the package's folder, but the package manager passes the original folder as INIT_CWD.
 */
function resolveFromUser(p: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new BadValue(`must be a whole number, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new BadValue(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };

const boolean: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new BadValue(`must be true or false, got "${raw}"`);
};

const optionalSecret =
  (what: string): Parser<string | undefined> =>
  (raw) => {
    if (raw === '') return undefined;
    if (raw.length < 32) throw new BadValue(`${what} must be at least 32 characters`);
    return raw;
  };

const list = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The most header names LATCHKEY_API_KEY_HEADERS may list (GET /meta declares the bound). */
const MAX_API_KEY_HEADERS = 16;

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

function parseDatabaseUrl(raw: string, dataDir: string, schema: string): DatabaseConfig {
  if (raw === '') return { kind: 'sqlite', file: path.join(dataDir, 'latchkey.db') };
  if (/^postgres(ql)?:\/\//.test(raw)) {
    try {
      new URL(raw);
    } catch {
      throw new BadValue('is not a valid postgres:// URL');
    }
    return { kind: 'postgres', url: raw, schema };
  }
  if (raw.startsWith('sqlite:')) {
    const file = raw.slice('sqlite:'.length);
    if (!file) throw new BadValue('sqlite: needs a file name, or :memory:');
    return { kind: 'sqlite', file: file === ':memory:' ? file : resolveFromUser(file) };
  }
  throw new BadValue('must start with postgres://, postgresql:// or sqlite:');
}

/**
 * Every setting, with its variable, default and meaning. The configuration reference in
 * docs/ is generated from this list.
 */
export const CONFIG_ENTRIES: ConfigEntry[] = [
  {
    key: 'host',
    env: 'LATCHKEY_HOST',
    flag: '--host',
    description: 'Address to listen on.',
    default: '127.0.0.1',
    parse: (raw) => {
      if (!raw.trim()) throw new BadValue('must not be empty');
      return raw.trim();
    },
  },
  {
    key: 'port',
    env: 'LATCHKEY_PORT',
    flag: '--port',
    description: 'TCP port to listen on (0 picks a free one).',
    default: '8800',
    parse: integer(0, 65535),
  },
  {
    key: 'dataDir',
    env: 'LATCHKEY_DATA_DIR',
    flag: '--data-dir',
    description: 'Folder for the SQLite database and the generated secrets.',
    default: './data',
    parse: (raw) => resolveFromUser(raw),
  },
  {
    key: 'adminUsername',
    env: 'LATCHKEY_ADMIN_USERNAME',
    description: 'With LATCHKEY_ADMIN_PASSWORD: the superuser created on first start when no user exists.',
    default: undefined,
    parse: (raw) => {
      if (raw === '') return undefined;
      if (!/^[\w.@+-]{1,150}$/.test(raw))
        throw new BadValue('may hold only letters, digits and . @ + - _ (at most 150)');
      return raw;
    },
  },
  {
    key: 'adminPassword',
    env: 'LATCHKEY_ADMIN_PASSWORD',
    description: 'The password of that first superuser.',
    default: undefined,
    parse: (raw) => (raw === '' ? undefined : raw),
  },
  {
    key: 'keyPrefix',
    env: 'LATCHKEY_KEY_PREFIX',
    description: 'Prefix of generated keys: lowercase letters and digits ending in "_".',
    default: 'lk_',
    parse: (raw) => {
      if (!/^[a-z][a-z0-9]{0,15}_$/.test(raw))
        throw new BadValue('must be 2 to 17 lowercase letters or digits ending in "_", like lk_');
      return raw;
    },
  },
  {
    key: 'keyPepper',
    env: 'LATCHKEY_KEY_PEPPER',
    description:
      'Secret for the keyed hashes of keys (at least 32 characters). Generated into the data folder when not set; set it on every instance when several share a database.',
    default: undefined,
    parse: optionalSecret('the pepper'),
  },
  {
    key: 'jwtSecret',
    env: 'LATCHKEY_JWT_SECRET',
    description:
      'Secret that signs login JWTs and seals get_api_token tokens (at least 32 characters). Generated into the data folder when not set.',
    default: undefined,
    parse: optionalSecret('the JWT secret'),
  },
  {
    key: 'authMethods',
    env: 'LATCHKEY_AUTH_METHODS',
    description: `Authentication methods to accept, comma separated, from: ${AUTH_METHOD_SWITCHES.join(', ')}.`,
    default: AUTH_METHOD_SWITCHES.join(','),
    parse: (raw) => {
      const items = list(raw);
      const bad = items.filter((i) => !(AUTH_METHOD_SWITCHES as readonly string[]).includes(i));
      if (bad.length) throw new BadValue(`unknown method(s) ${bad.join(', ')}`);
      return [...new Set(items)] as AuthMethodSwitch[];
    },
  },
  {
    key: 'apiKeyHeaders',
    env: 'LATCHKEY_API_KEY_HEADERS',
    description:
      'Header names that carry an API key, comma separated, at most 16 (for example X-API-Key,X-ArchiveBox-API-Key).',
    default: 'X-API-Key',
    parse: (raw) => {
      const items = list(raw);
      if (!items.length) throw new BadValue('must name at least one header');
      if (items.length > MAX_API_KEY_HEADERS)
        throw new BadValue(`may name at most ${MAX_API_KEY_HEADERS} headers`);
      const bad = items.filter((h) => !HEADER_NAME.test(h) || /^(authorization|cookie)$/i.test(h));
      if (bad.length) throw new BadValue(`not usable as an API key header: ${bad.join(', ')}`);
      return items;
    },
  },
  {
    key: 'superuserOnly',
    env: 'LATCHKEY_SUPERUSER_ONLY',
    description: 'Only superusers may use the API (ArchiveBox behaviour).',
    default: 'false',
    parse: boolean,
  },
  {
    key: 'loginRequired',
    env: 'LATCHKEY_LOGIN_REQUIRED',
    description:
      "Forward authentication (GET /api/v1/auth/forward) needs a credential. With false, a request without one and with a safe method (GET, HEAD, OPTIONS) passes as Anonymous on its address rate limit, as NetBox allows with LOGIN_REQUIRED off; a wrong credential is still refused, and Latchkey's own API always needs a credential. See docs/proxy.md.",
    default: 'true',
    parse: boolean,
  },
  {
    key: 'jwtTtlSeconds',
    env: 'LATCHKEY_JWT_TTL_S',
    description: 'Lifetime of a login (JWT and session cookie) in seconds.',
    default: String(7 * 24 * 3600),
    parse: integer(60, 365 * 24 * 3600),
  },
  {
    key: 'apiTokenTtlDays',
    env: 'LATCHKEY_API_TOKEN_TTL_DAYS',
    description: 'Lifetime in days of tokens issued by POST /api/v1/auth/get_api_token.',
    default: '30',
    parse: integer(1, 3650),
  },
  {
    key: 'cookieSecure',
    env: 'LATCHKEY_COOKIE_SECURE',
    description: 'Always mark the session cookie Secure (it is whenever the request came over HTTPS).',
    default: 'false',
    parse: boolean,
  },
  {
    key: 'cookieSameSite',
    env: 'LATCHKEY_COOKIE_SAMESITE',
    description:
      'SameSite of the session and CSRF cookies: lax, strict, or none (sent by pages on other sites too, where the browser allows third-party cookies; needs LATCHKEY_COOKIE_SECURE=true). See docs/cors.md.',
    default: 'lax',
    parse: (raw) => {
      const v = raw.trim().toLowerCase();
      if (!(COOKIE_SAME_SITE as readonly string[]).includes(v))
        throw new BadValue('must be lax, strict or none');
      return v as CookieSameSite;
    },
  },
  {
    key: 'corsOrigins',
    env: 'LATCHKEY_CORS_ORIGINS',
    description:
      'Origins of browser pages allowed to call the API with their credentials, comma separated, each exactly scheme://host[:port] (for example https://app.example,http://localhost:5173); "*" is refused. Empty: no page on another origin may read an answer. See docs/cors.md.',
    default: '',
    parse: (raw) => {
      const items = list(raw);
      const problems: string[] = [];
      for (const item of items) {
        try {
          checkCorsOrigin(item);
        } catch (err) {
          problems.push((err as Error).message);
        }
      }
      if (problems.length) throw new BadValue(problems.join('; '));
      return [...new Set(items)];
    },
  },
  {
    key: 'passwordMinLength',
    env: 'LATCHKEY_PASSWORD_MIN_LENGTH',
    description: 'Minimum length of a new password.',
    default: '10',
    parse: integer(8, 128),
  },
  {
    key: 'maxBodyBytes',
    env: 'LATCHKEY_MAX_BODY_BYTES',
    description:
      'Largest accepted request body, in bytes, after decoding a compressed one (gzip, deflate, br).',
    default: '65536',
    parse: integer(1024, 10 * 1024 * 1024),
  },
  {
    key: 'usageFlushMs',
    env: 'LATCHKEY_USAGE_FLUSH_MS',
    description: 'How often the buffered last-used time and address of keys are written, in milliseconds.',
    default: '5000',
    parse: integer(100, 600_000),
  },
  {
    key: 'logLevel',
    env: 'LATCHKEY_LOG_LEVEL',
    description: 'Log level: fatal, error, warn, info, debug, trace or silent.',
    default: 'info',
    parse: (raw) => {
      if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(raw))
        throw new BadValue('must be one of fatal, error, warn, info, debug, trace, silent');
      return raw;
    },
  },
  {
    key: 'logFormat',
    env: 'LATCHKEY_LOG_FORMAT',
    description:
      'Log format: json (one JSON object a line, for collectors) or pretty (coloured text for a person). Default: pretty when standard output is a terminal, json otherwise.',
    default: undefined,
    parse: (raw) => {
      if (raw === '') return undefined;
      if (raw !== 'json' && raw !== 'pretty') throw new BadValue('must be json or pretty');
      return raw;
    },
  },
  {
    key: 'rateLimit',
    env: 'LATCHKEY_RATE_LIMIT',
    description:
      'Requests allowed per credential (per client address when anonymous) in each window; a key may have its own.',
    default: '100',
    parse: integer(1, 1_000_000),
  },
  {
    key: 'rateWindowS',
    env: 'LATCHKEY_RATE_WINDOW_S',
    description: 'Length of the rate-limit window in seconds.',
    default: '60',
    parse: integer(1, 86_400),
  },
  {
    key: 'lockoutAttempts',
    env: 'LATCHKEY_LOCKOUT_ATTEMPTS',
    description: 'Failed authentications from one client address that lock it out.',
    default: '5',
    parse: integer(1, 1000),
  },
  {
    key: 'lockoutWindowS',
    env: 'LATCHKEY_LOCKOUT_WINDOW_S',
    description: 'Window in seconds in which those failures are counted.',
    default: '300',
    parse: integer(1, 86_400),
  },
  {
    key: 'lockoutDurationS',
    env: 'LATCHKEY_LOCKOUT_DURATION_S',
    description: 'How long a locked-out address is refused, in seconds.',
    default: '300',
    parse: integer(1, 86_400),
  },
  {
    key: 'trustedProxies',
    env: 'LATCHKEY_TRUSTED_PROXIES',
    description:
      'Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed, comma separated. Empty: the socket address is the client.',
    default: '',
    parse: (raw) => {
      try {
        return parseIpRules(list(raw));
      } catch (err) {
        throw new BadValue((err as Error).message);
      }
    },
  },
  {
    key: 'redisUrl',
    env: 'LATCHKEY_REDIS_URL',
    description:
      'redis:// or rediss:// URL: rate limits and lockouts are then shared by every instance. Empty: rate limits are kept in memory, lockouts in the database.',
    default: undefined,
    parse: (raw) => {
      if (raw === '') return undefined;
      if (!/^rediss?:\/\//.test(raw)) throw new BadValue('must start with redis:// or rediss://');
      try {
        new URL(raw);
      } catch {
        throw new BadValue('is not a valid URL');
      }
      return raw;
    },
  },
  {
    key: 'redisPrefix',
    env: 'LATCHKEY_REDIS_PREFIX',
    description:
      'Prefix of every Redis key Latchkey writes, so that several deployments can share one Redis.',
    default: 'latchkey',
    parse: (raw) => {
      if (!/^[A-Za-z0-9:_-]{1,64}$/.test(raw))
        throw new BadValue('may hold only letters, digits, : _ - (1 to 64)');
      return raw;
    },
  },
  {
    key: 'authCacheSize',
    env: 'LATCHKEY_AUTH_CACHE_SIZE',
    description:
      'Verified credentials kept in memory per kind (API keys, logins, Basic pairs), so that a repeated credential reads no database and hashes no password; the oldest go first. 0 turns the cache off.',
    default: '10000',
    parse: integer(0, 1_000_000),
  },
  {
    key: 'authCacheTtlS',
    env: 'LATCHKEY_AUTH_CACHE_TTL_S',
    description:
      'Longest time a verified credential stays cached, in seconds. Changes invalidate it at once anyway (on other instances through Redis); on Postgres without Redis it is capped at 1 s.',
    default: '60',
    parse: integer(0, 86_400),
  },
  {
    key: 'sqliteBusyTimeoutMs',
    env: 'LATCHKEY_SQLITE_BUSY_TIMEOUT_MS',
    description:
      'SQLite: how long a write waits for the lock while another process (the CLI, a shell, a backup) holds it, in milliseconds; then it answers 503 DATABASE_BUSY with Retry-After. Reads never wait for it.',
    default: '2000',
    parse: integer(0, 60_000),
  },
  {
    key: 'shutdownTimeoutS',
    env: 'LATCHKEY_SHUTDOWN_TIMEOUT_S',
    description:
      'On SIGTERM or SIGINT: how long requests under way may take to finish, in seconds, before their connections are closed; then buffered last-used times are written and the server exits.',
    default: '10',
    parse: integer(0, 3600),
  },
  {
    key: 'workers',
    env: 'LATCHKEY_WORKERS',
    flag: '--workers',
    description:
      'How many server processes `latchkey serve` runs (node:cluster), sharing one port and one database: rate limits are counted by the primary process (or Redis), lockouts in the database (or Redis), last-used times written by the primary alone, and a change made through one worker refused by every other within a second. 1 runs a single process. Not with an in-memory SQLite database.',
    default: '1',
    parse: integer(1, 64),
  },
  {
    key: 'metrics',
    env: 'LATCHKEY_METRICS',
    description: `Prometheus metrics at GET /metrics: off (answers 404), open (anyone who reaches the port), or a token of at least ${MIN_METRICS_TOKEN_LENGTH} characters that the scraper sends as "Authorization: Bearer <token>".`,
    default: 'off',
    parse: (raw) => {
      const value = raw.trim();
      if (value === '' || value === 'off') return { mode: 'off' };
      if (value === 'open') return { mode: 'open' };
      // The value is a secret: the messages below never repeat it.
      if (value.length < MIN_METRICS_TOKEN_LENGTH)
        throw new BadValue(
          `must be off, open, or a token of at least ${MIN_METRICS_TOKEN_LENGTH} characters (got ${value.length} characters)`,
        );
      if (!/^[A-Za-z0-9._~+/=-]+$/.test(value))
        throw new BadValue('a token may hold only letters, digits and . _ ~ + / = -');
      return { mode: 'token', token: value };
    },
  },
  {
    key: 'webhookAllowedHosts',
    env: 'LATCHKEY_WEBHOOK_ALLOWED_HOSTS',
    description:
      'Private targets webhooks may reach, comma separated: host names (exactly, whatever they resolve to), addresses or CIDR ranges (for example receiver.internal,10.0.5.0/24,127.0.0.1). Empty: webhooks reach only public addresses; loopback, private, link-local, carrier-grade NAT, multicast, unspecified and cloud metadata addresses are refused. See docs/webhooks.md.',
    default: '',
    parse: (raw) => {
      try {
        return parseAllowedHosts(list(raw));
      } catch (err) {
        throw new BadValue((err as Error).message);
      }
    },
  },
  {
    key: 'webhookAllowHttp',
    env: 'LATCHKEY_WEBHOOK_ALLOW_HTTP',
    description: 'Webhooks may use http:// URLs; otherwise only https:// is accepted.',
    default: 'false',
    parse: boolean,
  },
  {
    key: 'webhookExpiringDays',
    env: 'LATCHKEY_WEBHOOK_EXPIRING_DAYS',
    description:
      'Days before a key expires that the key.expiring event is sent; it is sent again 1 day before.',
    default: '7',
    parse: integer(1, 365),
  },
  {
    key: 'webhookMaxAttempts',
    env: 'LATCHKEY_WEBHOOK_MAX_ATTEMPTS',
    description: 'Attempts of a webhook delivery before it is marked failed.',
    default: '8',
    parse: integer(1, 20),
  },
  {
    key: 'webhookRetryBaseMs',
    env: 'LATCHKEY_WEBHOOK_RETRY_BASE_MS',
    description:
      'Wait after the first failed webhook attempt, in milliseconds; each next wait is 4 times longer, spread by ±25 % (with the defaults the 8 attempts span about a day).',
    default: '15000',
    parse: integer(10, 3_600_000),
  },
  {
    key: 'webhookTimeoutMs',
    env: 'LATCHKEY_WEBHOOK_TIMEOUT_MS',
    description:
      'How long one webhook attempt may take in all (connecting, sending, the answer), in milliseconds.',
    default: '10000',
    parse: integer(100, 120_000),
  },
  {
    key: 'webhookConnectTimeoutMs',
    env: 'LATCHKEY_WEBHOOK_CONNECT_TIMEOUT_MS',
    description: "How long opening the connection to a webhook's receiver may take, in milliseconds.",
    default: '3000',
    parse: integer(50, 60_000),
  },
  {
    key: 'webhookPollMs',
    env: 'LATCHKEY_WEBHOOK_POLL_MS',
    description:
      'How often the webhook worker looks for deliveries that other instances or the command line queued, and for retries that became due, in milliseconds. Events raised by this instance are sent at once.',
    default: '1000',
    parse: integer(50, 60_000),
  },
  {
    key: 'webhookExpiryScanMs',
    env: 'LATCHKEY_WEBHOOK_EXPIRY_SCAN_MS',
    description: 'How often keys are scanned for key.expiring and key.expired events, in milliseconds.',
    default: '60000',
    parse: integer(100, 3_600_000),
  },
  {
    key: 'webhookRetentionDays',
    env: 'LATCHKEY_WEBHOOK_RETENTION_DAYS',
    description: 'How long finished webhook deliveries stay in the delivery log, in days.',
    default: '30',
    parse: integer(1, 3650),
  },
];

const DATABASE_URL_ENTRY = {
  env: 'LATCHKEY_DATABASE_URL',
  description:
    'postgres://… to use Postgres; sqlite:FILE for another SQLite file. Default: latchkey.db in the data folder.',
  default: undefined,
};
const DATABASE_SCHEMA_ENTRY = {
  env: 'LATCHKEY_DATABASE_SCHEMA',
  description: 'Postgres schema to keep the tables in (created if missing).',
  default: 'public',
};

/** The database variables, which are read together; listed for the configuration reference. */
export const DATABASE_ENTRIES = [DATABASE_URL_ENTRY, DATABASE_SCHEMA_ENTRY];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads the configuration from `LATCHKEY_*` variables, with `overrides` (from flags or
 * from code) taking precedence. Every bad value is reported at once.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Record<keyof Config, string>> = {},
): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const entry of CONFIG_ENTRIES) {
    const raw = overrides[entry.key] ?? env[entry.env] ?? entry.default;
    if (raw === undefined) {
      out[entry.key] = undefined;
      continue;
    }
    try {
      out[entry.key] = entry.parse(raw);
    } catch (err) {
      const source = overrides[entry.key] !== undefined ? (entry.flag ?? entry.key) : entry.env;
      problems.push(`${source}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const schema = env[DATABASE_SCHEMA_ENTRY.env] || DATABASE_SCHEMA_ENTRY.default;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    problems.push(`${DATABASE_SCHEMA_ENTRY.env}: must be a lowercase identifier, got "${schema}"`);
  }
  try {
    out.database = parseDatabaseUrl(
      env[DATABASE_URL_ENTRY.env] ?? '',
      (out.dataDir as string | undefined) ?? resolveFromUser('./data'),
      schema,
    );
  } catch (err) {
    problems.push(`${DATABASE_URL_ENTRY.env}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if ((out.adminUsername === undefined) !== (out.adminPassword === undefined)) {
    problems.push('LATCHKEY_ADMIN_USERNAME and LATCHKEY_ADMIN_PASSWORD must be set together');
  }
  if (
    typeof out.adminPassword === 'string' &&
    typeof out.passwordMinLength === 'number' &&
    out.adminPassword.length < out.passwordMinLength
  ) {
    problems.push(`LATCHKEY_ADMIN_PASSWORD: must be at least ${out.passwordMinLength} characters`);
  }
  const cookieProblem =
    out.cookieSameSite && typeof out.cookieSecure === 'boolean'
      ? cookieSettingsProblem({
          cookieSameSite: out.cookieSameSite as CookieSameSite,
          cookieSecure: out.cookieSecure,
        })
      : undefined;
  if (cookieProblem) {
    problems.push(`LATCHKEY_COOKIE_SAMESITE=none needs LATCHKEY_COOKIE_SECURE=true: ${cookieProblem}`);
  }
  if (
    typeof out.workers === 'number' &&
    out.workers > 1 &&
    (out.database as DatabaseConfig | undefined)?.kind === 'sqlite' &&
    (out.database as { file: string }).file === ':memory:'
  ) {
    problems.push(
      'LATCHKEY_WORKERS: more than one worker needs a database they can share (a SQLite file or Postgres), not sqlite::memory:',
    );
  }
  if (Array.isArray(out.authMethods) && out.authMethods.length === 0) {
    problems.push('LATCHKEY_AUTH_METHODS: at least one method must stay enabled');
  }
  if (problems.length) throw new ConfigError(problems);
  return out as unknown as Config;
}

/** LATCHKEY_* variables read elsewhere than CONFIG_ENTRIES: by the command line and the test suite. */
const OTHER_VARIABLES = [
  'LATCHKEY_SUPERUSER_PASSWORD',
  'LATCHKEY_TEST_POSTGRES_URL',
  'LATCHKEY_TEST_REDIS_URL',
];

/** Every LATCHKEY_* variable Latchkey reads. */
export function knownVariables(): string[] {
  return [...CONFIG_ENTRIES.map((e) => e.env), ...DATABASE_ENTRIES.map((e) => e.env), ...OTHER_VARIABLES];
}

/** Edit distance with adjacent transpositions (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * One warning per LATCHKEY_* variable that Latchkey does not read (a typo is otherwise
 * silently ignored), naming the nearest known one when it is close.
 */
export function unknownVariableWarnings(env: Record<string, string | undefined>): string[] {
  const known = knownVariables();
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('LATCHKEY_') || known.includes(name)) continue;
    let nearest: string | undefined;
    let distance = Number.POSITIVE_INFINITY;
    for (const candidate of known) {
      const d = editDistance(name, candidate);
      if (d < distance) {
        distance = d;
        nearest = candidate;
      }
    }
    const hint = nearest && distance <= 3 ? `; did you mean ${nearest}?` : '';
    warnings.push(
      `${name} is not a Latchkey setting and is ignored${hint} (docs/configuration.md lists them all)`,
    );
  }
  return warnings;
}

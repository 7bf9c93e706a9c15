import { createInterface } from 'node:readline/promises';
import { ApiError, CLI_ACTOR } from '@latchkey/core';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createApp, type LatchkeyApp } from '../app.js';
import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { openStorage } from '../db/database.js';
import { migrateToLatest } from '../db/migrator.js';
import { VERSION } from '../version.js';
import type { CliIo } from './io.js';
import { serve } from './serve.js';

export type { CliIo } from './io.js';

type Overrides = Partial<Record<keyof Config, string>>;

function configFrom(io: CliIo, overrides: Overrides): Config {
  return loadConfig(io.env, overrides);
}

const port = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
  return v;
};

async function withApp<T>(
  config: Config,
  run: (app: Awaited<ReturnType<typeof createApp>>) => Promise<T>,
): Promise<T> {
  const app = await createApp({ ...config, logLevel: 'warn' });
  try {
    return await run(app);
  } finally {
    await app.close();
  }
}

async function ask(question: string, hidden = false): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  if (hidden) {
    const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput.bind(rl);
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) =>
      write(s.startsWith(question) ? s : '');
  }
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
    if (hidden) process.stdout.write('\n');
  }
}

const PAGE = 200;

/** Every user, oldest first, page by page. */
async function allUsers(app: LatchkeyApp) {
  const out = [];
  for (let offset = 0; ; offset += PAGE) {
    const { rows } = await app.services.users.list({}, { limit: PAGE, offset });
    out.push(...rows);
    if (rows.length < PAGE) return out;
  }
}

interface RemoteOptions {
  url?: string;
  apiKey?: string;
}

/** A command's failure, with the message to print; exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** The running server to talk to: --url, else 127.0.0.1 on LATCHKEY_PORT (or 8800). */
export function serverUrl(io: CliIo, url: string | undefined): URL {
  const port = io.env.LATCHKEY_PORT?.trim() || '8800';
  const raw = url ?? `http://127.0.0.1:${port}`;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new CliError(`--url "${raw}" is not a URL; give one like http://127.0.0.1:8800`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new CliError(`--url "${raw}" must start with http:// or https://`);
  return parsed;
}

/**
 * Calls the running server's admin API with a superuser's key and returns the JSON body;
 * every way it can fail becomes one clear message.
 */
async function adminRequest(io: CliIo, opts: RemoteOptions, method: string, path: string): Promise<unknown> {
  const base = serverUrl(io, opts.url);
  const key = opts.apiKey ?? io.env.LATCHKEY_API_KEY;
  if (!key) throw new CliError("give a superuser's API key with --api-key or LATCHKEY_API_KEY");
  const url = new URL(path, base);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { 'X-API-Key': key, Accept: 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new CliError(
      `could not reach the Latchkey server at ${base.origin} (${why}); is it running? Point --url at it.`,
    );
  }
  const text = await res.text();
  let body: { detail?: string; code?: string } | undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (res.ok) return body;
  const detail = body?.detail ? `: ${body.detail}` : '';
  switch (res.status) {
    case 401:
      throw new CliError(
        `the server refused the API key (401${detail}); give a valid superuser key with --api-key or LATCHKEY_API_KEY`,
      );
    case 403:
      throw new CliError(`the server refused this key (403${detail})`);
    case 429: {
      const wait = res.headers.get('retry-after');
      throw new CliError(
        `the server refused this request (429${detail}); this machine's own address is limited or locked out${wait ? `, try again in ${wait} s` : ''}. Call from another address, or restart the server if it keeps lockouts in memory.`,
      );
    }
    default:
      throw new CliError(`the server answered ${res.status}${body?.code ? ` ${body.code}` : ''}${detail}`);
  }
}

/** The `latchkey` command line. */
export function buildCli(io: CliIo): Command {
  const program = new Command('latchkey')
    .description('Issue, verify and govern API credentials.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  program
    .command('serve')
    .description('Start the server (migrations are applied first).')
    .option('--host <host>', 'address to listen on (LATCHKEY_HOST)')
    .option('--port <port>', 'port to listen on (LATCHKEY_PORT)', port)
    .option('--data-dir <dir>', 'data folder (LATCHKEY_DATA_DIR)')
    .action(async (opts: { host?: string; port?: string; dataDir?: string }) => {
      const overrides: Overrides = {};
      if (opts.host !== undefined) overrides.host = opts.host;
      if (opts.port !== undefined) overrides.port = opts.port;
      if (opts.dataDir !== undefined) overrides.dataDir = opts.dataDir;
      await serve(configFrom(io, overrides), io);
    });

  program
    .command('migrate')
    .description('Apply pending database migrations and exit.')
    .action(async () => {
      const config = configFrom(io, {});
      const storage = await openStorage(config.database);
      try {
        const results = await migrateToLatest(storage);
        io.out(
          results.length ? results.map((r) => `applied ${r.migrationName}`).join('\n') : 'nothing to apply',
        );
      } finally {
        await storage.close();
      }
    });

  program
    .command('createsuperuser')
    .description('Create a superuser; asks for what is missing when run in a terminal.')
    .option('--username <name>', 'username')
    .option('--password <password>', 'password (prefer the prompt, or LATCHKEY_SUPERUSER_PASSWORD)')
    .option('--no-input', 'never prompt; fail when something is missing')
    .action(async (opts: { username?: string; password?: string; input: boolean }) => {
      const config = configFrom(io, {});
      const prompt = opts.input && io.interactive;
      const username = opts.username ?? (prompt ? await ask('Username: ') : undefined);
      const password =
        opts.password ??
        io.env.LATCHKEY_SUPERUSER_PASSWORD ??
        (prompt ? await ask('Password: ', true) : undefined);
      if (!username || !password) {
        throw new CliError(
          `${!username ? 'username' : 'password'} is required (give --username and --password)`,
        );
      }
      await withApp(config, async (app) => {
        const user = await app.services.users.create(CLI_ACTOR, { username, password, isSuperuser: true });
        io.out(`created superuser ${user.username} (${user.id})`);
      });
    });

  const users = program.command('users').description('Manage users.');
  users
    .command('list')
    .description('List users (never their passwords).')
    .action(async () => {
      await withApp(configFrom(io, {}), async (app) => {
        io.out(
          ['ID', 'USERNAME', 'SUPERUSER', 'ACTIVE', 'CAN_CREATE_TOKENS', 'PASSWORD', 'CREATED'].join('\t'),
        );
        for (const user of await allUsers(app)) {
          io.out(
            [
              user.id,
              user.username,
              user.is_superuser,
              user.is_active,
              user.can_create_tokens,
              user.password_hash ? 'set' : 'none',
              user.created_at,
            ].join('\t'),
          );
        }
      });
    });
  for (const [name, active] of [
    ['activate', true],
    ['deactivate', false],
  ] as const) {
    users
      .command(`${name} <username>`)
      .description(
        active
          ? 'Let a user sign in and use their keys again.'
          : 'Stop a user at once: their sessions end and keys stop working.',
      )
      .action(async (username: string) => {
        await withApp(configFrom(io, {}), async (app) => {
          const user = await app.services.users.getByUsername(username);
          await app.services.users.setActive(CLI_ACTOR, user.id, active);
          io.out(`${name}d ${username}`);
        });
      });
  }

  const token = program.command('token').description("Manage a user's API keys.");
  token
    .command('create')
    .description('Create an API key for a user and print it once.')
    .requiredOption('--user <username>', 'owner of the key')
    .requiredOption('--name <name>', 'name of the key')
    .option('--read-only', 'allow only GET, HEAD and OPTIONS')
    .option('--expires-at <date-time>', 'when the key stops working (RFC 3339)')
    .addOption(new Option('--key <key>', 'supply the key yourself (at least 32 characters)'))
    .action(
      async (opts: { user: string; name: string; readOnly?: boolean; expiresAt?: string; key?: string }) => {
        await withApp(configFrom(io, {}), async (app) => {
          const owner = await app.services.users.getByUsername(opts.user);
          if (opts.name.length < 1 || opts.name.length > 100)
            throw new CliError('--name must be 1 to 100 characters');
          const { key, plaintext } = await app.services.keys.create(
            CLI_ACTOR,
            owner,
            { name: opts.name, key: opts.key, write_enabled: !opts.readOnly, expires_at: opts.expiresAt },
            'cli',
          );
          io.out(`created key ${key.id} for ${owner.username}; it is shown this once:`);
          io.out(plaintext);
        });
      },
    );
  token
    .command('list')
    .description('List API keys (never their secrets).')
    .option('--user <username>', 'only this user')
    .action(async (opts: { user?: string }) => {
      await withApp(configFrom(io, {}), async (app) => {
        const owner = opts.user ? await app.services.users.getByUsername(opts.user) : undefined;
        const usernames = new Map((await allUsers(app)).map((u) => [u.id, u.username]));
        io.out(['ID', 'USER', 'NAME', 'START', 'ACTIVE', 'WRITE', 'EXPIRES'].join('\t'));
        for (let offset = 0; ; offset += PAGE) {
          const { rows } = await app.services.keys.list(owner ?? 'any', {}, { limit: PAGE, offset });
          for (const key of rows) {
            io.out(
              [
                key.id,
                usernames.get(key.user_id),
                key.name,
                key.start,
                key.is_active,
                key.write_enabled,
                key.expires_at ?? 'never',
              ].join('\t'),
            );
          }
          if (rows.length < PAGE) break;
        }
      });
    });
  token
    .command('revoke <id>')
    .description('Delete an API key; it stops working at once.')
    .action(async (id: string) => {
      await withApp(configFrom(io, {}), async (app) => {
        await app.services.keys.delete(CLI_ACTOR, 'any', id);
        io.out(`revoked ${id}`);
      });
    });

  const lockouts = program
    .command('lockouts')
    .description(
      "Client addresses locked out after failed authentications. They live in the running server's memory (or Redis), so these commands call its admin API with a superuser's key.",
    );
  const remote = (command: Command) =>
    command
      .option('--url <url>', 'the running server (default http://127.0.0.1:$LATCHKEY_PORT, or port 8800)')
      .option(
        '--api-key <key>',
        "a superuser's API key (prefer LATCHKEY_API_KEY: a flag shows in the process list)",
      );
  remote(lockouts.command('list').description('List locked-out addresses and until when.')).action(
    async (opts: RemoteOptions) => {
      const { results } = (await adminRequest(io, opts, 'GET', '/api/v1/admin/lockouts')) as {
        results: { address: string; locked_until: string }[];
      };
      if (!results.length) {
        io.out('no address is locked out');
        return;
      }
      io.out(['ADDRESS', 'LOCKED_UNTIL'].join('\t'));
      for (const l of results) io.out([l.address, l.locked_until].join('\t'));
    },
  );
  remote(
    lockouts.command('clear <address>').description('Let a locked-out address authenticate again at once.'),
  ).action(async (address: string, opts: RemoteOptions) => {
    await adminRequest(io, opts, 'DELETE', `/api/v1/admin/lockouts/${encodeURIComponent(address)}`);
    io.out(`cleared the lockout of ${address}`);
  });

  return program;
}

/** Runs the CLI; returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    await buildCli(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help')
      return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return 2;
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 2;
    }
    if (err instanceof ApiError) {
      // Problems name the API's fields (`body.password`); at the command line that is the option.
      const text = err.errors?.length
        ? err.errors.map((e) => `${e.field.replace(/^body\./, '')} ${e.message}`).join('; ')
        : err.detail;
      io.err(`error: ${text}`);
      return 1;
    }
    if (err instanceof CliError) {
      io.err(`error: ${err.message}`);
      return 1;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

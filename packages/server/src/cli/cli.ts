import { ApiError, CLI_ACTOR, canonicalAddress, passwordProblem } from '@latchkey/core';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createApp, type LatchkeyApp } from '../app.js';
import { type Config, ConfigError, loadConfig, unknownVariableWarnings } from '../config/config.js';
import { openStorage } from '../db/database.js';
import { migrateToLatest } from '../db/migrator.js';
import { VERSION } from '../version.js';
import { CliError } from './cli-error.js';
import type { CliIo } from './io.js';
import { serve } from './serve.js';
import { PasswordNotSet, PromptCancelled } from './terminal-prompt.js';

export type { CliIo } from './io.js';

type Overrides = Partial<Record<keyof Config, string>>;

/** The configuration of a command other than serve; unknown LATCHKEY_* variables are warned about on stderr. */
function configFrom(io: CliIo, overrides: Overrides): Config {
  for (const warning of unknownVariableWarnings(io.env)) io.err(`warning: ${warning}`);
  return loadConfig(io.env, overrides);
}

const port = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
  return v;
};

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

async function withApp<T>(
  config: Config,
  run: (app: Awaited<ReturnType<typeof createApp>>) => Promise<T>,
): Promise<T> {
  // Events the command raises wait in the outbox for a running server to send them.
  const app = await createApp({ ...config, logLevel: 'warn' }, { webhookWorker: false });
  try {
    return await run(app);
  } finally {
    await app.close();
  }
}

/** What is wrong with a new password for this user, as a sentence; undefined when nothing. */
function passwordCheck(config: Config, username: string) {
  return (password: string) => {
    const problem = passwordProblem(password, config.passwordMinLength, username);
    return problem ? `The password ${problem}` : undefined;
  };
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
    .option('--workers <n>', 'server processes sharing the port and the database (LATCHKEY_WORKERS)')
    .action(async (opts: { host?: string; port?: string; dataDir?: string; workers?: string }) => {
      const overrides: Overrides = {};
      if (opts.host !== undefined) overrides.host = opts.host;
      if (opts.port !== undefined) overrides.port = opts.port;
      if (opts.dataDir !== undefined) overrides.dataDir = opts.dataDir;
      if (opts.workers !== undefined) overrides.workers = opts.workers;
      await serve(io, overrides);
    });

  program
    .command('migrate')
    .description('Apply pending database migrations and exit.')
    .action(async () => {
      const config = configFrom(io, {});
      const storage = await openStorage(config.database, { busyTimeoutMs: config.sqliteBusyTimeoutMs });
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
      const prompt = opts.input ? io.prompt : undefined;
      let username = opts.username;
      if (username === undefined && prompt) username = (await prompt.ask('Username: ')).trim();
      if (!username) throw new CliError('username is required (give --username)');
      let password = opts.password ?? io.env.LATCHKEY_SUPERUSER_PASSWORD;
      if (password === undefined && prompt) {
        // Checked before the database is opened, so that a wrong entry is asked again.
        password = await prompt.newPassword(passwordCheck(config, username));
      }
      if (!password) {
        throw new CliError(
          'password is required (give --password or LATCHKEY_SUPERUSER_PASSWORD, or run in a terminal)',
        );
      }
      await withApp(config, async (app) => {
        const user = await app.services.users.create(CLI_ACTOR, { username, password, isSuperuser: true });
        io.out(`created superuser ${user.username} (${user.id})`);
      });
    });

  program
    .command('changepassword <username>')
    .description("Set a user's password, asked twice at the terminal; their login sessions end.")
    .action(async (username: string) => {
      const config = configFrom(io, {});
      const { prompt } = io;
      if (!prompt) {
        throw new CliError(
          'changepassword asks for the new password at a terminal; run it in one (scripts can use POST /api/v1/admin/users/{user_id}/password)',
          2,
        );
      }
      await withApp(config, async (app) => {
        const user = await app.services.users.getByUsername(username);
        io.out(`Changing the password of ${user.username}.`);
        const password = await prompt.newPassword(passwordCheck(config, user.username));
        await app.services.users.resetPassword(CLI_ACTOR, user.id, password);
        io.out(`changed the password of ${user.username}; their login sessions ended`);
      });
    });

  const users = program.command('users').description('Manage users.');
  users
    .command('list')
    .description('List users (never their passwords).')
    .action(async () => {
      await withApp(configFrom(io, {}), async (app) => {
        io.out(
          [
            'ID',
            'USERNAME',
            'SUPERUSER',
            'ACTIVE',
            'CAN_CREATE_TOKENS',
            'CAN_VERIFY_KEYS',
            'PASSWORD',
            'CREATED',
          ].join('\t'),
        );
        for (const user of await allUsers(app)) {
          io.out(
            [
              user.id,
              user.username,
              user.is_superuser,
              user.is_active,
              user.can_create_tokens,
              user.can_verify_keys,
              user.password_hash ? 'set' : 'none',
              user.created_at,
            ].join('\t'),
          );
        }
      });
    });
  const flag = (value: string) => {
    if (value !== 'true' && value !== 'false') throw new InvalidArgumentError('must be true or false');
    return value === 'true';
  };
  users
    .command('set <username>')
    .description("Change a user's flags (the same as PATCH /api/v1/admin/users/{id}).")
    .option('--superuser <true|false>', 'a superuser may use the admin API', flag)
    .option('--can-create-tokens <true|false>', 'may create API keys', flag)
    .option(
      '--can-verify-keys <true|false>',
      'may verify keys for other services (POST /api/v1/keys/verify)',
      flag,
    )
    .action(
      async (
        username: string,
        opts: { superuser?: boolean; canCreateTokens?: boolean; canVerifyKeys?: boolean },
      ) => {
        if (
          opts.superuser === undefined &&
          opts.canCreateTokens === undefined &&
          opts.canVerifyKeys === undefined
        ) {
          throw new CliError('give at least one of --superuser, --can-create-tokens, --can-verify-keys', 2);
        }
        await withApp(configFrom(io, {}), async (app) => {
          const user = await app.services.users.getByUsername(username);
          const after = await app.services.users.updateFlags(CLI_ACTOR, user.id, {
            is_superuser: opts.superuser,
            can_create_tokens: opts.canCreateTokens,
            can_verify_keys: opts.canVerifyKeys,
          });
          io.out(
            `${after.username}: superuser ${after.is_superuser}, can_create_tokens ${after.can_create_tokens}, can_verify_keys ${after.can_verify_keys}`,
          );
        });
      },
    );
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
    .option(
      '--permission <permission>',
      'what the key may do, for example keys:read or archive.*:write (repeat for more; none: everything the user may do)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(
      async (opts: {
        user: string;
        name: string;
        readOnly?: boolean;
        expiresAt?: string;
        key?: string;
        permission?: string[];
      }) => {
        await withApp(configFrom(io, {}), async (app) => {
          const owner = await app.services.users.getByUsername(opts.user);
          if (opts.name.length < 1 || opts.name.length > 100)
            throw new CliError('--name must be 1 to 100 characters', 2);
          const { key, plaintext } = await app.services.keys.create(
            CLI_ACTOR,
            owner,
            {
              name: opts.name,
              key: opts.key,
              write_enabled: !opts.readOnly,
              expires_at: opts.expiresAt,
              permissions: opts.permission,
            },
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
        io.out(['ID', 'USER', 'NAME', 'START', 'ACTIVE', 'WRITE', 'EXPIRES', 'PERMISSIONS'].join('\t'));
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
                key.permissions === null ? 'all' : key.permissions.join(',') || 'none',
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
      'Client addresses locked out after failed authentications, read and cleared in the store the servers share (the database, or Redis when LATCHKEY_REDIS_URL is set); a running server sees a change within a second.',
    );
  lockouts
    .command('list')
    .description('List locked-out addresses and until when.')
    .action(async () => {
      await withApp(configFrom(io, {}), async (app) => {
        const results = await app.services.protection.listLockouts();
        if (!results.length) {
          io.out('no address is locked out');
          return;
        }
        io.out(['ADDRESS', 'LOCKED_UNTIL'].join('\t'));
        for (const l of results) io.out([l.address, l.lockedUntil.toISOString()].join('\t'));
      });
    });
  lockouts
    .command('clear <address>')
    .description('Let a locked-out address authenticate again at once.')
    .action(async (given: string) => {
      const address = canonicalAddress(given.trim());
      if (!address) throw new CliError(`"${given}" is not an IP address`, 2);
      await withApp(configFrom(io, {}), async (app) => {
        try {
          await app.services.protection.clearLockout(CLI_ACTOR, address);
        } catch (err) {
          if (err instanceof ApiError && err.code === 'LOCKOUT_NOT_FOUND') {
            throw new CliError(`${address} is not locked out (its count of failures, if any, was reset)`);
          }
          throw err;
        }
        io.out(`cleared the lockout of ${address}`);
      });
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
    if (err instanceof PromptCancelled) {
      io.err('cancelled; nothing was changed');
      return 130;
    }
    if (err instanceof CliError) {
      io.err(`error: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof ApiError) {
      // Problems name the API's fields (`body.password`); at the command line that is the option.
      const text = err.errors?.length
        ? err.errors.map((e) => `${e.field.replace(/^body\./, '')} ${e.message}`).join('; ')
        : err.detail;
      io.err(`error: ${text}`);
      return 1;
    }
    if (err instanceof PasswordNotSet) {
      io.err(`error: ${err.message}`);
      return 1;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

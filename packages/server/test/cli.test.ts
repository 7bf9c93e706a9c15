import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI_ACTOR } from '@latchkey/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { type CliIo, runCli } from '../src/cli/cli.js';
import { loadConfig } from '../src/config/config.js';
import { DIALECTS } from './support/dialects.js';

const configFor = (env: Record<string, string>) => loadConfig(env);

function io(env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), env };
  return { cli, out, err };
}

for (const dialect of DIALECTS)
  describe.skipIf(dialect.skip)(`latchkey CLI [${dialect.name}]`, () => {
    let dataDir: string;
    let env: Record<string, string>;
    let drop: () => Promise<void> = async () => {};
    beforeAll(async () => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-cli-'));
      env = { LATCHKEY_DATA_DIR: dataDir, LATCHKEY_LOG_LEVEL: 'silent' };
      const fresh = await dialect.fresh();
      drop = fresh.drop;
      // SQLite: the default file in the data folder; Postgres: a schema of this run's own.
      if (fresh.database.kind === 'postgres') {
        env.LATCHKEY_DATABASE_URL = fresh.database.url;
        env.LATCHKEY_DATABASE_SCHEMA = fresh.database.schema;
      }
    });
    afterAll(async () => {
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const run = async (...argv: string[]) => {
      const t = io(env);
      const code = await runCli(argv, t.cli);
      return { code, out: t.out.join('\n'), err: t.err.join('\n') };
    };

    it('migrate applies the schema once', async () => {
      expect(await run('migrate')).toMatchObject({ code: 0, out: expect.stringContaining('applied') });
      expect(await run('migrate')).toMatchObject({ code: 0, out: 'nothing to apply' });
    });

    it('createsuperuser takes flags, refuses weak passwords and missing input without prompting', async () => {
      expect(
        await run('createsuperuser', '--username', 'admin', '--password', 'password123', '--no-input'),
      ).toMatchObject({
        code: 1,
        err: expect.stringContaining('password is too common'),
      });
      expect(await run('createsuperuser', '--no-input')).toMatchObject({
        code: 1,
        err: expect.stringContaining('username is required'),
      });
      expect(
        await run('createsuperuser', '--username', 'admin', '--password', 'a-long-admin-password-1'),
      ).toMatchObject({
        code: 0,
        out: expect.stringContaining('created superuser admin'),
      });
      expect(
        await run('createsuperuser', '--username', 'admin', '--password', 'a-long-admin-password-1'),
      ).toMatchObject({
        code: 1,
        err: expect.stringContaining('already taken'),
      });
    });

    it('token create prints the key once; list never shows it; revoke deletes it', async () => {
      const created = await run('token', 'create', '--user', 'admin', '--name', 'deploy', '--read-only');
      expect(created.code).toBe(0);
      const key = created.out.split('\n').at(-1) ?? '';
      expect(key).toMatch(/^lk_[0-9A-Za-z]{38}$/);
      const id = /created key ([0-9a-f-]{36})/.exec(created.out)?.[1];
      expect(id).toBeDefined();

      const listed = await run('token', 'list', '--user', 'admin');
      expect(listed.code).toBe(0);
      expect(listed.out).toContain(id);
      expect(listed.out).toContain('deploy');
      expect(listed.out).not.toContain(key);

      expect(await run('token', 'revoke', id as string)).toMatchObject({ code: 0 });
      expect((await run('token', 'list')).out).not.toContain(id);
      expect(await run('token', 'revoke', id as string)).toMatchObject({
        code: 1,
        err: expect.stringContaining('No key'),
      });
    });

    it('token create --permission restricts the key; list shows its permissions; bad ones are refused', async () => {
      const created = await run(
        'token',
        'create',
        '--user',
        'admin',
        '--name',
        'archive',
        '--permission',
        'keys:read',
        '--permission',
        'archive.*:write',
      );
      expect(created.code, created.err).toBe(0);
      const id = /created key ([0-9a-f-]{36})/.exec(created.out)?.[1] as string;
      const row = (await run('token', 'list', '--user', 'admin')).out
        .split('\n')
        .find((line) => line.startsWith(id));
      expect(row).toContain('keys:read,archive.*:write');
      const bad = await run(
        'token',
        'create',
        '--user',
        'admin',
        '--name',
        'bad',
        '--permission',
        'Keys:Read',
      );
      expect(bad.code).toBe(1);
      expect(bad.err).toContain('"Keys:Read" may hold only lowercase letters');
      expect((await run('token', 'list', '--user', 'admin')).out).not.toContain('\tbad\t');
    });

    it('users set changes the flags, verifier included, and refuses no flag or a bad value', async () => {
      expect(await run('users', 'set', 'admin', '--can-verify-keys', 'true')).toMatchObject({
        code: 0,
        out: 'admin: superuser true, can_create_tokens true, can_verify_keys true',
      });
      expect(await run('users', 'set', 'admin', '--can-verify-keys', 'false')).toMatchObject({
        code: 0,
        out: expect.stringContaining('can_verify_keys false'),
      });
      expect(await run('users', 'set', 'admin')).toMatchObject({
        code: 2,
        err: expect.stringContaining('give at least one of'),
      });
      expect((await run('users', 'set', 'admin', '--can-verify-keys', 'yes')).code).toBe(2);
      expect((await run('users', 'set', 'ghost', '--superuser', 'true')).err).toContain(
        'No user named "ghost"',
      );
    });

    it('token create for an unknown user fails clearly', async () => {
      expect(await run('token', 'create', '--user', 'ghost', '--name', 'x')).toMatchObject({
        code: 1,
        err: expect.stringContaining('No user named "ghost"'),
      });
    });

    it('users deactivate and activate a user', async () => {
      expect(await run('users', 'deactivate', 'admin')).toMatchObject({ code: 0, out: 'deactivated admin' });
      expect(await run('users', 'activate', 'admin')).toMatchObject({ code: 0, out: 'activated admin' });
    });

    it('users list shows every user and their flags, never a password', async () => {
      const app = await createApp({ ...configFor(env), logLevel: 'silent' });
      const plain = await app.services.users.create(CLI_ACTOR, {
        username: 'plain-user',
        password: 'a-long-plain-password-2',
        canCreateTokens: false,
      });
      await app.close();
      const listed = await run('users', 'list');
      expect(listed.code).toBe(0);
      const lines = listed.out.split('\n').map((l) => l.split('\t'));
      expect(lines[0]).toEqual([
        'ID',
        'USERNAME',
        'SUPERUSER',
        'ACTIVE',
        'CAN_CREATE_TOKENS',
        'CAN_VERIFY_KEYS',
        'PASSWORD',
        'CREATED',
      ]);
      const admin = lines.find((l) => l[1] === 'admin');
      expect(admin?.slice(1, 7)).toEqual(['admin', 'true', 'true', 'true', 'false', 'set']);
      expect(lines.find((l) => l[1] === 'plain-user')).toEqual([
        plain.id,
        'plain-user',
        'false',
        'true',
        'false',
        'false',
        'set',
        plain.created_at,
      ]);
      expect(lines).toHaveLength(3);
      expect(listed.out).not.toContain('argon2');
      expect(listed.out).not.toContain('a-long-plain-password-2');
    });

    it('exits 2 with a message per bad setting', async () => {
      const t = io({ ...env, LATCHKEY_PORT: 'abc', LATCHKEY_AUTH_METHODS: 'nope' });
      expect(await runCli(['migrate'], t.cli)).toBe(2);
      const message = t.err.join('\n');
      expect(message).toContain('LATCHKEY_PORT');
      expect(message).toContain('LATCHKEY_AUTH_METHODS');
    });
  });

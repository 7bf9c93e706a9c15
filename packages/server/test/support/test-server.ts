import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI_ACTOR, type UserRecord } from '@latchkey/core';
import { type Logger, pino } from 'pino';
import { describe } from 'vitest';
import { createApp, type LatchkeyApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { DIALECTS, type DialectName } from './dialects.js';

export const PASSWORD = 'a-long-test-password-42';

export interface TestServer {
  dialect: DialectName;
  app: LatchkeyApp;
  config: Config;
  baseUrl: string;
  /** fetch against the running server; `path` starts with /. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** fetch and parse a JSON body, returning status, headers and body. */
  call(
    path: string,
    init?: RequestInit & { json?: unknown },
  ): Promise<{ status: number; headers: Headers; body: any }>;
  createUser(
    username: string,
    flags?: { superuser?: boolean; canCreateTokens?: boolean; canVerifyKeys?: boolean; password?: string },
  ): Promise<UserRecord>;
  /** Creates a key for the user through the service; returns the plaintext and id. */
  createKey(
    user: UserRecord,
    input?: {
      name?: string;
      write_enabled?: boolean;
      expires_at?: string | null;
      allowed_ips?: string[];
      permissions?: string[] | null;
    },
  ): Promise<{ id: string; key: string }>;
  /** Moves a key's expiry into the past (or anywhere), as if time had passed. */
  setExpiry(keyId: string, expiresAt: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a real server on a free port against a fresh database of the given dialect,
 * with every response checked against the contract.
 */
export async function startTestServer(
  dialect: DialectName,
  env: Record<string, string> = {},
  options: {
    sqliteOnFile?: boolean;
    sameDatabaseAs?: TestServer;
    logger?: Logger;
    /** The rules' clock (epoch ms), to reach keys' expiry without waiting. */
    clock?: () => number;
    /** The console's built files (a folder the test wrote). */
    consoleDir?: string;
  } = {},
): Promise<TestServer> {
  const spec = DIALECTS.find((d) => d.name === dialect);
  if (!spec) throw new Error(`unknown dialect ${dialect}`);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-test-'));
  // On a file, other processes (a CLI command, another server) can open the same SQLite database.
  const { database, drop } = options.sameDatabaseAs
    ? { database: options.sameDatabaseAs.config.database, drop: async () => {} }
    : dialect === 'sqlite' && options.sqliteOnFile
      ? {
          database: { kind: 'sqlite' as const, file: path.join(dataDir, 'latchkey.db') },
          drop: async () => {},
        }
      : await spec.fresh();
  const config: Config = {
    ...loadConfig({
      LATCHKEY_DATA_DIR: dataDir,
      LATCHKEY_LOG_LEVEL: 'silent',
      // Suites about other features make many requests and fail on purpose; the protection
      // suites set these themselves.
      LATCHKEY_RATE_LIMIT: '1000000',
      LATCHKEY_LOCKOUT_ATTEMPTS: '1000',
      // Each server its own keys in a shared Redis, unless a test shares them on purpose.
      LATCHKEY_REDIS_PREFIX: `lk-test-${randomBytes(6).toString('hex')}`,
      ...env,
    }),
    database,
  };
  const app = await createApp(config, {
    validateResponses: true,
    logger: options.logger ?? pino({ level: 'silent' }),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.consoleDir ? { consoleDir: options.consoleDir } : {}),
  });
  const server: Server = app.koa.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const doFetch = (p: string, init?: RequestInit) => fetch(`${baseUrl}${p}`, init);
  return {
    dialect,
    app,
    config,
    baseUrl,
    fetch: doFetch,
    async call(p, init = {}) {
      const { json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (json !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
      const res = await doFetch(p, {
        ...rest,
        headers,
        body: json !== undefined ? JSON.stringify(json) : rest.body,
      });
      const text = await res.text();
      let body: unknown = text;
      if (text && /json/.test(res.headers.get('content-type') ?? '')) body = JSON.parse(text);
      return { status: res.status, headers: res.headers, body };
    },
    createUser: (username, flags = {}) =>
      app.services.users.create(CLI_ACTOR, {
        username,
        password: flags.password ?? PASSWORD,
        isSuperuser: flags.superuser ?? false,
        canCreateTokens: flags.canCreateTokens ?? true,
        canVerifyKeys: flags.canVerifyKeys ?? false,
      }),
    async createKey(user, input = {}) {
      const { key, plaintext } = await app.services.keys.create(
        CLI_ACTOR,
        user,
        { name: input.name ?? 'test key', ...input },
        'api',
      );
      return { id: key.id, key: plaintext };
    },
    async setExpiry(keyId, expiresAt) {
      // Through the watched handle: every cached copy is forgotten, as after any outside write.
      await app.storage.db
        .updateTable('api_keys')
        .set({ expires_at: expiresAt })
        .where('id', '=', keyId)
        .execute();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs a suite once per dialect: SQLite always, Postgres when one is reachable (skipped, and said so, otherwise). */
export function describeEachDialect(name: string, suite: (dialect: DialectName) => void): void {
  for (const d of DIALECTS) {
    describe.skipIf(d.skip)(`${name} [${d.name}]`, () => suite(d.name));
  }
}

export const basic = (username: string, password = PASSWORD) =>
  `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has working defaults: SQLite in ./data on 127.0.0.1:8800 with every method on', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8800);
    expect(config.host).toBe('127.0.0.1');
    const from = process.env.INIT_CWD ?? process.cwd();
    expect(config.database).toEqual({ kind: 'sqlite', file: path.resolve(from, 'data/latchkey.db') });
    expect(config.authMethods).toEqual(['header', 'bearer', 'token', 'query', 'basic', 'session']);
    expect(config.apiKeyHeaders).toEqual(['X-API-Key']);
    expect(config.jwtTtlSeconds).toBe(7 * 24 * 3600);
  });

  it('reads LATCHKEY_* variables, and overrides win', () => {
    const config = loadConfig(
      {
        LATCHKEY_PORT: '9000',
        LATCHKEY_DATA_DIR: '/srv/latchkey',
        LATCHKEY_DATABASE_URL: 'postgres://u@db:5432/latchkey',
        LATCHKEY_DATABASE_SCHEMA: 'auth',
        LATCHKEY_API_KEY_HEADERS: 'X-API-Key, X-ArchiveBox-API-Key',
        LATCHKEY_SUPERUSER_ONLY: 'true',
        LATCHKEY_AUTH_METHODS: 'header,basic',
      },
      { port: '9001' },
    );
    expect(config.port).toBe(9001);
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgres://u@db:5432/latchkey',
      schema: 'auth',
    });
    expect(config.apiKeyHeaders).toEqual(['X-API-Key', 'X-ArchiveBox-API-Key']);
    expect(config.superuserOnly).toBe(true);
    expect(config.authMethods).toEqual(['header', 'basic']);
  });

  it('reports every bad value at once, naming each variable', () => {
    let error: unknown;
    try {
      loadConfig({
        LATCHKEY_PORT: 'eighty',
        LATCHKEY_SUPERUSER_ONLY: 'maybe',
        LATCHKEY_AUTH_METHODS: 'header,telepathy',
        LATCHKEY_DATABASE_URL: 'mysql://x',
        LATCHKEY_KEY_PREFIX: 'LK-',
        LATCHKEY_KEY_PEPPER: 'short',
        LATCHKEY_ADMIN_USERNAME: 'admin',
        LATCHKEY_API_KEY_HEADERS: 'Authorization',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of [
      'LATCHKEY_PORT: must be a whole number',
      'LATCHKEY_SUPERUSER_ONLY: must be true or false',
      'LATCHKEY_AUTH_METHODS: unknown method(s) telepathy',
      'LATCHKEY_DATABASE_URL',
      'LATCHKEY_KEY_PREFIX',
      'LATCHKEY_KEY_PEPPER: the pepper must be at least 32 characters',
      'LATCHKEY_ADMIN_USERNAME and LATCHKEY_ADMIN_PASSWORD must be set together',
      'LATCHKEY_API_KEY_HEADERS',
    ]) {
      expect(problems).toContain(name);
    }
  });

  it('takes at most 16 API key header names (GET /meta declares the bound)', () => {
    const names = Array.from({ length: 17 }, (_, i) => `X-Key-${i}`);
    expect(loadConfig({ LATCHKEY_API_KEY_HEADERS: names.slice(0, 16).join(',') }).apiKeyHeaders).toHaveLength(
      16,
    );
    expect(() => loadConfig({ LATCHKEY_API_KEY_HEADERS: names.join(',') })).toThrow(
      /LATCHKEY_API_KEY_HEADERS: may name at most 16 headers/,
    );
  });

  it('reads LATCHKEY_METRICS: off by default, open, or a token of at least 32 characters', () => {
    expect(loadConfig({}).metrics).toEqual({ mode: 'off' });
    expect(loadConfig({ LATCHKEY_METRICS: 'open' }).metrics).toEqual({ mode: 'open' });
    const token = 'a'.repeat(32);
    expect(loadConfig({ LATCHKEY_METRICS: token }).metrics).toEqual({ mode: 'token', token });
    expect(() => loadConfig({ LATCHKEY_METRICS: `${'b'.repeat(40)} x` })).toThrow(/may hold only letters/);
  });

  it('refuses a port out of range and an admin password below the minimum length', () => {
    expect(() => loadConfig({ LATCHKEY_PORT: '70000' })).toThrow(
      /LATCHKEY_PORT: must be between 0 and 65535/,
    );
    expect(() => loadConfig({ LATCHKEY_ADMIN_USERNAME: 'admin', LATCHKEY_ADMIN_PASSWORD: 'short' })).toThrow(
      /LATCHKEY_ADMIN_PASSWORD: must be at least 10 characters/,
    );
  });
});

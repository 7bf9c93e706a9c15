import { describe, expect, it } from 'vitest';
import { ApiError } from '../api-error.js';
import { createCore } from '../core.js';
import { createMemoryDeps } from '../memory.js';
import type { CredentialSource } from './credential.js';

const source = (
  headers: Record<string, string>,
  query: Record<string, string | string[]> = {},
): CredentialSource => ({
  header: (name) => headers[name],
  queryParam: (name) => query[name],
  cookie: (name) => (name === 'latchkey_session' ? headers.cookie : undefined),
});

function present(
  headers: Record<string, string>,
  query?: Record<string, string | string[]>,
  methods?: string[],
) {
  const deps = createMemoryDeps(methods ? { authMethods: methods as never } : {});
  return createCore(deps).services.authenticator.present(source(headers, query));
}

function refused(run: () => unknown): ApiError {
  try {
    run();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('which credential a request presents', () => {
  it('finds each method', () => {
    expect(present({ 'x-api-key': 'k' })).toMatchObject({ type: 'key', method: 'HeaderTokenAuth' });
    expect(present({ authorization: 'Token k' })).toMatchObject({ type: 'key', method: 'TokenAuth' });
    expect(present({ authorization: 'Bearer k' })).toMatchObject({ type: 'key', method: 'BearerTokenAuth' });
    expect(present({ authorization: `Basic ${btoa('alice:pw:with:colons')}` })).toMatchObject({
      type: 'basic',
      username: 'alice',
      password: 'pw:with:colons',
    });
    expect(present({}, { api_key: 'k' })).toMatchObject({ type: 'key', method: 'QueryParamTokenAuth' });
    expect(present({ cookie: 'c' })).toMatchObject({ type: 'session' });
  });

  it('refuses two credentials, however they arrive: two headers, a repeated Authorization, a repeated key header', () => {
    for (const [headers, query] of [
      [{ 'x-api-key': 'k', authorization: 'Token k' }, {}],
      [{ authorization: 'Bearer k, Token junk' }, {}],
      [{ authorization: 'Bearer a, Bearer b' }, {}],
      [{ 'x-api-key': 'a, b' }, {}],
      [{ 'x-api-key': 'k' }, { api_key: 'k' }],
    ] as const) {
      const err = refused(() => present(headers, query as Record<string, string | string[]>));
      expect(err.code, JSON.stringify(headers)).toBe('MULTIPLE_CREDENTIALS');
    }
  });

  it('takes a repeated ?api_key for a credential that cannot be used (401, not 400)', () => {
    expect(present({}, { api_key: ['a', 'b'] })).toEqual({
      type: 'unusable',
      source: '?api_key (given more than once)',
    });
  });

  it('lets the session cookie yield to an explicit credential', () => {
    expect(present({ cookie: 'c', 'x-api-key': 'k' })).toMatchObject({ type: 'key' });
  });

  it('counts a credential of a switched-off method as one that cannot be used', () => {
    expect(present({ authorization: 'Token k' }, {}, ['header'])).toEqual({
      type: 'unusable',
      source: 'Authorization: Token',
    });
    expect(refused(() => present({ authorization: 'Token k', 'x-api-key': 'k' }, {}, ['header'])).code).toBe(
      'MULTIPLE_CREDENTIALS',
    );
  });
});

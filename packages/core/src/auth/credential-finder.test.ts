import { describe, expect, it } from 'vitest';
import { ApiError } from '../api-error.js';
import type { CredentialSource } from './credential.js';
import { credentialFinder } from './credential-finder.js';

const source = (headers: Record<string, string>, search = ''): CredentialSource => {
  const query = new URLSearchParams(search);
  return {
    header: (name) => headers[name],
    queryParam: (name) =>
      query.getAll(name).length > 1 ? query.getAll(name) : (query.get(name) ?? undefined),
    cookie: (name) => (name === 'latchkey_session' ? headers.cookie : undefined),
  };
};

// What a service that verifies keys only (the client's guard) is given: no Basic, no session.
const keysOnly = credentialFinder({
  authMethods: ['header', 'bearer', 'token', 'query'],
  apiKeyHeaders: ['X-API-Key', 'X-Proxbox-API-Key'],
});

describe('credentialFinder with the key methods only', () => {
  it('finds a key in every configured header, Bearer, Token and ?api_key=', () => {
    expect(keysOnly(source({ 'x-proxbox-api-key': 'k' }))).toEqual({
      type: 'key',
      method: 'HeaderTokenAuth',
      value: 'k',
      source: 'X-Proxbox-API-Key',
    });
    expect(keysOnly(source({ authorization: 'Bearer k' }))).toMatchObject({ method: 'BearerTokenAuth' });
    expect(keysOnly(source({ authorization: 'token k' }))).toMatchObject({ method: 'TokenAuth' });
    expect(keysOnly(source({}, 'api_key=k'))).toMatchObject({ method: 'QueryParamTokenAuth', value: 'k' });
  });

  it('calls Basic and other schemes unusable, ignores the session cookie, and names two credentials', () => {
    expect(keysOnly(source({ authorization: `Basic ${btoa('a:b')}` }))).toEqual({
      type: 'unusable',
      source: 'Authorization: Basic',
    });
    expect(keysOnly(source({ authorization: 'Digest x' }))).toEqual({
      type: 'unusable',
      source: 'Authorization',
    });
    expect(keysOnly(source({ cookie: 'c' }))).toBeUndefined();
    let refused: unknown;
    try {
      keysOnly(source({ 'x-api-key': 'a' }, 'api_key=b'));
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).code).toBe('MULTIPLE_CREDENTIALS');
    expect((refused as ApiError).detail).toContain('X-API-Key, ?api_key');
  });
});

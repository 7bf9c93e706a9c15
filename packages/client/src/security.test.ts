import { describe, expect, it } from 'vitest';
import {
  CREDENTIAL_KINDS,
  combination,
  EXPECTED_BY_COMBINATION,
} from '../test/support/expected-selection.js';
import type { CredentialKind } from './credentials.js';
import { UnsupportedCredentialsError } from './errors.js';
import { securitySchemes } from './generated/security.gen.js';
import {
  classifyScheme,
  findOperation,
  listOperations,
  type OperationSecurity,
  permissionOf,
  selectScheme,
} from './security.js';

const ALL_SCHEMES = Object.keys(securitySchemes);

function op(schemes: string[], anonymous = false): OperationSecurity {
  return { id: 'someOperation', method: 'GET', path: '/some/path', schemes, anonymous, permission: null };
}

/** The scheme chosen, 'nothing', or 'refuse' when the client throws before sending. */
function outcome(operation: OperationSecurity, kind: CredentialKind): string {
  try {
    return selectScheme(operation, kind)?.name ?? 'nothing';
  } catch (err) {
    if (err instanceof UnsupportedCredentialsError) return 'refuse';
    throw err;
  }
}

describe('the contract as the client reads it', () => {
  it('classifies each security scheme of the contract by how it carries the credential', () => {
    expect(
      Object.fromEntries(Object.entries(securitySchemes).map(([n, d]) => [n, classifyScheme(d)])),
    ).toEqual({
      ApiKeyHeader: 'apiKeyHeader',
      BearerAuth: 'bearer',
      TokenAuth: 'token',
      QueryApiKey: 'query',
      BasicAuth: 'basic',
      MetricsToken: 'bearer',
      SessionCookie: 'session',
    });
  });

  it('never picks schemes it cannot send', () => {
    expect(classifyScheme({ type: 'oauth2' })).toBe('unsupported');
    expect(classifyScheme({ type: 'http', scheme: 'digest' })).toBe('unsupported');
    expect(classifyScheme({ type: 'apiKey', in: 'header' })).toBe('unsupported');
    expect(selectScheme(op(['Oauth'], true), 'bearer', { Oauth: { type: 'oauth2' } })).toBeUndefined();
  });

  it('knows the permission each operation needs from a restricted key', () => {
    expect(findOperation('get', '/api/v1/auth/whoami')?.permission).toBe('profile:read');
    expect(findOperation('POST', '/api/v1/keys/verify')?.permission).toBe('keys:verify');
    expect(findOperation('DELETE', '/api/v1/admin/users/{user_id}')?.permission).toBe('admin:write');
    expect(findOperation('GET', '/health')?.permission).toBeNull();
    expect(permissionOf('createKey')).toBe('keys:write');
  });

  it('knows every operation by method and path template', () => {
    expect(findOperation('get', '/api/v1/auth/whoami')?.id).toBe('whoami');
    expect(findOperation('POST', '/api/v1/keys/{key_id}/rotate')?.id).toBe('rotateKey');
    expect(findOperation('GET', '/api/v1/keys/123')).toBeUndefined();
    expect(listOperations().map((o) => o.id)).toEqual(
      expect.arrayContaining(['login', 'logout', 'createKey']),
    );
  });

  it('has a hand-written expectation for every security combination in the contract', () => {
    const combinations = [...new Set(listOperations().map(combination))];
    const missing = combinations.filter((c) => !(c in EXPECTED_BY_COMBINATION));
    expect(missing, 'new security combinations in openapi.yaml: add them to EXPECTED_BY_COMBINATION').toEqual(
      [],
    );
  });
});

describe('header selection for every security combination in the contract', () => {
  const seen = new Map<string, OperationSecurity>();
  for (const operation of listOperations())
    if (!seen.has(combination(operation))) seen.set(combination(operation), operation);

  for (const [signature, operation] of seen) {
    const expected = EXPECTED_BY_COMBINATION[signature];
    it.skipIf(!expected)(`${signature} (e.g. ${operation.id})`, () => {
      const actual = Object.fromEntries(CREDENTIAL_KINDS.map((kind) => [kind, outcome(operation, kind)]));
      expect(actual).toEqual(expected);
    });
  }
});

describe('header selection beyond the contract', () => {
  it.each([
    // [accepted schemes, credential kind, chosen]
    [['TokenAuth', 'ApiKeyHeader'], 'apiKey', 'ApiKeyHeader'],
    [['TokenAuth', 'ApiKeyHeader'], 'token', 'TokenAuth'],
    [['BearerAuth', 'TokenAuth'], 'apiKey', 'BearerAuth'],
    [['TokenAuth', 'QueryApiKey'], 'apiKey', 'TokenAuth'],
    [['QueryApiKey'], 'apiKey', 'QueryApiKey'],
    [['QueryApiKey'], 'token', 'QueryApiKey'],
    [['ApiKeyHeader', 'QueryApiKey'], 'token', 'ApiKeyHeader'],
    [['ApiKeyHeader'], 'bearer', 'refuse'],
    [['TokenAuth'], 'login', 'refuse'],
    [['BasicAuth'], 'login', 'refuse'],
    [['SessionCookie'], 'apiKey', 'refuse'],
    [['BasicAuth', 'SessionCookie'], 'session', 'SessionCookie'],
  ] as const)('%j with %s sends %s', (schemes, kind, chosen) => {
    expect(outcome(op([...schemes]), kind)).toBe(chosen);
  });

  it('sends nothing, without refusing, when an operation also runs anonymously', () => {
    expect(outcome(op(['ApiKeyHeader'], true), 'basic')).toBe('nothing');
    expect(outcome(op(['ApiKeyHeader'], true), 'apiKey')).toBe('ApiKeyHeader');
  });

  it('always picks one scheme the operation accepts, for every subset of the six schemes', () => {
    for (let mask = 1; mask < 1 << ALL_SCHEMES.length; mask++) {
      const accepted = ALL_SCHEMES.filter((_, i) => mask & (1 << i));
      for (const kind of CREDENTIAL_KINDS) {
        const result = outcome(op(accepted), kind);
        if (result !== 'refuse') expect(accepted).toContain(result);
      }
    }
  });

  it('says what the operation accepts and which credentials would do, in the refusal', () => {
    const logout = findOperation('POST', '/api/v1/auth/logout');
    expect(logout).toBeDefined();
    let thrown: unknown;
    try {
      selectScheme(logout as OperationSecurity, 'basic');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UnsupportedCredentialsError);
    const error = thrown as UnsupportedCredentialsError;
    expect(error.operationId).toBe('logout');
    expect(error.accepted).toEqual(['BearerAuth', 'SessionCookie']);
    expect(error.message).toContain('logout (POST /api/v1/auth/logout) accepts BearerAuth, SessionCookie');
    expect(error.message).toContain('{ basic } credentials');
    expect(error.message).toContain('{ login }');
    expect(error.message).toContain('{ session: true }');
  });
});

import type { CredentialKind } from '../../src/credentials.js';
import type { OperationSecurity } from '../../src/security.js';

/** What the client must do for one kind of credential: send it in a named scheme, send nothing, or refuse. */
export type Expected = string | 'nothing' | 'refuse';

/** A security list of the contract, as `ApiKeyHeader,BearerAuth|required` (or `|anonymous`). */
export const combination = (op: Pick<OperationSecurity, 'schemes' | 'anonymous'>): string =>
  `${op.schemes.join(',')}|${op.anonymous ? 'anonymous' : 'required'}`;

/**
 * The header selection the SDK promises for every security combination that occurs in
 * openapi.yaml, written out by hand. A contract change that brings a new combination
 * fails the tests until its row is added here.
 */
export const EXPECTED_BY_COMBINATION: Record<string, Record<CredentialKind, Expected>> = {
  // security: [] (meta, login, the ArchiveBox token endpoints, bootstrap)
  '|anonymous': {
    apiKey: 'nothing',
    token: 'nothing',
    bearer: 'nothing',
    basic: 'nothing',
    login: 'nothing',
    session: 'nothing',
    none: 'nothing',
  },
  // the default: any of the six methods
  'ApiKeyHeader,BearerAuth,TokenAuth,QueryApiKey,BasicAuth,SessionCookie|required': {
    apiKey: 'ApiKeyHeader',
    token: 'TokenAuth',
    bearer: 'BearerAuth',
    basic: 'BasicAuth',
    login: 'BearerAuth',
    session: 'SessionCookie',
    none: 'refuse',
  },
  // logout: only a login can be logged out
  'BearerAuth,SessionCookie|required': {
    apiKey: 'BearerAuth',
    token: 'BearerAuth',
    bearer: 'BearerAuth',
    basic: 'refuse',
    login: 'BearerAuth',
    session: 'SessionCookie',
    none: 'refuse',
  },
  // GET /metrics: the operator's metrics token as a Bearer token, or nothing when metrics are open.
  // The client cannot tell a metrics token from another bearer credential, so any credential it
  // can send as Bearer goes there; the server ignores it when metrics are open.
  'MetricsToken|anonymous': {
    apiKey: 'MetricsToken',
    token: 'MetricsToken',
    bearer: 'MetricsToken',
    basic: 'nothing',
    login: 'MetricsToken',
    session: 'nothing',
    none: 'nothing',
  },
};

export const CREDENTIAL_KINDS: CredentialKind[] = [
  'apiKey',
  'token',
  'bearer',
  'basic',
  'login',
  'session',
  'none',
];

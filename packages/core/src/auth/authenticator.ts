import { ApiError } from '../api-error.js';
import type { AuthMethodSwitch } from '../config.js';
import type { KeyService } from '../keys/key.service.js';
import { ipAllowed } from '../net/ip-rules.js';
import type { ServiceDeps } from '../services.js';
import type { SessionService } from '../sessions/session.service.js';
import type { UserService } from '../users/user.service.js';
import type { CredentialSource, Presented, Principal } from './credential.js';
import { CSRF_HEADER, isSafeMethod } from './credential.js';
import { credentialFinder } from './credential-finder.js';

const REALM = 'latchkey';
export const BAD_CREDENTIAL = 'The credential is missing, invalid, expired or revoked.';

/**
 * The WWW-Authenticate value of a 401 (RFC 6750 form): a challenge per enabled scheme; with
 * `error`, the first names what went wrong.
 */
export function wwwAuthenticate(authMethods: readonly AuthMethodSwitch[], error?: 'invalid_token'): string {
  const challenges: string[] = [];
  if (authMethods.includes('bearer')) challenges.push(`Bearer realm="${REALM}"`);
  if (authMethods.includes('token')) challenges.push(`Token realm="${REALM}"`);
  if (authMethods.includes('basic')) challenges.push(`Basic realm="${REALM}", charset="UTF-8"`);
  if (challenges.length === 0) challenges.push(`ApiKey realm="${REALM}"`);
  const header = challenges.join(', ');
  if (!error) return header;
  return header.replace(
    /^(\w+) realm="latchkey"/,
    `$1 realm="${REALM}", error="${error}", error_description="${BAD_CREDENTIAL}"`,
  );
}

/** What the checks after authentication look at. */
export interface RequestFacts {
  method: string;
  clientIp: string;
  source: CredentialSource;
}

/** Compares two strings in time that depends only on their length. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Finds the one credential of a request with the enabled strategies, identifies the caller,
 * and applies the checks every method shares.
 */
export class Authenticator {
  /** The single credential a request presents; two explicit ones are a 400. */
  readonly present: (source: CredentialSource) => Presented | undefined;
  private readonly challengeHeader: string;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly services: { keys: KeyService; sessions: SessionService; users: UserService },
  ) {
    this.present = credentialFinder(deps.config);
    this.challengeHeader = wwwAuthenticate(deps.config.authMethods);
  }

  /** The WWW-Authenticate value (RFC 6750 form) for a 401. */
  challenge(error?: 'invalid_token'): string {
    return error ? wwwAuthenticate(this.deps.config.authMethods, error) : this.challengeHeader;
  }

  /** Identifies the caller of a request that needs authentication; throws 400, 401 or 403. */
  async authenticate(facts: RequestFacts, now: number = this.deps.clock()): Promise<Principal> {
    const presented = this.present(facts.source);
    if (!presented) {
      throw new ApiError('AUTHENTICATION_REQUIRED', 'This operation needs a credential.', {
        headers: { 'WWW-Authenticate': this.challenge() },
      });
    }
    const principal = await this.identify(presented, now);
    if (!principal) {
      throw new ApiError('AUTHENTICATION_FAILED', BAD_CREDENTIAL, {
        headers: { 'WWW-Authenticate': this.challenge('invalid_token') },
      });
    }
    this.authorize(principal, facts);
    if (principal.key) this.deps.usage.record(principal.key.id, facts.clientIp, now);
    return principal;
  }

  private async identify(presented: Presented, now: number): Promise<Principal | undefined> {
    switch (presented.type) {
      case 'key': {
        const result = await this.services.keys.verify(presented.value, now);
        if (!result.ok) return undefined;
        return {
          user: result.user,
          method: presented.method,
          tokenId: result.key.id,
          expiresAt: result.key.expires_at,
          writeEnabled: result.key.write_enabled,
          key: result.key,
        };
      }
      case 'jwt':
      case 'session': {
        const found =
          presented.type === 'jwt'
            ? await this.services.sessions.verifyJwt(presented.value, now)
            : await this.services.sessions.findByCookie(presented.value, now);
        if (!found) return undefined;
        return {
          user: found.user,
          method: presented.type === 'jwt' ? 'JwtAuth' : 'SessionAuth',
          tokenId: found.session.id,
          expiresAt: found.session.expires_at,
          writeEnabled: true,
          session: found.session,
        };
      }
      case 'basic': {
        const user = await this.services.users.authenticate(presented.username, presented.password);
        if (!user) return undefined;
        return { user, method: 'BasicAuth', tokenId: null, expiresAt: null, writeEnabled: true };
      }
      case 'unusable':
        return undefined;
    }
  }

  /** The checks every method shares once the caller is known; each refusal says what is missing. */
  authorize(principal: Principal, facts: RequestFacts): void {
    if (this.deps.config.superuserOnly && !principal.user.is_superuser) {
      throw new ApiError(
        'SUPERUSER_REQUIRED',
        'Valid credentials, but the user does not have permission (make sure the user is a superuser).',
      );
    }
    const rules = principal.key?.allowed_ips;
    if (rules?.length && !ipAllowed(rules, facts.clientIp)) {
      throw new ApiError(
        'IP_NOT_ALLOWED',
        `Valid API key, but it may not be used from ${facts.clientIp}; it is limited to ${rules.join(', ')}.`,
      );
    }
    const unsafe = !isSafeMethod(facts.method);
    if (unsafe && !principal.writeEnabled) {
      throw new ApiError(
        'KEY_READ_ONLY',
        'Valid API key, but it is read-only (write_enabled is false); only GET, HEAD and OPTIONS are allowed.',
      );
    }
    if (unsafe && principal.method === 'SessionAuth') {
      const sent = facts.source.header(CSRF_HEADER);
      if (!sent || !principal.session || !constantTimeEqual(sent, principal.session.csrf_token)) {
        throw new ApiError(
          'CSRF_FAILED',
          'Requests that change something with the session cookie must send the X-CSRF-Token header given at login.',
        );
      }
    }
  }

  /** The X-Auth-* headers of an authenticated response. */
  static headers(principal: Principal): Record<string, string> {
    return {
      'X-Auth-Method': principal.method,
      'X-Auth-Expires': principal.expiresAt ?? 'never',
      'X-Auth-Token-Id': principal.tokenId ?? 'none',
      'X-Auth-User-Id': principal.user.id,
      'X-Auth-User-Username': principal.user.username,
    };
  }
}

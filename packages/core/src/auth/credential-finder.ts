import { ApiError } from '../api-error.js';
import type { AuthMethodSwitch } from '../config.js';
import {
  type AuthStrategy,
  authorizationCount,
  type CredentialSource,
  type Presented,
} from './credential.js';
import { STRATEGIES } from './strategies.js';

/** What decides where a credential may be: the methods switched on and the API-key headers. */
export interface CredentialFinderOptions {
  /** The methods accepted (`LATCHKEY_AUTH_METHODS`); the others' credentials cannot be used. */
  authMethods: readonly AuthMethodSwitch[];
  /** Header names that carry an API key (`LATCHKEY_API_KEY_HEADERS`). */
  apiKeyHeaders: readonly string[];
}

/**
 * Finds the one credential a request presents. Latchkey's authenticator and the guard of
 * `@latchkey/client` both use it, so a service in front of Latchkey reads a request exactly as
 * Latchkey does. Undefined when there is none; a credential of a method that is switched
 * off, or an Authorization header no method reads, is `unusable`; two explicit credentials
 * (a header and `?api_key=`, a repeated header, two schemes) throw 400 MULTIPLE_CREDENTIALS.
 * The session cookie counts only when nothing explicit is present. Browser-safe and pure.
 *
 * @example
 * ```ts
 * const find = credentialFinder({ authMethods: ['header', 'token'], apiKeyHeaders: ['X-API-Key'] });
 * find({ header: (n) => (n === 'authorization' ? 'Token lk_…' : undefined), queryParam: () => undefined, cookie: () => undefined });
 * // { type: 'key', method: 'TokenAuth', value: 'lk_…', source: 'Authorization: Token' }
 * ```
 */
export function credentialFinder(
  options: CredentialFinderOptions,
): (source: CredentialSource) => Presented | undefined {
  const all = Object.entries(STRATEGIES) as [AuthMethodSwitch, AuthStrategy][];
  const enabled = all.filter(([name]) => options.authMethods.includes(name)).map(([, s]) => s);
  const disabled = all.filter(([name]) => !options.authMethods.includes(name)).map(([, s]) => s);
  const strategyOptions = { apiKeyHeaders: options.apiKeyHeaders };

  return (source) => {
    const explicit: Presented[] = [];
    let ambient: Presented | undefined;
    for (const strategy of enabled) {
      const found = strategy.extract(source, strategyOptions);
      if (strategy.ambient) ambient = found[0] ?? ambient;
      else for (const p of found) explicit.push(p);
    }
    for (const strategy of disabled) {
      if (strategy.ambient) continue;
      for (const found of strategy.extract(source, strategyOptions))
        explicit.push({ type: 'unusable', source: found.source });
    }
    // Parts of the Authorization header that no enabled method read: another scheme, or garbage.
    const authorizations = authorizationCount(source);
    const read = explicit.filter((p) => p.source.startsWith('Authorization')).length;
    for (let i = read; i < authorizations; i++) explicit.push({ type: 'unusable', source: 'Authorization' });
    if (explicit.length > 1) {
      throw new ApiError(
        'MULTIPLE_CREDENTIALS',
        `Send one credential per request; this one has ${explicit.map((p) => p.source).join(', ')}.`,
      );
    }
    return explicit[0] ?? ambient;
  };
}

import { looksLikeJwt } from '../sessions/session.service.js';
import { type AuthStrategy, authorizationValue } from './credential.js';

/** `Authorization: Bearer <key or login JWT>`. */
export const bearerStrategy: AuthStrategy = {
  name: 'bearer',
  ambient: false,
  extract(source) {
    const value = authorizationValue(source, 'Bearer');
    if (value === undefined) return undefined;
    return looksLikeJwt(value)
      ? { type: 'jwt', value, source: 'Authorization: Bearer' }
      : { type: 'key', method: 'BearerTokenAuth', value, source: 'Authorization: Bearer' };
  },
};

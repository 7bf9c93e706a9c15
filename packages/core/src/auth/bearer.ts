import { type AuthStrategy, authorizationValues, looksLikeJwt } from './credential.js';

/** `Authorization: Bearer <key or login JWT>`. */
export const bearerStrategy: AuthStrategy = {
  ambient: false,
  extract(source) {
    return authorizationValues(source, 'Bearer').map((value) =>
      looksLikeJwt(value)
        ? { type: 'jwt', value, source: 'Authorization: Bearer' }
        : { type: 'key', method: 'BearerTokenAuth', value, source: 'Authorization: Bearer' },
    );
  },
};

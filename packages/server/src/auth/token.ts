import { type AuthStrategy, authorizationValue } from './credential.js';

/** NetBox style: `Authorization: Token <key>`. */
export const tokenStrategy: AuthStrategy = {
  name: 'token',
  ambient: false,
  extract(source) {
    const value = authorizationValue(source, 'Token');
    return value === undefined
      ? undefined
      : { type: 'key', method: 'TokenAuth', value, source: 'Authorization: Token' };
  },
};

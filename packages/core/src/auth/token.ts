import { type AuthStrategy, authorizationValues } from './credential.js';

/** NetBox style: `Authorization: Token <key>`. */
export const tokenStrategy: AuthStrategy = {
  ambient: false,
  extract(source) {
    return authorizationValues(source, 'Token').map((value) => ({
      type: 'key',
      method: 'TokenAuth',
      value,
      source: 'Authorization: Token',
    }));
  },
};

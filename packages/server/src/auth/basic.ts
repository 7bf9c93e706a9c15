import { type AuthStrategy, authorizationValue } from './credential.js';

/** `Authorization: Basic base64(username:password)`. Discouraged: the password travels on every request. */
export const basicStrategy: AuthStrategy = {
  name: 'basic',
  ambient: false,
  extract(source) {
    const value = authorizationValue(source, 'Basic');
    if (value === undefined) return undefined;
    const src = 'Authorization: Basic';
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return { type: 'unusable', source: src };
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) return { type: 'unusable', source: src };
    return {
      type: 'basic',
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      source: src,
    };
  },
};

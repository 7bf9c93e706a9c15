import { type AuthStrategy, authorizationValues, decodeBase64Utf8, type Presented } from './credential.js';

const SOURCE = 'Authorization: Basic';

/** `Authorization: Basic base64(username:password)`. Discouraged: the password travels on every request. */
export const basicStrategy: AuthStrategy = {
  ambient: false,
  extract(source) {
    return authorizationValues(source, 'Basic').map((value): Presented => {
      const decoded = decodeBase64Utf8(value);
      const colon = decoded?.indexOf(':') ?? -1;
      if (decoded === undefined || colon < 1) return { type: 'unusable', source: SOURCE };
      return {
        type: 'basic',
        username: decoded.slice(0, colon),
        password: decoded.slice(colon + 1),
        source: SOURCE,
      };
    });
  },
};

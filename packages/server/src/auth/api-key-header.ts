import type { AuthStrategy, Presented } from './credential.js';

/** `X-API-Key: <key>`, and any other header names the operator configured. */
export const apiKeyHeaderStrategy: AuthStrategy = {
  name: 'header',
  ambient: false,
  extract(source, { apiKeyHeaders }) {
    const found: Presented[] = [];
    for (const name of apiKeyHeaders) {
      const value = source.header(name.toLowerCase());
      if (value !== undefined)
        found.push({ type: 'key', method: 'HeaderTokenAuth', value: value.trim(), source: name });
    }
    // Two key headers are two credentials; the authenticator refuses them with 400.
    return found.length > 1 ? found : found[0];
  },
};

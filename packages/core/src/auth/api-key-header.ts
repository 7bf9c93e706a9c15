import type { AuthStrategy, Presented } from './credential.js';

/** `X-API-Key: <key>`, and any other header names the operator configured. */
export const apiKeyHeaderStrategy: AuthStrategy = {
  ambient: false,
  extract(source, { apiKeyHeaders }) {
    const found: Presented[] = [];
    for (const name of apiKeyHeaders) {
      const value = source.header(name.toLowerCase());
      if (value === undefined) continue;
      // A repeated header arrives joined by commas: each part is a credential of its own.
      for (const part of value.includes(',') ? value.split(',') : [value]) {
        found.push({ type: 'key', method: 'HeaderTokenAuth', value: part.trim(), source: name });
      }
    }
    return found;
  },
};

import { type AuthStrategy, QUERY_KEY_PARAM } from './credential.js';

/** `?api_key=<key>`. Discouraged: URLs end up in logs; Latchkey never logs it. */
export const queryParamStrategy: AuthStrategy = {
  ambient: false,
  extract(source) {
    const value = source.queryParam(QUERY_KEY_PARAM);
    if (value === undefined) return [];
    if (Array.isArray(value))
      return [{ type: 'unusable', source: `?${QUERY_KEY_PARAM} (given more than once)` }];
    return [{ type: 'key', method: 'QueryParamTokenAuth', value, source: `?${QUERY_KEY_PARAM}` }];
  },
};

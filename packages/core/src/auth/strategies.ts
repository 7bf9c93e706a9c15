import type { AuthMethodSwitch } from '../config.js';
import { apiKeyHeaderStrategy } from './api-key-header.js';
import { basicStrategy } from './basic.js';
import { bearerStrategy } from './bearer.js';
import type { AuthMethod, AuthStrategy } from './credential.js';
import { queryParamStrategy } from './query-param.js';
import { sessionCookieStrategy } from './session-cookie.js';
import { tokenStrategy } from './token.js';

/** Every authentication method, by the name an operator uses to switch it on or off. */
export const STRATEGIES: Record<AuthMethodSwitch, AuthStrategy> = {
  header: apiKeyHeaderStrategy,
  bearer: bearerStrategy,
  token: tokenStrategy,
  query: queryParamStrategy,
  basic: basicStrategy,
  session: sessionCookieStrategy,
};

/** The switch that turns each `X-Auth-Method` on or off. */
export const SWITCH_OF: Record<AuthMethod, AuthMethodSwitch> = {
  HeaderTokenAuth: 'header',
  BearerTokenAuth: 'bearer',
  JwtAuth: 'bearer',
  TokenAuth: 'token',
  QueryParamTokenAuth: 'query',
  BasicAuth: 'basic',
  SessionAuth: 'session',
};

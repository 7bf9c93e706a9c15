import YAML from 'yaml';
import { AUTH_METHODS, type AuthMethod } from '../auth/credential.js';
import type { AuthMethodSwitch } from '../config/config.js';
import { MIN_SUPPLIED_KEY_LENGTH } from '../keys/key.format.js';
import { MAX_GRACE_SECONDS } from '../keys/key.service.js';
import { VERSION } from '../version.js';
import type { Handler, HandlerContext } from './handler.js';

export const MAX_PAGE_SIZE = 200;

const SWITCH_OF: Record<AuthMethod, AuthMethodSwitch> = {
  HeaderTokenAuth: 'header',
  BearerTokenAuth: 'bearer',
  JwtAuth: 'bearer',
  TokenAuth: 'token',
  QueryParamTokenAuth: 'query',
  BasicAuth: 'basic',
  SessionAuth: 'session',
};

function enabledMethods(c: HandlerContext): AuthMethod[] {
  return AUTH_METHODS.filter((m) => c.config.authMethods.includes(SWITCH_OF[m]));
}

/** Handlers of the `meta` tag: exempt from authentication. */
export const metaHandlers = {
  getRoot: async () => ({
    status: 200,
    body: {
      name: 'Latchkey',
      version: VERSION,
      links: {
        health: '/health',
        meta: '/meta',
        openapi_json: '/openapi.json',
        openapi_yaml: '/openapi.yaml',
      },
    },
  }),

  getHealth: async (c) => {
    const up = await c.services.storage.ping();
    return {
      status: up ? 200 : 503,
      body: { status: up ? 'ok' : 'unavailable', database: up ? 'ok' : 'unreachable' },
      headers: { 'Cache-Control': 'no-store' },
    };
  },

  getMeta: async (c) => ({
    status: 200,
    body: {
      name: 'Latchkey',
      version: VERSION,
      auth_methods: enabledMethods(c),
      api_key_headers: c.config.authMethods.includes('header') ? c.config.apiKeyHeaders : [],
      key_prefix: c.config.keyPrefix,
      superuser_only: c.config.superuserOnly,
      limits: {
        max_page_size: MAX_PAGE_SIZE,
        max_body_bytes: c.config.maxBodyBytes,
        max_rotation_grace_seconds: MAX_GRACE_SECONDS,
        min_supplied_key_length: MIN_SUPPLIED_KEY_LENGTH,
      },
    },
  }),

  getOpenApiJson: async (c) => ({ status: 200, body: c.services.document }),

  getOpenApiYaml: async (c) => ({
    status: 200,
    body: YAML.stringify(c.services.document),
    contentType: 'application/yaml; charset=utf-8',
  }),
} satisfies Record<string, Handler>;

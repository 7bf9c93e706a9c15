import YAML from 'yaml';
import { AUTH_METHODS } from '../../auth/credential.js';
import { SWITCH_OF } from '../../auth/strategies.js';
import { LIMITS } from '../../config.js';
import { MIN_SUPPLIED_KEY_LENGTH } from '../../keys/key-format.js';
import type { Handler } from '../handler.js';

/**
 * Handlers of the `meta` tag that answer the same everywhere; exempt from authentication.
 * The HTML pages (`getDocs`, `getRedoc`, `getErrorPage`) are each host's own: the server
 * serves the built reference, the mock a page of its own.
 */
export const metaHandlers = {
  getRoot: async (c) => ({
    status: 200,
    headers: { Vary: 'Accept' },
    body: {
      name: 'Latchkey',
      version: c.document.info.version,
      links: {
        docs: '/docs',
        health: '/health',
        meta: '/meta',
        openapi_json: '/openapi.json',
        openapi_yaml: '/openapi.yaml',
      },
    },
  }),

  getHealth: async (c) => {
    const up = await c.services.store.ping();
    return {
      status: up ? 200 : 503,
      headers: { 'Cache-Control': 'no-store' },
      body: { status: up ? 'ok' : 'unavailable', database: up ? 'ok' : 'unreachable' },
    };
  },

  getMeta: async (c) => ({
    status: 200,
    body: {
      name: 'Latchkey',
      version: c.document.info.version,
      auth_methods: AUTH_METHODS.filter((m) => c.config.authMethods.includes(SWITCH_OF[m])),
      api_key_headers: c.config.authMethods.includes('header') ? c.config.apiKeyHeaders : [],
      key_prefix: c.config.keyPrefix,
      superuser_only: c.config.superuserOnly,
      login_required: c.config.loginRequired,
      limits: {
        max_page_size: LIMITS.maxPageSize,
        max_body_bytes: c.config.maxBodyBytes,
        max_rotation_grace_seconds: LIMITS.maxRotationGraceSeconds,
        min_supplied_key_length: MIN_SUPPLIED_KEY_LENGTH,
      },
    },
  }),

  getOpenApiJson: async (c) => ({ status: 200, body: c.document }),

  getOpenApiYaml: async (c) => ({
    status: 200,
    body: YAML.stringify(c.document),
    contentType: 'application/yaml; charset=utf-8',
  }),
} satisfies Record<string, Handler>;

import { ApiError } from '../errors/api-error.js';
import type { KeyInput, KeyPatch } from '../keys/key.service.js';
import { toKeyView } from '../keys/key.view.js';
import { caller, type Handler, type HandlerContext } from './handler.js';
import { MAX_PAGE_SIZE } from './meta.handlers.js';

const DEFAULT_PAGE_SIZE = 50;

function pageUrl(c: HandlerContext, limit: number, offset: number): string {
  // Koa 3's ctx.origin is the request's Origin header (null without one), not this server's
  // origin; href is built from the protocol and Host, like the request line.
  const url = new URL(c.koa.href);
  url.searchParams.delete('api_key');
  url.searchParams.set('limit', String(limit));
  url.searchParams.set('offset', String(offset));
  return url.toString();
}

function ensureCanCreate(c: HandlerContext) {
  const { user } = caller(c);
  if (!user.can_create_tokens) {
    throw new ApiError(
      'KEY_CREATION_NOT_ALLOWED',
      'Valid credentials, but this user may not create API keys (an administrator must turn on can_create_tokens).',
    );
  }
  return user;
}

/** Handlers of the `keys` tag: always the caller's own keys; another user's key is a 404. */
export const keysHandlers = {
  listKeys: async (c) => {
    const { user } = caller(c);
    const limit = Math.min(Number(c.query.limit ?? DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
    const offset = Number(c.query.offset ?? 0);
    const isActive = c.query.is_active === undefined ? undefined : c.query.is_active === true;
    const { count, rows } = await c.services.keys.keys.listOwned(user.id, { limit, offset, isActive });
    return {
      status: 200,
      body: {
        count,
        next: offset + limit < count ? pageUrl(c, limit, offset + limit) : null,
        previous: offset > 0 ? pageUrl(c, limit, Math.max(0, offset - limit)) : null,
        results: rows.map(toKeyView),
      },
    };
  },

  createKey: async (c) => {
    const user = ensureCanCreate(c);
    const { row, plaintext } = await c.services.keys.create(user, c.body as KeyInput, 'api');
    return {
      status: 201,
      headers: { 'Cache-Control': 'no-store', Location: `/api/v1/keys/${row.id}` },
      body: { ...toKeyView(row), key: plaintext },
    };
  },

  getKey: async (c) => {
    const row = await c.services.keys.getOwned(caller(c).user, c.params.key_id as string);
    return { status: 200, body: toKeyView(row) };
  },

  updateKey: async (c) => {
    const row = await c.services.keys.update(caller(c).user, c.params.key_id as string, c.body as KeyPatch);
    return { status: 200, body: toKeyView(row) };
  },

  deleteKey: async (c) => {
    await c.services.keys.delete(caller(c).user, c.params.key_id as string);
    return { status: 204 };
  },

  activateKey: async (c) => {
    const row = await c.services.keys.setActive(caller(c).user, c.params.key_id as string, true);
    return { status: 200, body: toKeyView(row) };
  },

  deactivateKey: async (c) => {
    const row = await c.services.keys.setActive(caller(c).user, c.params.key_id as string, false);
    return { status: 200, body: toKeyView(row) };
  },

  rotateKey: async (c) => {
    const user = ensureCanCreate(c);
    const grace = (c.body as { grace_seconds?: number } | undefined)?.grace_seconds ?? 0;
    const { row, plaintext } = await c.services.keys.rotate(user, c.params.key_id as string, grace);
    return {
      status: 201,
      headers: { 'Cache-Control': 'no-store', Location: `/api/v1/keys/${row.id}` },
      body: { ...toKeyView(row), key: plaintext },
    };
  },
} satisfies Record<string, Handler>;

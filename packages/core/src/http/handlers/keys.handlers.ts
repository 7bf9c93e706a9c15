import { toKeyView } from '../../keys/key.record.js';
import type { KeyPatch } from '../../keys/key.rules.js';
import type { CreatedKey, KeyInput } from '../../keys/key.service.js';
import type { VerifyRequest } from '../../keys/verify.service.js';
import { caller, type Handler, type HandlerResult, pageBody, pageOf } from '../handler.js';

/** 201 with the new key, shown this once. */
export function createdKey({ key, plaintext }: CreatedKey): HandlerResult {
  return {
    status: 201,
    headers: { 'Cache-Control': 'no-store', Location: `/api/v1/keys/${key.id}` },
    body: { ...toKeyView(key), key: plaintext },
  };
}

const keyId = (c: Parameters<Handler>[0]) => String(c.params.key_id);

/** Handlers of the `keys` tag: always the caller's own keys; another user's key is a 404. */
export const keysHandlers = {
  listKeys: async (c) => {
    const page = pageOf(c);
    const isActive = c.query.is_active === undefined ? undefined : c.query.is_active === true;
    const { count, rows } = await c.services.keys.list(caller(c).user, { isActive }, page);
    return { status: 200, body: pageBody(c, page, count, rows.map(toKeyView)) };
  },

  createKey: async (c) => {
    const principal = caller(c);
    return createdKey(
      await c.services.keys.create(c.actor, principal.user, c.body as KeyInput, 'api', principal.key),
    );
  },

  getKey: async (c) => ({
    status: 200,
    body: toKeyView(await c.services.keys.get(caller(c).user, keyId(c))),
  }),

  updateKey: async (c) => {
    const key = await c.services.keys.update(c.actor, caller(c).user, keyId(c), c.body as KeyPatch);
    return { status: 200, body: toKeyView(key) };
  },

  deleteKey: async (c) => {
    await c.services.keys.delete(c.actor, caller(c).user, keyId(c));
    return { status: 204 };
  },

  activateKey: async (c) => ({
    status: 200,
    body: toKeyView(await c.services.keys.setActive(c.actor, caller(c).user, keyId(c), true)),
  }),

  deactivateKey: async (c) => ({
    status: 200,
    body: toKeyView(await c.services.keys.setActive(c.actor, caller(c).user, keyId(c), false)),
  }),

  rotateKey: async (c) => {
    const principal = caller(c);
    const grace = (c.body as { grace_seconds?: number } | undefined)?.grace_seconds ?? 0;
    return createdKey(await c.services.keys.rotate(c.actor, principal.user, keyId(c), grace, principal.key));
  },

  verifyKey: async (c) => {
    c.services.verify.ensureVerifier(caller(c).user);
    return { status: 200, body: await c.services.verify.verify(c.body as VerifyRequest, c.clientIp) };
  },
} satisfies Record<string, Handler>;

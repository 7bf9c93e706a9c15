import { ApiError } from '@latchkey/core';
import type { AuditAction } from '../audit/audit.table.js';
import type { KeyInput, KeyPatch } from '../keys/key.service.js';
import type { ApiKeyRow } from '../keys/key.table.js';
import { toKeyView } from '../keys/key.view.js';
import { auditActor, caller, type Handler, type HandlerContext, pageBody, pageOf } from './handler.js';

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

/** Records a change to a key: the key's id and name, never its value. */
export function auditKey(c: HandlerContext, action: AuditAction, key: ApiKeyRow, detail = key.name) {
  return c.services.audit.record({
    action,
    actor: auditActor(c),
    target: { type: 'key', id: key.id },
    detail,
  });
}

/** Which fields a key update asked to change, for the audit log. */
function patchSummary(key: ApiKeyRow, patch: KeyPatch): string {
  const changed = Object.keys(patch).filter((f) => patch[f as keyof KeyPatch] !== undefined);
  return `${key.name}: ${changed.join(', ')}`;
}

/** Handlers of the `keys` tag: always the caller's own keys; another user's key is a 404. */
export const keysHandlers = {
  listKeys: async (c) => {
    const { user } = caller(c);
    const page = pageOf(c);
    const isActive = c.query.is_active === undefined ? undefined : c.query.is_active === true;
    const { count, rows } = await c.services.keys.keys.listOwned(user.id, { ...page, isActive });
    return { status: 200, body: pageBody(c, page, count, rows.map(toKeyView)) };
  },

  createKey: async (c) => {
    const user = ensureCanCreate(c);
    const { row, plaintext } = await c.services.keys.create(user, c.body as KeyInput, 'api');
    await auditKey(c, 'key.created', row);
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
    const patch = c.body as KeyPatch;
    const row = await c.services.keys.update(caller(c).user, c.params.key_id as string, patch);
    await auditKey(c, 'key.updated', row, patchSummary(row, patch));
    return { status: 200, body: toKeyView(row) };
  },

  deleteKey: async (c) => {
    const row = await c.services.keys.delete(caller(c).user, c.params.key_id as string);
    await auditKey(c, 'key.deleted', row);
    return { status: 204 };
  },

  activateKey: async (c) => {
    const row = await c.services.keys.setActive(caller(c).user, c.params.key_id as string, true);
    await auditKey(c, 'key.activated', row);
    return { status: 200, body: toKeyView(row) };
  },

  deactivateKey: async (c) => {
    const row = await c.services.keys.setActive(caller(c).user, c.params.key_id as string, false);
    await auditKey(c, 'key.deactivated', row);
    return { status: 200, body: toKeyView(row) };
  },

  rotateKey: async (c) => {
    const user = ensureCanCreate(c);
    const grace = (c.body as { grace_seconds?: number } | undefined)?.grace_seconds ?? 0;
    const oldId = c.params.key_id as string;
    const { row, plaintext } = await c.services.keys.rotate(user, oldId, grace);
    await c.services.audit.record({
      action: 'key.rotated',
      actor: auditActor(c),
      target: { type: 'key', id: oldId },
      detail: `${row.name}: replaced by ${row.id}, old key valid ${grace} s more`,
    });
    return {
      status: 201,
      headers: { 'Cache-Control': 'no-store', Location: `/api/v1/keys/${row.id}` },
      body: { ...toKeyView(row), key: plaintext },
    };
  },
} satisfies Record<string, Handler>;

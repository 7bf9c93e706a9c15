import { ApiError } from '@latchkey/core';
import type { AuditAction } from '../store/audit.js';
import { type KeyInput, type KeyPatch, type KeyRecord, toKeyView } from '../store/keys.js';
import { actor, caller, type MockContext, type MockHandler, pageBody } from './context.js';

function ensureCanCreate(c: MockContext) {
  const { user } = caller(c);
  if (!user.can_create_tokens) {
    throw new ApiError(
      'KEY_CREATION_NOT_ALLOWED',
      'Valid credentials, but this user may not create API keys (an administrator must turn on can_create_tokens).',
    );
  }
  return user;
}

/** Records a change to a key: its id and name, never its value. */
export function auditKey(c: MockContext, action: AuditAction, key: KeyRecord, detail = key.name): void {
  c.store.audit.record({ action, actor: actor(c), target: { type: 'key', id: key.id }, detail });
}

function created(key: KeyRecord) {
  return {
    status: 201,
    headers: { 'Cache-Control': 'no-store', Location: `/api/v1/keys/${key.id}` },
    body: { ...toKeyView(key), key: key.secret },
  };
}

const owned = (c: MockContext) => c.store.keys.getOwned(caller(c).user, String(c.params.key_id));

/** Handlers of the `keys` tag: always the caller's own keys; another user's key is a 404. */
export const keysHandlers = {
  listKeys: (c) => {
    const isActive = c.query.is_active === undefined ? undefined : c.query.is_active === true;
    const all = c.store.keys.list({ userId: caller(c).user.id, isActive }).map(toKeyView);
    return { status: 200, body: pageBody(c, all) };
  },

  createKey: (c) => {
    const user = ensureCanCreate(c);
    const key = c.store.keys.create(user, c.body as KeyInput, 'api');
    auditKey(c, 'key.created', key);
    return created(key);
  },

  getKey: (c) => ({ status: 200, body: toKeyView(owned(c)) }),

  updateKey: (c) => {
    const patch = c.body as KeyPatch;
    const key = c.store.keys.update(owned(c), patch);
    auditKey(c, 'key.updated', key, `${key.name}: ${Object.keys(patch).join(', ')}`);
    return { status: 200, body: toKeyView(key) };
  },

  deleteKey: (c) => {
    const key = c.store.keys.delete(owned(c));
    auditKey(c, 'key.deleted', key);
    return { status: 204 };
  },

  activateKey: (c) => {
    const key = c.store.keys.setActive(owned(c), true);
    auditKey(c, 'key.activated', key);
    return { status: 200, body: toKeyView(key) };
  },

  deactivateKey: (c) => {
    const key = c.store.keys.setActive(owned(c), false);
    auditKey(c, 'key.deactivated', key);
    return { status: 200, body: toKeyView(key) };
  },

  rotateKey: (c) => {
    const user = ensureCanCreate(c);
    const grace = (c.body as { grace_seconds?: number } | undefined)?.grace_seconds ?? 0;
    const old = owned(c);
    const key = c.store.keys.rotate(user, old, grace);
    c.store.audit.record({
      action: 'key.rotated',
      actor: actor(c),
      target: { type: 'key', id: old.id },
      detail: `${key.name}: replaced by ${key.id}, old key valid ${grace} s more`,
    });
    return created(key);
  },
} satisfies Record<string, MockHandler>;

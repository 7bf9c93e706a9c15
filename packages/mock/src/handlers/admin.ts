import { ApiError } from '@latchkey/core';
import type { AuditAction } from '../store/audit.js';
import { iso } from '../store/config.js';
import { parseIp } from '../store/ip-rules.js';
import { toKeyView } from '../store/keys.js';
import { toUserView, type UserRecord } from '../store/users.js';
import { actor, boolParam, caller, type MockContext, type MockHandler, pageBody } from './context.js';
import { auditKey } from './keys.js';

/** An admin handler: refuses everyone but superusers (403 SUPERUSER_REQUIRED) before doing anything. */
const admin =
  (run: MockHandler): MockHandler =>
  (c) => {
    const { user } = caller(c);
    if (!user.is_superuser) {
      throw new ApiError(
        'SUPERUSER_REQUIRED',
        `Valid credentials, but this operation needs a superuser and ${user.username} is not one (make sure the user is a superuser).`,
      );
    }
    return run(c);
  };

function auditUser(c: MockContext, action: AuditAction, user: UserRecord, detail: string): void {
  c.store.audit.record({ action, actor: actor(c), target: { type: 'user', id: user.id }, detail });
}

function instant(c: MockContext, name: string): string | undefined {
  const raw = c.query[name];
  if (raw === undefined) return undefined;
  const at = Date.parse(String(raw));
  if (Number.isNaN(at)) throw ApiError.field(`query.${name}`, 'must be an RFC 3339 date-time');
  return iso(at);
}

function checkAddress(address: string): string {
  if (!parseIp(address)) throw ApiError.field('path.address', `"${address}" is not an IP address`);
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && parseIp(lower.slice(7))?.family === 4 ? lower.slice(7) : lower;
}

const FLAGS = ['is_superuser', 'is_active', 'can_create_tokens'] as const;
const str = (v: unknown) => (v === undefined ? undefined : String(v));

/** Handlers of the `admin` tag: superusers only. */
export const adminHandlers = {
  adminListKeys: admin((c) => {
    const all = c.store.keys
      .list({
        userId: str(c.query.user_id),
        isActive: boolParam(c.query.is_active),
        expired: boolParam(c.query.expired),
      })
      .map(toKeyView);
    return { status: 200, body: pageBody(c, all) };
  }),

  adminDeleteKey: admin((c) => {
    const key = c.store.keys.delete(c.store.keys.getAny(String(c.params.key_id)));
    auditKey(c, 'key.deleted', key, `${key.name} (owner ${key.user_id})`);
    return { status: 204 };
  }),

  adminActivateKey: admin((c) => {
    const key = c.store.keys.setActive(c.store.keys.getAny(String(c.params.key_id)), true);
    auditKey(c, 'key.activated', key, `${key.name} (owner ${key.user_id})`);
    return { status: 200, body: toKeyView(key) };
  }),

  adminDeactivateKey: admin((c) => {
    const key = c.store.keys.setActive(c.store.keys.getAny(String(c.params.key_id)), false);
    auditKey(c, 'key.deactivated', key, `${key.name} (owner ${key.user_id})`);
    return { status: 200, body: toKeyView(key) };
  }),

  adminListUsers: admin((c) => {
    const all = c.store.users
      .list({ is_active: boolParam(c.query.is_active), is_superuser: boolParam(c.query.is_superuser) })
      .map(toUserView);
    return { status: 200, body: pageBody(c, all) };
  }),

  adminCreateUser: admin((c) => {
    const body = c.body as {
      username: string;
      password: string;
      is_superuser?: boolean;
      can_create_tokens?: boolean;
    };
    const user = c.store.users.create(body);
    auditUser(
      c,
      'user.created',
      user,
      `${user.username} (is_superuser: ${user.is_superuser}, can_create_tokens: ${user.can_create_tokens})`,
    );
    return { status: 201, headers: { Location: `/api/v1/admin/users/${user.id}` }, body: toUserView(user) };
  }),

  adminGetUser: admin((c) => ({
    status: 200,
    body: toUserView(c.store.users.get(String(c.params.user_id))),
  })),

  adminUpdateUser: admin((c) => {
    const { before, after } = c.store.users.updateFlags(
      String(c.params.user_id),
      c.body as { is_superuser?: boolean; is_active?: boolean; can_create_tokens?: boolean },
    );
    if (before.is_active && !after.is_active) c.store.sessions.endAllOf(after.id);
    const changes = FLAGS.filter((f) => before[f] !== after[f]).map(
      (f) => `${f}: ${before[f]} → ${after[f]}`,
    );
    auditUser(
      c,
      'user.updated',
      after,
      `${after.username}: ${changes.length ? changes.join(', ') : 'no change'}`,
    );
    return { status: 200, body: toUserView(after) };
  }),

  adminDeleteUser: admin((c) => {
    const user = c.store.deleteUser(String(c.params.user_id));
    auditUser(c, 'user.deleted', user, `${user.username}, with their keys and sessions`);
    return { status: 204 };
  }),

  adminResetPassword: admin((c) => {
    const user = c.store.users.get(String(c.params.user_id));
    c.store.users.setPassword(user, (c.body as { password: string }).password);
    c.store.sessions.endAllOf(user.id);
    auditUser(c, 'user.password_reset', user, `${user.username}: new password, sessions ended`);
    return { status: 204 };
  }),

  adminListLockouts: admin((c) => ({
    status: 200,
    headers: { 'Cache-Control': 'no-store' },
    body: {
      results: c.store.lockouts.list().map((l) => ({ address: l.address, locked_until: iso(l.lockedUntil) })),
    },
  })),

  adminClearLockout: admin((c) => {
    const address = checkAddress(String(c.params.address));
    if (!c.store.lockouts.clear(address)) {
      throw new ApiError('LOCKOUT_NOT_FOUND', `${address} is not locked out.`);
    }
    c.store.audit.record({
      action: 'lockout.cleared',
      actor: actor(c),
      target: { type: 'address', id: address },
      detail: `${address} may authenticate again`,
    });
    return { status: 204 };
  }),

  adminListAuditEvents: admin((c) => {
    const q = c.query;
    const all = c.store.audit.list({
      action: str(q.action),
      outcome: str(q.outcome),
      actor_id: str(q.actor_id),
      target_id: str(q.target_id),
      client_ip: str(q.client_ip),
      since: instant(c, 'since'),
      until: instant(c, 'until'),
    });
    return { status: 200, body: pageBody(c, all) };
  }),
} satisfies Record<string, MockHandler>;

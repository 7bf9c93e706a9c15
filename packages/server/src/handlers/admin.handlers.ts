import { isIP } from 'node:net';
import { ApiError } from '@latchkey/core';
import type { AuditAction, AuditOutcome } from '../audit/audit.table.js';
import type { Principal } from '../auth/credential.js';
import { toKeyView } from '../keys/key.view.js';
import { type UserFlags, UserInputError, UsernameTakenError } from '../users/user.service.js';
import type { UserRow } from '../users/user.table.js';
import { toUserView } from '../users/user.view.js';
import { auditActor, caller, type Handler, type HandlerContext, pageBody, pageOf } from './handler.js';
import { auditKey } from './keys.handlers.js';

/** Every admin operation starts here: the caller must be a superuser. */
function requireSuperuser(c: HandlerContext): Principal {
  const principal = caller(c);
  if (!principal.user.is_superuser) {
    throw new ApiError(
      'SUPERUSER_REQUIRED',
      `Valid credentials, but this operation needs a superuser and ${principal.user.username} is not one (make sure the user is a superuser).`,
    );
  }
  return principal;
}

/** An admin handler: refuses everyone but superusers before doing anything. */
const admin =
  (run: (c: HandlerContext) => ReturnType<Handler>): Handler =>
  async (c) => {
    requireSuperuser(c);
    return run(c);
  };

const bool = (v: unknown): boolean | undefined => (v === undefined ? undefined : v === true);

/** A `date-time` query parameter as the fixed-width UTC form the tables store, so that it compares as text. */
function instant(c: HandlerContext, name: string): string | undefined {
  const raw = c.query[name];
  if (raw === undefined) return undefined;
  const at = new Date(String(raw));
  if (Number.isNaN(at.getTime())) throw ApiError.field(`query.${name}`, 'must be an RFC 3339 date-time');
  return at.toISOString();
}

/** Turns the user service's input errors into problems naming the body field. */
function asProblem(err: unknown): unknown {
  if (err instanceof UsernameTakenError) return ApiError.field('body.username', err.reason, 'USERNAME_TAKEN');
  if (err instanceof UserInputError) return ApiError.field(`body.${err.field}`, err.reason);
  return err;
}

function auditUser(
  c: HandlerContext,
  action: AuditAction,
  user: UserRow,
  detail: string,
  outcome?: AuditOutcome,
) {
  return c.services.audit.record({
    action,
    ...(outcome ? { outcome } : {}),
    actor: auditActor(c),
    target: { type: 'user', id: user.id },
    detail,
  });
}

const FLAGS = ['is_superuser', 'is_active', 'can_create_tokens'] as const;

/** "is_active: true → false" for each flag that changed. */
function flagChanges(before: UserRow, after: UserRow): string {
  const changes = FLAGS.filter((f) => Boolean(before[f]) !== Boolean(after[f])).map(
    (f) => `${f}: ${Boolean(before[f])} → ${Boolean(after[f])}`,
  );
  return `${after.username}: ${changes.length ? changes.join(', ') : 'no change'}`;
}

/**
 * A lockout is keyed by the client address as the server resolved it: plain IPv4 (never
 * IPv4-mapped IPv6) or lower-case IPv6.
 */
function checkAddress(address: string): string {
  if (!isIP(address)) throw ApiError.field('path.address', `"${address}" is not an IP address`);
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

/** Handlers of the `admin` tag: superusers only; everyone else gets 403 SUPERUSER_REQUIRED. */
export const adminHandlers = {
  adminListKeys: admin(async (c) => {
    const page = pageOf(c);
    const { count, rows } = await c.services.keys.keys.listAll(
      {
        userId: c.query.user_id === undefined ? undefined : String(c.query.user_id),
        isActive: bool(c.query.is_active),
        expired: bool(c.query.expired),
      },
      new Date().toISOString(),
      page,
    );
    return { status: 200, body: pageBody(c, page, count, rows.map(toKeyView)) };
  }),

  adminDeleteKey: admin(async (c) => {
    const row = await c.services.keys.deleteAny(c.params.key_id as string);
    await auditKey(c, 'key.deleted', row, `${row.name} (owner ${row.user_id})`);
    return { status: 204 };
  }),

  adminActivateKey: admin(async (c) => {
    const row = await c.services.keys.setActiveAny(c.params.key_id as string, true);
    await auditKey(c, 'key.activated', row, `${row.name} (owner ${row.user_id})`);
    return { status: 200, body: toKeyView(row) };
  }),

  adminDeactivateKey: admin(async (c) => {
    const row = await c.services.keys.setActiveAny(c.params.key_id as string, false);
    await auditKey(c, 'key.deactivated', row, `${row.name} (owner ${row.user_id})`);
    return { status: 200, body: toKeyView(row) };
  }),

  adminListUsers: admin(async (c) => {
    const page = pageOf(c);
    const { count, rows } = await c.services.users.users.listPage(
      { isActive: bool(c.query.is_active), isSuperuser: bool(c.query.is_superuser) },
      page,
    );
    return { status: 200, body: pageBody(c, page, count, rows.map(toUserView)) };
  }),

  adminCreateUser: admin(async (c) => {
    const body = c.body as {
      username: string;
      password: string;
      is_superuser?: boolean;
      can_create_tokens?: boolean;
    };
    let user: UserRow;
    try {
      user = await c.services.users.create({
        username: body.username,
        password: body.password,
        isSuperuser: body.is_superuser,
        canCreateTokens: body.can_create_tokens,
      });
    } catch (err) {
      throw asProblem(err);
    }
    await auditUser(
      c,
      'user.created',
      user,
      `${user.username} (is_superuser: ${Boolean(user.is_superuser)}, can_create_tokens: ${Boolean(user.can_create_tokens)})`,
    );
    return {
      status: 201,
      headers: { Location: `/api/v1/admin/users/${user.id}` },
      body: toUserView(user),
    };
  }),

  adminGetUser: admin(async (c) => {
    const user = await c.services.users.get(c.params.user_id as string);
    return { status: 200, body: toUserView(user) };
  }),

  adminUpdateUser: admin(async (c) => {
    const { before, after } = await c.services.users.updateFlags(
      c.params.user_id as string,
      c.body as UserFlags,
    );
    await auditUser(c, 'user.updated', after, flagChanges(before, after));
    return { status: 200, body: toUserView(after) };
  }),

  adminDeleteUser: admin(async (c) => {
    const user = await c.services.users.delete(c.params.user_id as string);
    await auditUser(c, 'user.deleted', user, `${user.username}, with their keys and sessions`);
    return { status: 204 };
  }),

  adminResetPassword: admin(async (c) => {
    const user = await c.services.users.get(c.params.user_id as string);
    try {
      await c.services.users.setPassword(user, (c.body as { password: string }).password);
    } catch (err) {
      throw asProblem(err);
    }
    await auditUser(c, 'user.password_reset', user, `${user.username}: new password, sessions ended`);
    return { status: 204 };
  }),

  adminListLockouts: admin(async (c) => {
    const lockouts = await c.services.protection.lockouts.list();
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      body: {
        results: lockouts.map((l) => ({ address: l.address, locked_until: l.lockedUntil.toISOString() })),
      },
    };
  }),

  adminClearLockout: admin(async (c) => {
    const address = checkAddress(c.params.address as string);
    if (!(await c.services.protection.lockouts.clear(address))) {
      throw new ApiError('LOCKOUT_NOT_FOUND', `${address} is not locked out.`);
    }
    await c.services.audit.record({
      action: 'lockout.cleared',
      actor: auditActor(c),
      target: { type: 'address', id: address },
      detail: `${address} may authenticate again`,
    });
    return { status: 204 };
  }),

  adminListAuditEvents: admin(async (c) => {
    const page = pageOf(c);
    const q = c.query;
    const str = (v: unknown) => (v === undefined ? undefined : String(v));
    const { count, rows } = await c.services.audit.list(
      {
        // The contract's enums have already refused anything else.
        action: str(q.action) as AuditAction | undefined,
        outcome: str(q.outcome) as AuditOutcome | undefined,
        actorId: str(q.actor_id),
        targetId: str(q.target_id),
        clientIp: str(q.client_ip),
        since: instant(c, 'since'),
        until: instant(c, 'until'),
      },
      page,
    );
    return { status: 200, body: pageBody(c, page, count, rows) };
  }),
} satisfies Record<string, Handler>;

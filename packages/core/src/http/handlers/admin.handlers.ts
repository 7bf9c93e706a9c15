import { ApiError } from '../../api-error.js';
import type { AuditAction, AuditOutcome } from '../../audit/audit.record.js';
import type { Principal } from '../../auth/credential.js';
import { toKeyView } from '../../keys/key.record.js';
import { toUserView, type UserFlags } from '../../users/user.record.js';
import {
  boolParam,
  caller,
  type Handler,
  type HandlerContext,
  pageBody,
  pageOf,
  stringParam,
} from '../handler.js';

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
export const admin =
  (run: Handler): Handler =>
  async (c) => {
    requireSuperuser(c);
    return run(c);
  };

/** A `date-time` query parameter as the fixed-width UTC form stores keep, so that it compares as text. */
function instant(c: HandlerContext, name: string): string | undefined {
  const raw = c.query[name];
  if (raw === undefined) return undefined;
  const at = new Date(String(raw));
  if (Number.isNaN(at.getTime())) throw ApiError.field(`query.${name}`, 'must be an RFC 3339 date-time');
  return at.toISOString();
}

const keyId = (c: HandlerContext) => String(c.params.key_id);
const userId = (c: HandlerContext) => String(c.params.user_id);

/** Handlers of the `admin` tag: superusers only; everyone else gets 403 SUPERUSER_REQUIRED. */
export const adminHandlers = {
  adminListKeys: admin(async (c) => {
    const page = pageOf(c);
    const { count, rows } = await c.services.keys.list(
      'any',
      {
        userId: stringParam(c.query.user_id),
        isActive: boolParam(c.query.is_active),
        expired: boolParam(c.query.expired),
      },
      page,
    );
    return { status: 200, body: pageBody(c, page, count, rows.map(toKeyView)) };
  }),

  adminDeleteKey: admin(async (c) => {
    await c.services.keys.delete(c.actor, 'any', keyId(c));
    return { status: 204 };
  }),

  adminActivateKey: admin(async (c) => ({
    status: 200,
    body: toKeyView(await c.services.keys.setActive(c.actor, 'any', keyId(c), true)),
  })),

  adminDeactivateKey: admin(async (c) => ({
    status: 200,
    body: toKeyView(await c.services.keys.setActive(c.actor, 'any', keyId(c), false)),
  })),

  adminListUsers: admin(async (c) => {
    const page = pageOf(c);
    const { count, rows } = await c.services.users.list(
      { isActive: boolParam(c.query.is_active), isSuperuser: boolParam(c.query.is_superuser) },
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
      can_verify_keys?: boolean;
    };
    const user = await c.services.users.create(c.actor, {
      username: body.username,
      password: body.password,
      isSuperuser: body.is_superuser,
      canCreateTokens: body.can_create_tokens,
      canVerifyKeys: body.can_verify_keys,
    });
    return { status: 201, headers: { Location: `/api/v1/admin/users/${user.id}` }, body: toUserView(user) };
  }),

  adminGetUser: admin(async (c) => ({
    status: 200,
    body: toUserView(await c.services.users.get(userId(c))),
  })),

  adminUpdateUser: admin(async (c) => ({
    status: 200,
    body: toUserView(await c.services.users.updateFlags(c.actor, userId(c), c.body as UserFlags)),
  })),

  adminDeleteUser: admin(async (c) => {
    await c.services.users.delete(c.actor, userId(c));
    return { status: 204 };
  }),

  adminResetPassword: admin(async (c) => {
    await c.services.users.resetPassword(c.actor, userId(c), (c.body as { password: string }).password);
    return { status: 204 };
  }),

  adminListLockouts: admin(async (c) => {
    const lockouts = await c.services.protection.listLockouts();
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      body: {
        results: lockouts.map((l) => ({ address: l.address, locked_until: l.lockedUntil.toISOString() })),
      },
    };
  }),

  adminClearLockout: admin(async (c) => {
    await c.services.protection.clearLockout(c.actor, String(c.params.address));
    return { status: 204 };
  }),

  adminListAuditEvents: admin(async (c) => {
    const page = pageOf(c);
    const q = c.query;
    const { count, rows } = await c.services.audit.list(
      {
        // The contract's enums have already refused anything else.
        action: stringParam(q.action) as AuditAction | undefined,
        outcome: stringParam(q.outcome) as AuditOutcome | undefined,
        actorId: stringParam(q.actor_id),
        targetId: stringParam(q.target_id),
        clientIp: stringParam(q.client_ip),
        since: instant(c, 'since'),
        until: instant(c, 'until'),
      },
      page,
    );
    return { status: 200, body: pageBody(c, page, count, rows) };
  }),
} satisfies Record<string, Handler>;

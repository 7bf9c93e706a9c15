import { ApiError } from '@latchkey/core';
import type { Context as KoaContext } from 'koa';
import { CSRF_COOKIE, SESSION_COOKIE } from '../auth/credential.js';
import type { UserRow } from '../users/user.table.js';
import { toUserView } from '../users/user.view.js';
import { auditActor, caller, type Handler, type HandlerContext } from './handler.js';

interface Credentials {
  username: string;
  password: string;
}

const BAD_LOGIN = 'The username or password is wrong, or the user is inactive.';

/**
 * Checks a username and password; a refusal is audited as a failed login. The audit row
 * names the account only when it exists, so a password typed into the username field
 * never lands in the log.
 */
async function passwordLogin(c: HandlerContext, endpoint: 'login' | 'get_api_token') {
  const { username, password } = c.body as Credentials;
  const user = await c.services.users.authenticate(username, password);
  const refuse = async (why: string, target: UserRow | undefined) => {
    await c.services.audit.record({
      action: 'auth.login',
      outcome: 'failure',
      actor: { clientIp: c.clientIp },
      ...(target ? { target: { type: 'user' as const, id: target.id } } : {}),
      detail: `${endpoint}: ${why}`,
    });
  };
  if (!user) {
    const known = username.includes('\u0000')
      ? undefined
      : await c.services.users.users.findByUsername(username);
    await refuse(known ? `wrong password or inactive user ${known.username}` : 'unknown username', known);
    throw new ApiError('AUTHENTICATION_FAILED', BAD_LOGIN, {
      headers: { 'WWW-Authenticate': c.services.authenticator.challenge('invalid_token') },
    });
  }
  if (c.config.superuserOnly && !user.is_superuser) {
    await refuse(`${user.username} is not a superuser (superuser_only)`, user);
    throw new ApiError(
      'SUPERUSER_REQUIRED',
      'Valid credentials, but the user does not have permission (make sure the user is a superuser).',
    );
  }
  return user;
}

function setCookies(
  koa: KoaContext,
  secure: boolean,
  session: { value: string; csrf: string; maxAgeMs: number },
) {
  koa.cookies.secure = secure;
  const common = { path: '/', sameSite: 'lax' as const, secure, overwrite: true };
  koa.cookies.set(SESSION_COOKIE, session.value, { ...common, httpOnly: true, maxAge: session.maxAgeMs });
  koa.cookies.set(CSRF_COOKIE, session.csrf, { ...common, httpOnly: false, maxAge: session.maxAgeMs });
}

/** Handlers of the `auth` tag. */
export const authHandlers = {
  login: async (c) => {
    const user = await passwordLogin(c, 'login');
    const login = await c.services.sessions.create(user);
    await c.services.audit.record({
      action: 'auth.login',
      actor: { id: user.id, username: user.username, clientIp: c.clientIp },
      target: { type: 'user', id: user.id },
      detail: `login: session ${login.session.id}`,
    });
    setCookies(c.koa, c.koa.secure || c.config.cookieSecure, {
      value: login.cookie,
      csrf: login.session.csrf_token,
      maxAgeMs: c.config.jwtTtlSeconds * 1000,
    });
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      body: {
        token: login.jwt,
        token_type: 'Bearer',
        expires_at: login.session.expires_at,
        csrf_token: login.session.csrf_token,
        user: toUserView(user),
      },
    };
  },

  logout: async (c) => {
    const principal = caller(c);
    if (!principal.session) {
      throw new ApiError(
        'NOT_A_SESSION',
        `This request was authenticated by ${principal.method}, not by a login; there is no session to end. Delete or deactivate a key instead.`,
      );
    }
    await c.services.sessions.end(principal.session.id);
    await c.services.audit.record({
      action: 'auth.logout',
      actor: auditActor(c),
      target: { type: 'user', id: principal.user.id },
      detail: `session ${principal.session.id}`,
    });
    setCookies(c.koa, c.koa.secure || c.config.cookieSecure, { value: '', csrf: '', maxAgeMs: 0 });
    return { status: 204 };
  },

  whoami: async (c) => {
    const principal = caller(c);
    return {
      status: 200,
      body: {
        user: toUserView(principal.user),
        auth: {
          method: principal.method,
          token_id: principal.tokenId,
          expires_at: principal.expiresAt,
          write_enabled: principal.writeEnabled,
        },
      },
    };
  },

  getApiToken: async (c) => {
    const user = await passwordLogin(c, 'get_api_token');
    const { row, plaintext, issued } = await c.services.keys.issueToken(user, c.config.apiTokenTtlDays);
    if (issued) {
      await c.services.audit.record({
        action: 'token.issued',
        actor: { id: user.id, username: user.username, clientIp: c.clientIp },
        target: { type: 'key', id: row.id },
        detail: `${row.name}, expires ${row.expires_at}`,
      });
    }
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      body: {
        id: row.id,
        token: plaintext,
        created_at: row.created_at,
        // Issued tokens always expire; the column is only null for other keys.
        expires: row.expires_at as string,
        created_by_id: row.user_id,
      },
    };
  },

  checkApiToken: async (c) => {
    const { token } = c.body as { token: string };
    const result = await c.services.keys.verify(token);
    const ok = result.ok && (!c.config.superuserOnly || Boolean(result.user.is_superuser));
    return { status: 200, body: { success: ok, user_id: ok && result.ok ? result.user.id : null } };
  },

  getBootstrapStatus: async (c) => {
    const status = await c.services.bootstrap.status();
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      body: { needs_bootstrap: status.needsBootstrap, has_db_keys: status.hasDbKeys },
    };
  },

  registerKey: async (c) => {
    const { api_key, label } = c.body as { api_key: string; label?: string };
    let registered: Awaited<ReturnType<typeof c.services.bootstrap.register>>;
    try {
      registered = await c.services.bootstrap.register(api_key, label);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'BOOTSTRAP_DONE') {
        await c.services.audit.record({
          action: 'auth.bootstrap',
          outcome: 'failure',
          actor: { clientIp: c.clientIp },
          detail: 'refused: already set up',
        });
      }
      throw err;
    }
    const { user, key } = registered;
    await c.services.audit.record({
      action: 'auth.bootstrap',
      actor: { id: user.id, username: user.username, clientIp: c.clientIp },
      target: { type: 'key', id: key.id },
      detail: `${key.name}, owned by new superuser ${user.username}`,
    });
    return {
      status: 201,
      body: { detail: 'API key registered.', key_id: key.id, user_id: user.id },
    };
  },
} satisfies Record<string, Handler>;

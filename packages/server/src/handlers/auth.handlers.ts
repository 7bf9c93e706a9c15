import type { Context as KoaContext } from 'koa';

import { CSRF_COOKIE, SESSION_COOKIE } from '../auth/credential.js';
import { ApiError } from '../errors/api-error.js';
import { toUserView } from '../users/user.view.js';
import { caller, type Handler, type HandlerContext } from './handler.js';

interface Credentials {
  username: string;
  password: string;
}

const BAD_LOGIN = 'The username or password is wrong, or the user is inactive.';

async function passwordLogin(c: HandlerContext) {
  const { username, password } = c.body as Credentials;
  const user = await c.services.users.authenticate(username, password);
  if (!user) {
    throw new ApiError('AUTHENTICATION_FAILED', BAD_LOGIN, {
      headers: { 'WWW-Authenticate': c.services.authenticator.challenge('invalid_token') },
    });
  }
  if (c.config.superuserOnly && !user.is_superuser) {
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
    const user = await passwordLogin(c);
    const login = await c.services.sessions.create(user);
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
    const user = await passwordLogin(c);
    const { row, plaintext } = await c.services.keys.issueToken(user, c.config.apiTokenTtlDays);
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
} satisfies Record<string, Handler>;

import { ApiError } from '../../api-error.js';
import { CSRF_COOKIE, SESSION_COOKIE } from '../../auth/credential.js';
import { missingPermissions, normalisePermissions } from '../../keys/permissions.js';
import { toUserView } from '../../users/user.record.js';
import { type CookieSpec, caller, type Handler, type HandlerContext } from '../handler.js';

interface Credentials {
  username: string;
  password: string;
}

/** The session and CSRF cookies of a login (or, with empty values, of a logout). */
function loginCookies(
  c: HandlerContext,
  session: { value: string; csrf: string; maxAgeS: number },
): CookieSpec[] {
  const secure = c.secure || c.config.cookieSecure;
  const sameSite = c.config.cookieSameSite;
  const { maxAgeS } = session;
  return [
    { name: SESSION_COOKIE, value: session.value, maxAgeS, httpOnly: true, secure, sameSite },
    { name: CSRF_COOKIE, value: session.csrf, maxAgeS, httpOnly: false, secure, sameSite },
  ];
}

/** Handlers of the `auth` tag. */
export const authHandlers = {
  login: async (c) => {
    const { username, password } = c.body as Credentials;
    const user = await c.services.sessions.checkPassword('login', username, password, c.clientIp);
    const login = await c.services.sessions.login(user, c.clientIp);
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      cookies: loginCookies(c, {
        value: login.cookie,
        csrf: login.session.csrf_token,
        maxAgeS: c.config.jwtTtlSeconds,
      }),
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
    await c.services.sessions.logout(c.actor, principal.session);
    return { status: 204, cookies: loginCookies(c, { value: '', csrf: '', maxAgeS: 0 }) };
  },

  changePassword: async (c) => {
    const principal = caller(c);
    const { current_password, new_password } = c.body as { current_password: string; new_password: string };
    // A wrong current password is a guess like a wrong login: the pipeline counts it.
    await c.services.users.changePassword(
      c.actor,
      principal.user,
      current_password,
      new_password,
      principal.session?.id,
    );
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
    const { username, password } = c.body as Credentials;
    const user = await c.services.sessions.checkPassword('get_api_token', username, password, c.clientIp);
    const actor = { id: user.id, username: user.username, clientIp: c.clientIp, via: 'api' as const };
    const { key, plaintext } = await c.services.keys.issueToken(actor, user);
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      body: {
        id: key.id,
        token: plaintext,
        created_at: key.created_at,
        // Issued tokens always expire; the field is only null for other keys.
        expires: key.expires_at as string,
        created_by_id: key.user_id,
      },
    };
  },

  checkApiToken: async (c) => {
    const { token } = c.body as { token: string };
    const result = await c.services.keys.verify(token);
    const ok = result.ok && (!c.config.superuserOnly || result.user.is_superuser);
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
    const { user, key } = await c.services.bootstrap.register(c.clientIp, api_key, label);
    return { status: 201, body: { detail: 'API key registered.', key_id: key.id, user_id: user.id } };
  },
  forwardAuth: async (c) => {
    const asked = c.query.permission;
    const required = normalisePermissions(
      'query.permission',
      asked === undefined ? [] : Array.isArray(asked) ? asked.map(String) : [String(asked)],
    );
    // Success is an empty body: nginx keeps its connection to Latchkey open only then.
    const pass = (headers: Record<string, string> = {}) => ({
      status: 200,
      headers,
      body: '',
      contentType: 'text/plain; charset=utf-8',
    });
    const principal = c.principal;
    if (!principal) {
      if (required.length) {
        throw new ApiError(
          'AUTHENTICATION_REQUIRED',
          `This request needs ${required.join(', ')}; send a key that holds ${required.length > 1 ? 'them' : 'it'}.`,
        );
      }
      return pass();
    }
    const held = principal.key?.permissions ?? null;
    if (held !== null && held.length === 0) {
      throw new ApiError('INSUFFICIENT_PERMISSIONS', 'Valid API key, but it holds no permission.');
    }
    const missing = missingPermissions(held, required);
    if (missing.length) {
      throw new ApiError(
        'INSUFFICIENT_PERMISSIONS',
        `Valid API key, but it lacks ${missing.join(', ')}; it holds ${(held ?? []).join(', ')}.`,
      );
    }
    return pass(held === null ? {} : { 'X-Auth-Permissions': held.join(',') });
  },
} satisfies Record<string, Handler>;

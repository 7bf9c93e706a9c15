import { ApiError } from '@latchkey/core';
import { CSRF_COOKIE, challenge, SESSION_COOKIE } from '../http/authenticate.js';
import { checkKey } from '../store/keys.js';
import { toUserView, type UserRecord } from '../store/users.js';
import { actor, caller, type MockContext, type MockHandler } from './context.js';

const BAD_LOGIN = 'The username or password is wrong, or the user is inactive.';

/** Checks a username and password as login and get_api_token do; a refusal is audited. */
function passwordLogin(c: MockContext, endpoint: 'login' | 'get_api_token'): UserRecord {
  const { username, password } = c.body as { username: string; password: string };
  const user = c.store.users.authenticate(username, password);
  const refuse = (why: string, target: UserRecord | undefined) =>
    c.store.audit.record({
      action: 'auth.login',
      outcome: 'failure',
      actor: { clientIp: c.clientIp },
      ...(target ? { target: { type: 'user' as const, id: target.id } } : {}),
      detail: `${endpoint}: ${why}`,
    });
  if (!user) {
    const known = c.store.users.findByUsername(username);
    refuse(known ? `wrong password or inactive user ${known.username}` : 'unknown username', known);
    throw new ApiError('AUTHENTICATION_FAILED', BAD_LOGIN, {
      headers: { 'WWW-Authenticate': challenge('invalid_token') },
    });
  }
  if (c.store.config.superuserOnly && !user.is_superuser) {
    refuse(`${user.username} is not a superuser (superuser_only)`, user);
    throw new ApiError(
      'SUPERUSER_REQUIRED',
      'Valid credentials, but the user does not have permission (make sure the user is a superuser).',
    );
  }
  return user;
}

function cookie(name: string, value: string, maxAgeS: number, httpOnly: boolean, now: number): string {
  const expires = new Date(now + maxAgeS * 1000).toUTCString();
  return `${name}=${value}; path=/; max-age=${maxAgeS}; expires=${expires}; samesite=lax${httpOnly ? '; httponly' : ''}`;
}

/** Handlers of the `auth` tag. */
export const authHandlers = {
  login: (c) => {
    const user = passwordLogin(c, 'login');
    const session = c.store.sessions.create(user);
    c.store.audit.record({
      action: 'auth.login',
      actor: { id: user.id, username: user.username, clientIp: c.clientIp },
      target: { type: 'user', id: user.id },
      detail: `login: session ${session.id}`,
    });
    const now = c.store.clock();
    const ttl = c.store.config.jwtTtlS;
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      cookies: [
        cookie(SESSION_COOKIE, session.cookie, ttl, true, now),
        cookie(CSRF_COOKIE, session.csrf_token, ttl, false, now),
      ],
      body: {
        token: session.jwt,
        token_type: 'Bearer',
        expires_at: session.expires_at,
        csrf_token: session.csrf_token,
        user: toUserView(user),
      },
    };
  },

  logout: (c) => {
    const principal = caller(c);
    if (!principal.session) {
      throw new ApiError(
        'NOT_A_SESSION',
        `This request was authenticated by ${principal.method}, not by a login; there is no session to end. Delete or deactivate a key instead.`,
      );
    }
    c.store.sessions.end(principal.session.id);
    c.store.audit.record({
      action: 'auth.logout',
      actor: actor(c),
      target: { type: 'user', id: principal.user.id },
      detail: `session ${principal.session.id}`,
    });
    const now = c.store.clock();
    return {
      status: 204,
      cookies: [cookie(SESSION_COOKIE, '', 0, true, now), cookie(CSRF_COOKIE, '', 0, false, now)],
    };
  },

  whoami: (c) => {
    const p = caller(c);
    return {
      status: 200,
      body: {
        user: toUserView(p.user),
        auth: {
          method: p.method,
          token_id: p.tokenId,
          expires_at: p.expiresAt,
          write_enabled: p.writeEnabled,
        },
      },
    };
  },

  getApiToken: (c) => {
    const user = passwordLogin(c, 'get_api_token');
    const { key, issued } = c.store.keys.issueToken(user, c.store.config.apiTokenTtlDays);
    if (issued) {
      c.store.audit.record({
        action: 'token.issued',
        actor: { id: user.id, username: user.username, clientIp: c.clientIp },
        target: { type: 'key', id: key.id },
        detail: `${key.name}, expires ${key.expires_at}`,
      });
    }
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      body: {
        id: key.id,
        token: key.secret,
        created_at: key.created_at,
        expires: key.expires_at as string,
        created_by_id: key.user_id,
      },
    };
  },

  checkApiToken: (c) => {
    const { token } = c.body as { token: string };
    const key = c.store.keys.find(token);
    const user = key ? c.store.users.byId.get(key.user_id) : undefined;
    const ok =
      key !== undefined &&
      user !== undefined &&
      checkKey(key, user, c.store.clock()) === 'VALID' &&
      (!c.store.config.superuserOnly || user.is_superuser);
    return { status: 200, body: { success: ok, user_id: ok ? (user?.id ?? null) : null } };
  },

  getBootstrapStatus: (c) => ({
    status: 200,
    headers: { 'Cache-Control': 'no-store' },
    body: c.store.bootstrapStatus(),
  }),

  registerKey: (c) => {
    const { api_key, label } = c.body as { api_key: string; label?: string };
    let registered: ReturnType<typeof c.store.registerFirstKey>;
    try {
      registered = c.store.registerFirstKey(api_key, label);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'BOOTSTRAP_DONE') {
        c.store.audit.record({
          action: 'auth.bootstrap',
          outcome: 'failure',
          actor: { clientIp: c.clientIp },
          detail: 'refused: already set up',
        });
      }
      throw err;
    }
    const { user, key } = registered;
    c.store.audit.record({
      action: 'auth.bootstrap',
      actor: { id: user.id, username: user.username, clientIp: c.clientIp },
      target: { type: 'key', id: key.id },
      detail: `${key.name}, owned by new superuser ${user.username}`,
    });
    return { status: 201, body: { detail: 'API key registered.', key_id: key.id, user_id: user.id } };
  },
} satisfies Record<string, MockHandler>;

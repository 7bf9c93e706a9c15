import { type AuthStrategy, SESSION_COOKIE } from './credential.js';

/** The cookie set by login. Browsers send it on their own, so it yields to explicit credentials. */
export const sessionCookieStrategy: AuthStrategy = {
  ambient: true,
  extract(source) {
    const value = source.cookie(SESSION_COOKIE);
    return value ? [{ type: 'session', value, source: `cookie ${SESSION_COOKIE}` }] : [];
  },
};

import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { ApiError } from '../api-error.js';
import { type Actor, anonymousActor } from '../audit/audit.record.js';
import type { AuditService } from '../audit/audit.service.js';
import { isoAt } from '../keys/key.rules.js';
import type { ServiceDeps } from '../services.js';
import type { UserRecord } from '../users/user.record.js';
import type { UserService } from '../users/user.service.js';
import type { FoundSession, SessionRecord } from './session.record.js';

const ISSUER = 'latchkey';
const AUDIENCE = 'latchkey-api';
const MAX_COOKIE_LENGTH = 256;
const BAD_LOGIN = 'The username or password is wrong, or the user is inactive.';

export interface NewLogin {
  session: SessionRecord;
  jwt: string;
  cookie: string;
}

/** Random bytes from the platform's CSPRNG as base64url. */
export function randomToken(bytes: number): string {
  const raw = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  let binary = '';
  for (const b of raw) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Logins: a session reachable by its JWT and by its cookie. */
export class SessionService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly audit: AuditService,
    private readonly users: UserService,
  ) {}

  /**
   * Checks a username and password for login and get_api_token; a refusal is audited as a
   * failed login (naming the account only when it exists, so that a password typed into the
   * username field never lands in the log) and is 401, or 403 under superuser_only.
   */
  async checkPassword(
    endpoint: 'login' | 'get_api_token',
    username: string,
    password: string,
    clientIp: string,
  ): Promise<UserRecord> {
    const user = await this.users.authenticate(username, password);
    const refuse = (why: string, target: UserRecord | undefined) =>
      this.audit.record({
        action: 'auth.login',
        outcome: 'failure',
        actor: anonymousActor(clientIp),
        ...(target ? { target: { type: 'user' as const, id: target.id } } : {}),
        detail: `${endpoint}: ${why}`,
      });
    if (!user) {
      const known = username.includes('\u0000') ? undefined : await this.users.findByUsername(username);
      await refuse(known ? `wrong password or inactive user ${known.username}` : 'unknown username', known);
      throw new ApiError('AUTHENTICATION_FAILED', BAD_LOGIN);
    }
    if (this.deps.config.superuserOnly && !user.is_superuser) {
      await refuse(`${user.username} is not a superuser (superuser_only)`, user);
      throw new ApiError(
        'SUPERUSER_REQUIRED',
        'Valid credentials, but the user does not have permission (make sure the user is a superuser).',
      );
    }
    return user;
  }

  /** Starts a login: one session, reachable by its JWT and by its cookie. */
  async login(user: UserRecord, clientIp: string): Promise<NewLogin> {
    const now = this.deps.clock();
    const cookie = randomToken(32);
    const expires = now + this.deps.config.jwtTtlSeconds * 1000;
    const session: SessionRecord = {
      id: globalThis.crypto.randomUUID(),
      user_id: user.id,
      digest: await this.deps.secrets.digest(cookie),
      csrf_token: randomToken(24),
      created_at: isoAt(now),
      expires_at: isoAt(expires),
    };
    await this.deps.store.sessions.insert(session);
    const jwt = await new SignJWT({ sid: session.id })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.id)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(expires / 1000))
      .setJti(session.id)
      .sign(this.deps.secrets.jwtKey);
    await this.audit.record({
      action: 'auth.login',
      actor: { id: user.id, username: user.username, clientIp, via: 'api' },
      target: { type: 'user', id: user.id },
      detail: `login: session ${session.id}`,
    });
    return { session, jwt, cookie };
  }

  private live(found: FoundSession | undefined, now: number): FoundSession | undefined {
    return found && Date.parse(found.session.expires_at) > now && found.user.is_active ? found : undefined;
  }

  /** The live session behind a login JWT, or undefined when the JWT or its session is not valid. */
  async verifyJwt(token: string, now: number = this.deps.clock()): Promise<FoundSession | undefined> {
    const { cache } = this.deps;
    // The entry names this exact token, whose signature was checked when it was cached.
    const entry = cache.entryId('jwt', token);
    const hit = cache.getSession(entry, now);
    if (hit) return { session: hit.session, user: hit.user };
    const generation = cache.generation;
    try {
      const { payload } = await jwtVerify(token, this.deps.secrets.jwtKey, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        currentDate: new Date(now),
      });
      if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string') return undefined;
      const found = this.live(await this.deps.store.sessions.findById(payload.sid), now);
      if (found?.user.id !== payload.sub) return undefined;
      const sessionEnds = Date.parse(found.session.expires_at);
      const tokenEnds = typeof payload.exp === 'number' ? payload.exp * 1000 : sessionEnds;
      cache.putSession(entry, { ...found, expiresAtMs: Math.min(sessionEnds, tokenEnds) }, generation);
      return found;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return undefined;
      throw err;
    }
  }

  /** The live session behind a session cookie. */
  async findByCookie(cookie: string, now: number = this.deps.clock()): Promise<FoundSession | undefined> {
    if (cookie.length > MAX_COOKIE_LENGTH) return undefined;
    const { cache } = this.deps;
    const entry = cache.entryId('cookie', cookie);
    const hit = cache.getSession(entry, now);
    if (hit) return { session: hit.session, user: hit.user };
    const generation = cache.generation;
    const found = this.live(
      await this.deps.store.sessions.findByDigest(await this.deps.secrets.digest(cookie)),
      now,
    );
    if (found)
      cache.putSession(entry, { ...found, expiresAtMs: Date.parse(found.session.expires_at) }, generation);
    return found;
  }

  /** Ends one login, for its JWT and its cookie alike. */
  async logout(actor: Actor, session: SessionRecord): Promise<void> {
    await this.deps.store.sessions.delete(session.id);
    await this.deps.cache.invalidate({ kind: 'session', id: session.id });
    await this.audit.record({
      action: 'auth.logout',
      actor,
      target: { type: 'user', id: session.user_id },
      detail: `session ${session.id}`,
    });
  }

  /** Removes sessions that expired, so that the store does not grow without end. */
  async prune(): Promise<void> {
    // Cached sessions carry their expiry and are refused once it passes: nothing to invalidate.
    await this.deps.store.sessions.prune(isoAt(this.deps.clock()));
  }
}

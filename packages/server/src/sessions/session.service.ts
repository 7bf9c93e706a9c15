import { randomBytes, randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Kysely } from 'kysely';
import { AuthCache } from '../cache/auth-cache.js';
import { isoNow } from '../db/database.js';
import type { Database } from '../db/database.types.js';
import { digestSecret } from '../keys/key.hash.js';
import type { Secrets } from '../secrets/secrets.js';
import type { UserRow } from '../users/user.table.js';
import type { SessionRow } from './session.table.js';

const ISSUER = 'latchkey';
const AUDIENCE = 'latchkey-api';

export interface NewLogin {
  session: SessionRow;
  jwt: string;
  cookie: string;
}

export interface FoundSession {
  session: SessionRow;
  user: UserRow;
}

/**
 * A JWT is three base64url parts whose first decodes to a JSON header naming its `alg`.
 * The header check matters: a key supplied by a caller may hold dots too (for example
 * `restored.key.0123…`), and must still be looked up as a key.
 */
export function looksLikeJwt(value: string): boolean {
  const parts = /^([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.exec(value);
  if (!parts?.[1]) return false;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return (
      typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string'
    );
  } catch {
    return false;
  }
}

export class SessionService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly secrets: Secrets,
    private readonly ttlSeconds: number,
    /** Verified logins by the digest of their JWT or cookie; logout and user changes invalidate. */
    readonly cache: AuthCache = AuthCache.disabled(),
  ) {}

  /** Starts a login: one session row, reachable by its JWT and by its cookie. */
  async create(user: UserRow, now: Date = new Date()): Promise<NewLogin> {
    const cookie = randomBytes(32).toString('base64url');
    const expires = new Date(now.getTime() + this.ttlSeconds * 1000);
    const session: SessionRow = {
      id: randomUUID(),
      user_id: user.id,
      digest: digestSecret(this.secrets.pepper, cookie),
      csrf_token: randomBytes(24).toString('base64url'),
      created_at: isoNow(now),
      expires_at: isoNow(expires),
    };
    await this.db.insertInto('sessions').values(session).execute();
    const jwt = await new SignJWT({ sid: session.id })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.id)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .setExpirationTime(Math.floor(expires.getTime() / 1000))
      .setJti(session.id)
      .sign(this.secrets.jwtKey);
    return { session, jwt, cookie };
  }

  private async findLive(
    where: { id?: string; digest?: string },
    now: Date,
  ): Promise<FoundSession | undefined> {
    let query = this.db
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .selectAll('s')
      .select([
        'u.username',
        'u.password_hash',
        'u.is_superuser',
        'u.is_active',
        'u.can_create_tokens',
        'u.created_at as u_created_at',
        'u.updated_at as u_updated_at',
      ]);
    if (where.id !== undefined) query = query.where('s.id', '=', where.id);
    if (where.digest !== undefined) query = query.where('s.digest', '=', where.digest);
    const row = await query.executeTakeFirst();
    if (!row || row.expires_at <= isoNow(now) || !row.is_active) return undefined;
    return {
      session: {
        id: row.id,
        user_id: row.user_id,
        digest: row.digest,
        csrf_token: row.csrf_token,
        created_at: row.created_at,
        expires_at: row.expires_at,
      },
      user: {
        id: row.user_id,
        username: row.username,
        password_hash: row.password_hash,
        is_superuser: row.is_superuser,
        is_active: row.is_active,
        can_create_tokens: row.can_create_tokens,
        created_at: row.u_created_at,
        updated_at: row.u_updated_at,
      },
    };
  }

  /** The live session behind a login JWT, or undefined when the JWT or its session is not valid. */
  async verifyJwt(token: string, now: Date = new Date()): Promise<FoundSession | undefined> {
    // The entry names this exact token, whose signature was checked when it was cached.
    const cacheKey = this.cache.entryId('jwt', token);
    const hit = this.cache.getSession(cacheKey, now.getTime());
    if (hit) return { session: hit.session, user: hit.user };
    const generation = this.cache.generation;
    try {
      const { payload } = await jwtVerify(token, this.secrets.jwtKey, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        currentDate: now,
      });
      if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string') return undefined;
      const found = await this.findLive({ id: payload.sid }, now);
      if (found?.user.id !== payload.sub) return undefined;
      const sessionEnds = Date.parse(found.session.expires_at);
      const tokenEnds = typeof payload.exp === 'number' ? payload.exp * 1000 : sessionEnds;
      this.cache.putSession(
        cacheKey,
        { ...found, expiresAtMs: Math.min(sessionEnds, tokenEnds) },
        generation,
      );
      return found;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return undefined;
      throw err;
    }
  }

  async findByCookie(cookie: string, now: Date = new Date()): Promise<FoundSession | undefined> {
    if (cookie.length > 256) return undefined;
    const cacheKey = this.cache.entryId('cookie', cookie);
    const hit = this.cache.getSession(cacheKey, now.getTime());
    if (hit) return { session: hit.session, user: hit.user };
    const generation = this.cache.generation;
    const found = await this.findLive({ digest: digestSecret(this.secrets.pepper, cookie) }, now);
    if (found) {
      const expiresAtMs = Date.parse(found.session.expires_at);
      this.cache.putSession(cacheKey, { ...found, expiresAtMs }, generation);
    }
    return found;
  }

  async end(sessionId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id', '=', sessionId).execute();
    await this.cache.invalidate({ kind: 'session', id: sessionId });
  }

  /** Removes sessions that expired, so the table does not grow without end. */
  async prune(now: Date = new Date()): Promise<void> {
    // Cached sessions carry their expiry and are refused once it passes: nothing to invalidate.
    await this.db.deleteFrom('sessions').where('expires_at', '<=', isoNow(now)).execute();
  }
}

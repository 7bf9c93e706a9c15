import { randomBase62 } from '@latchkey/core';
import { type Clock, iso } from './config.js';
import type { UserRecord } from './users.js';

/** A login: one session reachable by its JWT-like token and by its cookie. */
export interface SessionRecord {
  id: string;
  user_id: string;
  jwt: string;
  cookie: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * A JWT is three base64url parts whose first decodes to a JSON header naming its `alg`;
 * anything else in `Authorization: Bearer` is an API key (the server's rule).
 */
export function looksLikeJwt(value: string): boolean {
  const parts = /^([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.exec(value);
  if (!parts?.[1]) return false;
  try {
    const padded = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const header: unknown = JSON.parse(atob(padded + '='.repeat((4 - (padded.length % 4)) % 4)));
    return (
      typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string'
    );
  } catch {
    return false;
  }
}

/** Login sessions. Tokens look like the server's HS256 JWTs; the mock checks them by lookup. */
export class SessionStore {
  readonly byId = new Map<string, SessionRecord>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlS: number,
  ) {}

  create(user: UserRecord): SessionRecord {
    const now = this.clock();
    const id = globalThis.crypto.randomUUID();
    const exp = now + this.ttlS * 1000;
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = base64url(
      JSON.stringify({
        sid: id,
        sub: user.id,
        iss: 'latchkey',
        aud: 'latchkey-api',
        iat: Math.floor(now / 1000),
        exp: Math.floor(exp / 1000),
      }),
    );
    const session: SessionRecord = {
      id,
      user_id: user.id,
      jwt: `${header}.${payload}.${randomBase62(43)}`,
      cookie: randomBase62(43),
      csrf_token: randomBase62(32),
      created_at: iso(now),
      expires_at: iso(exp),
    };
    this.byId.set(id, session);
    return session;
  }

  private live(found: SessionRecord | undefined): SessionRecord | undefined {
    return found && Date.parse(found.expires_at) > this.clock() ? found : undefined;
  }

  findByJwt(jwt: string): SessionRecord | undefined {
    return this.live([...this.byId.values()].find((s) => s.jwt === jwt));
  }

  findByCookie(cookie: string): SessionRecord | undefined {
    return this.live([...this.byId.values()].find((s) => s.cookie === cookie));
  }

  end(id: string): void {
    this.byId.delete(id);
  }

  /** Ends every session of a user (password reset, deactivation, deletion). */
  endAllOf(userId: string): void {
    for (const s of [...this.byId.values()]) if (s.user_id === userId) this.byId.delete(s.id);
  }
}

import { ApiError, generateKey, inspectKey, keyStart, suppliedKeyProblem } from '@latchkey/core';
import { type Clock, iso } from './config.js';
import { normaliseIpRule } from './ip-rules.js';
import type { UserRecord } from './users.js';

/** How a key came to be. */
export type KeyOrigin = 'api' | 'get_api_token' | 'rotation' | 'cli';

/** A key's own rate limit. */
export interface RateLimitSetting {
  limit: number;
  window_s: number;
}

/** A key as the mock keeps it: `secret` never leaves the store through the API after creation. */
export interface KeyRecord {
  id: string;
  user_id: string;
  name: string;
  start: string;
  secret: string;
  write_enabled: boolean;
  is_active: boolean;
  expires_at: string | null;
  allowed_ips: string[];
  rate_limit: RateLimitSetting | null;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  last_used_ip: string | null;
  created_via: KeyOrigin;
  rotated_from_id: string | null;
  /** Insertion order, newest highest, to order keys created in the same millisecond. */
  seq: number;
}

/** The public shape of a key: never its secret. */
export type KeyView = Omit<KeyRecord, 'secret' | 'seq'>;

export function toKeyView(k: KeyRecord): KeyView {
  const { secret: _secret, seq: _seq, ...view } = k;
  return { ...view, allowed_ips: [...view.allowed_ips] };
}

export interface KeyInput {
  name: string;
  key?: string | undefined;
  write_enabled?: boolean | undefined;
  expires_at?: string | null | undefined;
  allowed_ips?: string[] | undefined;
  rate_limit?: RateLimitSetting | null | undefined;
}

export interface KeyPatch {
  name?: string;
  write_enabled?: boolean;
  expires_at?: string;
  allowed_ips?: string[];
}

/** Why a key does not authenticate now, or VALID. */
export type KeyCheck = 'VALID' | 'DISABLED' | 'EXPIRED' | 'USER_INACTIVE';

/** Pure: whether a key authenticates at `now`. */
export function checkKey(key: KeyRecord, owner: UserRecord, now: number): KeyCheck {
  if (!owner.is_active) return 'USER_INACTIVE';
  if (!key.is_active) return 'DISABLED';
  if (key.expires_at !== null && Date.parse(key.expires_at) <= now) return 'EXPIRED';
  return 'VALID';
}

function futureInstant(field: string, value: string, now: number): string {
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw ApiError.field(field, 'must be an RFC 3339 date-time');
  if (at <= now) throw ApiError.field(field, 'must be in the future');
  return iso(at);
}

function normaliseIpRules(field: string, rules: string[]): string[] {
  const out: string[] = [];
  rules.forEach((rule, i) => {
    const normal = normaliseIpRule(rule);
    if (!normal) throw ApiError.field(`${field}[${i}]`, `"${rule}" is not an IP address or CIDR range`);
    if (!out.includes(normal)) out.push(normal);
  });
  return out;
}

/** The API keys of the mock, with the server's lifecycle rules. */
export class KeyStore {
  readonly byId = new Map<string, KeyRecord>();
  private readonly bySecret = new Map<string, string>();
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    readonly prefix: string,
  ) {}

  /** Creates a key for `owner`; returns the record, whose `secret` is the plaintext shown once. */
  create(
    owner: UserRecord,
    input: KeyInput,
    via: KeyOrigin,
    extra: { rotatedFromId?: string; keyField?: string } = {},
  ): KeyRecord {
    const now = this.clock();
    let secret: string;
    if (input.key !== undefined) {
      const why = suppliedKeyProblem(input.key, this.prefix);
      if (why) throw ApiError.field(extra.keyField ?? 'body.key', why);
      secret = input.key;
    } else {
      secret = generateKey(this.prefix);
    }
    const expires_at =
      input.expires_at === undefined || input.expires_at === null
        ? null
        : futureInstant('body.expires_at', input.expires_at, now);
    const allowed_ips = normaliseIpRules('body.allowed_ips', input.allowed_ips ?? []);
    if (this.bySecret.has(secret)) {
      throw new ApiError('KEY_ALREADY_EXISTS', 'A key with this value already exists.');
    }
    const at = iso(now);
    const record: KeyRecord = {
      id: globalThis.crypto.randomUUID(),
      user_id: owner.id,
      name: input.name,
      start: keyStart(secret, this.prefix),
      secret,
      write_enabled: input.write_enabled !== false,
      is_active: true,
      expires_at,
      allowed_ips,
      rate_limit: input.rate_limit ? { ...input.rate_limit } : null,
      created_at: at,
      updated_at: at,
      last_used_at: null,
      last_used_ip: null,
      created_via: via,
      rotated_from_id: extra.rotatedFromId ?? null,
      seq: ++this.seq,
    };
    this.byId.set(record.id, record);
    this.bySecret.set(secret, record.id);
    return record;
  }

  /** The key a request presented: a malformed key is refused before any lookup. */
  find(secret: string): KeyRecord | undefined {
    if (inspectKey(secret, this.prefix).kind === 'invalid') return undefined;
    const id = this.bySecret.get(secret);
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** One of the owner's keys; another user's key is a 404 like a missing one. */
  getOwned(owner: UserRecord, id: string): KeyRecord {
    const key = this.byId.get(id);
    if (!key || key.user_id !== owner.id) throw new ApiError('KEY_NOT_FOUND', `No key with id ${id}.`);
    return key;
  }

  getAny(id: string): KeyRecord {
    const key = this.byId.get(id);
    if (!key) throw new ApiError('KEY_NOT_FOUND', `No key with id ${id}.`);
    return key;
  }

  /** Renames a key and narrows its security fields; widening is 400 CANNOT_WIDEN. */
  update(key: KeyRecord, patch: KeyPatch): KeyRecord {
    const now = this.clock();
    const next: Partial<KeyRecord> = {};
    if (patch.name !== undefined) next.name = patch.name;
    if (patch.write_enabled !== undefined) {
      if (patch.write_enabled && !key.write_enabled) {
        throw ApiError.field(
          'body.write_enabled',
          'a read-only key cannot be made writable; create a new key',
          'CANNOT_WIDEN',
        );
      }
      next.write_enabled = patch.write_enabled;
    }
    if (patch.expires_at !== undefined) {
      const at = futureInstant('body.expires_at', patch.expires_at, now);
      if (key.expires_at !== null && at > key.expires_at) {
        throw ApiError.field(
          'body.expires_at',
          `can only move earlier than ${key.expires_at}`,
          'CANNOT_WIDEN',
        );
      }
      next.expires_at = at;
    }
    if (patch.allowed_ips !== undefined) {
      const rules = normaliseIpRules('body.allowed_ips', patch.allowed_ips);
      const added = key.allowed_ips.length ? rules.filter((r) => !key.allowed_ips.includes(r)) : [];
      if (added.length) {
        throw ApiError.field(
          'body.allowed_ips',
          `can only remove entries from ${JSON.stringify(key.allowed_ips)}; ${added.join(', ')} would widen the key`,
          'CANNOT_WIDEN',
        );
      }
      next.allowed_ips = rules;
    }
    Object.assign(key, next, { updated_at: iso(now) });
    return key;
  }

  setActive(key: KeyRecord, active: boolean): KeyRecord {
    if (key.is_active !== active) {
      key.is_active = active;
      key.updated_at = iso(this.clock());
    }
    return key;
  }

  delete(key: KeyRecord): KeyRecord {
    this.byId.delete(key.id);
    this.bySecret.delete(key.secret);
    return key;
  }

  /** Deletes every key of a user (when the user is deleted). */
  deleteOwnedBy(userId: string): void {
    for (const key of [...this.byId.values()]) if (key.user_id === userId) this.delete(key);
  }

  /**
   * Replaces a key: the new one inherits the name and security fields; the old one keeps
   * working for `graceSeconds` and then expires. Only an active, unexpired key rotates (409).
   */
  rotate(owner: UserRecord, old: KeyRecord, graceSeconds: number): KeyRecord {
    const now = this.clock();
    const state = checkKey(old, owner, now);
    if (state !== 'VALID') {
      throw new ApiError(
        'KEY_NOT_ROTATABLE',
        `Key ${old.id} is ${state === 'EXPIRED' ? 'expired' : 'deactivated'}; only an active, unexpired key can be rotated.`,
      );
    }
    const graceEnd = iso(now + graceSeconds * 1000);
    const inherited = old.expires_at;
    const created = this.create(
      owner,
      {
        name: old.name,
        write_enabled: old.write_enabled,
        expires_at: null,
        allowed_ips: old.allowed_ips,
        rate_limit: old.rate_limit,
      },
      'rotation',
      { rotatedFromId: old.id },
    );
    created.expires_at = inherited;
    old.expires_at = inherited !== null && inherited < graceEnd ? inherited : graceEnd;
    old.updated_at = iso(now);
    return created;
  }

  /** get_api_token: the newest valid token this endpoint issued to the user, or a new one. */
  issueToken(owner: UserRecord, ttlDays: number): { key: KeyRecord; issued: boolean } {
    const now = this.clock();
    const existing = [...this.byId.values()]
      .filter((k) => k.user_id === owner.id && k.created_via === 'get_api_token')
      .filter((k) => checkKey(k, owner, now) === 'VALID')
      .sort((a, b) => b.seq - a.seq)[0];
    if (existing) return { key: existing, issued: false };
    if (!owner.can_create_tokens) {
      throw new ApiError(
        'KEY_CREATION_NOT_ALLOWED',
        'Valid credentials, but this user may not create API tokens (can_create_tokens is off).',
      );
    }
    const key = this.create(
      owner,
      { name: 'get_api_token', expires_at: iso(now + ttlDays * 86_400_000) },
      'get_api_token',
    );
    return { key, issued: true };
  }

  /** Records a use of the key (the server does it in batches; the mock at once). */
  recordUse(key: KeyRecord, clientIp: string): void {
    key.last_used_at = iso(this.clock());
    key.last_used_ip = clientIp;
  }

  /** Keys newest first, filtered. */
  list(filter: {
    userId?: string | undefined;
    isActive?: boolean | undefined;
    expired?: boolean | undefined;
  }): KeyRecord[] {
    const now = this.clock();
    return [...this.byId.values()]
      .filter((k) => filter.userId === undefined || k.user_id === filter.userId)
      .filter((k) => filter.isActive === undefined || k.is_active === filter.isActive)
      .filter(
        (k) =>
          filter.expired === undefined ||
          (k.expires_at !== null && Date.parse(k.expires_at) <= now) === filter.expired,
      )
      .sort((a, b) => b.seq - a.seq);
  }
}

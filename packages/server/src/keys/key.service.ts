import { randomUUID } from 'node:crypto';
import { ApiError, generateKey, inspectKey, keyStart, suppliedKeyProblem } from '@latchkey/core';
import type { Kysely, Transaction } from 'kysely';
import { AuthCache } from '../cache/auth-cache.js';
import type { DatabaseConfig } from '../config/config.js';
import { isoNow, isUniqueViolation, lockWithinTransaction } from '../db/database.js';
import type { Database } from '../db/database.types.js';
import { seal, unseal } from '../secrets/seal.js';
import type { Secrets } from '../secrets/secrets.js';
import type { UserRow } from '../users/user.table.js';
import { checkKey, type KeyCheck, normaliseIpRule } from './key.check.js';
import { digestSecret } from './key.hash.js';
import { KeyRepository, type KeyWithOwner } from './key.repository.js';
import type { ApiKeyRow, KeyOrigin } from './key.table.js';
import { UsageBuffer, type UsageEntry } from './usage-buffer.js';
import { UsageWriter, writesUsageOffThread } from './usage-writer.js';

export const MAX_GRACE_SECONDS = 86_400;

export interface KeyInput {
  name: string;
  key?: string | undefined;
  write_enabled?: boolean | undefined;
  expires_at?: string | null | undefined;
  allowed_ips?: string[] | undefined;
  rate_limit?: { limit: number; window_s: number } | null | undefined;
}

export interface KeyPatch {
  name?: string;
  write_enabled?: boolean;
  expires_at?: string;
  allowed_ips?: string[];
}

export type VerifyResult =
  | { ok: true; key: ApiKeyRow; user: UserRow }
  | { ok: false; reason: 'INVALID_FORMAT' | 'NOT_FOUND' | Exclude<KeyCheck, 'VALID'> };

function futureInstant(field: string, value: string, now: Date): string {
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw ApiError.field(field, 'must be an RFC 3339 date-time');
  if (at <= now) throw ApiError.field(field, 'must be in the future');
  return at.toISOString();
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

export class KeyService {
  readonly keys: KeyRepository;
  readonly usage: UsageBuffer;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly secrets: Secrets,
    private readonly prefix: string,
    onUsageError: (error: unknown) => void,
    /** Verified keys; every write below invalidates what it changes. */
    readonly cache: AuthCache = AuthCache.disabled(),
    /**
     * Where `db` stores its data. On a SQLite file, key usage is written from a worker
     * thread with a connection of its own (see usage-writer.ts); otherwise, or when not
     * given, through `db`.
     */
    storage?: DatabaseConfig,
  ) {
    this.keys = new KeyRepository(db);
    const inThread = (entries: UsageEntry[]) => this.keys.recordUsage(entries);
    if (writesUsageOffThread(storage)) {
      const writer = new UsageWriter(storage.file, { fallback: inThread, onThreadError: onUsageError });
      this.usage = new UsageBuffer(
        (entries) => writer.write(entries),
        onUsageError,
        () => writer.close(),
      );
    } else {
      this.usage = new UsageBuffer(inThread, onUsageError);
    }
  }

  digest(value: string): string {
    return digestSecret(this.secrets.pepper, value);
  }

  /**
   * Finds the key a request presented. A malformed key or one whose checksum fails is
   * refused before any database read.
   */
  async verify(value: string, now: Date = new Date()): Promise<VerifyResult> {
    if (inspectKey(value, this.prefix).kind === 'invalid') return { ok: false, reason: 'INVALID_FORMAT' };
    const entry = this.cache.entryId('key', value);
    let found: KeyWithOwner | undefined = this.cache.getKey(entry);
    if (!found) {
      const generation = this.cache.generation;
      found = await this.keys.findByDigest(this.digest(value));
      if (!found) return { ok: false, reason: 'NOT_FOUND' };
      this.cache.putKey(entry, found, generation);
    }
    // Expiry, deactivation and the owner's state are checked on every request, cached or not.
    const { key, user } = found;
    const check = checkKey(
      { is_active: key.is_active, expires_at: key.expires_at, user_is_active: user.is_active },
      now,
    );
    if (check !== 'VALID') return { ok: false, reason: check };
    return { ok: true, key, user };
  }

  /** The same service, its reads and writes joining the given transaction. */
  withinTransaction(trx: Transaction<Database>): KeyService {
    return new KeyService(trx, this.secrets, this.prefix, () => {});
  }

  /** Why a key supplied by a caller cannot be stored, or undefined when it can. */
  suppliedKeyProblem(value: string): string | undefined {
    return suppliedKeyProblem(value, this.prefix);
  }

  /** Creates a key for `owner` and returns the stored row with the plaintext, shown once. */
  async create(
    owner: UserRow,
    input: KeyInput,
    via: KeyOrigin,
    extra: { rotatedFromId?: string; sealIt?: boolean; now?: Date } = {},
  ): Promise<{ row: ApiKeyRow; plaintext: string }> {
    const now = extra.now ?? new Date();
    let plaintext: string;
    if (input.key !== undefined) {
      const why = this.suppliedKeyProblem(input.key);
      if (why) throw ApiError.field('body.key', why);
      plaintext = input.key;
    } else {
      plaintext = generateKey(this.prefix);
    }
    const nowIso = isoNow(now);
    const row: ApiKeyRow = {
      id: randomUUID(),
      user_id: owner.id,
      name: input.name,
      start: keyStart(plaintext, this.prefix),
      digest: this.digest(plaintext),
      pepper_id: this.secrets.pepperId,
      write_enabled: input.write_enabled === false ? 0 : 1,
      is_active: 1,
      expires_at:
        input.expires_at === undefined || input.expires_at === null
          ? null
          : futureInstant('body.expires_at', input.expires_at, now),
      allowed_ips: JSON.stringify(normaliseIpRules('body.allowed_ips', input.allowed_ips ?? [])),
      created_at: nowIso,
      updated_at: nowIso,
      last_used_at: null,
      last_used_ip: null,
      created_via: via,
      rotated_from_id: extra.rotatedFromId ?? null,
      sealed_key: extra.sealIt ? seal(this.secrets.sealKey, plaintext) : null,
      rate_limit: input.rate_limit?.limit ?? null,
      rate_window_s: input.rate_limit?.window_s ?? null,
    };
    try {
      await this.keys.insert(row);
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ApiError('KEY_ALREADY_EXISTS', 'A key with this value already exists.');
      throw err;
    }
    return { row, plaintext };
  }

  async getOwned(owner: UserRow, id: string): Promise<ApiKeyRow> {
    const row = await this.keys.findOwned(owner.id, id);
    if (!row) throw new ApiError('KEY_NOT_FOUND', `No key with id ${id}.`);
    return row;
  }

  /** Renames a key and narrows its security fields; anything that would widen it is refused. */
  async update(owner: UserRow, id: string, patch: KeyPatch, now: Date = new Date()): Promise<ApiKeyRow> {
    const row = await this.getOwned(owner, id);
    const next: Partial<ApiKeyRow> = {};
    if (patch.name !== undefined) next.name = patch.name;
    if (patch.write_enabled !== undefined) {
      if (patch.write_enabled && !row.write_enabled) {
        throw ApiError.field(
          'body.write_enabled',
          'a read-only key cannot be made writable; create a new key',
          'CANNOT_WIDEN',
        );
      }
      next.write_enabled = patch.write_enabled ? 1 : 0;
    }
    if (patch.expires_at !== undefined) {
      const at = futureInstant('body.expires_at', patch.expires_at, now);
      if (row.expires_at !== null && at > row.expires_at) {
        throw ApiError.field(
          'body.expires_at',
          `can only move earlier than ${row.expires_at}`,
          'CANNOT_WIDEN',
        );
      }
      next.expires_at = at;
    }
    if (patch.allowed_ips !== undefined) {
      const rules = normaliseIpRules('body.allowed_ips', patch.allowed_ips);
      const current = JSON.parse(row.allowed_ips) as string[];
      const added = current.length ? rules.filter((r) => !current.includes(r)) : [];
      if (added.length) {
        throw ApiError.field(
          'body.allowed_ips',
          `can only remove entries from ${JSON.stringify(current)}; ${added.join(', ')} would widen the key`,
          'CANNOT_WIDEN',
        );
      }
      next.allowed_ips = JSON.stringify(rules);
    }
    next.updated_at = isoNow(now);
    await this.keys.update(row.id, next);
    await this.cache.invalidate({ kind: 'key', id: row.id });
    return { ...row, ...next };
  }

  async setActive(owner: UserRow, id: string, active: boolean): Promise<ApiKeyRow> {
    return this.changeActive(await this.getOwned(owner, id), active);
  }

  private async changeActive(row: ApiKeyRow, active: boolean): Promise<ApiKeyRow> {
    if (Boolean(row.is_active) === active) return row;
    const next = { is_active: active ? 1 : 0, updated_at: isoNow() };
    await this.keys.update(row.id, next);
    await this.cache.invalidate({ kind: 'key', id: row.id });
    return { ...row, ...next };
  }

  async delete(owner: UserRow, id: string): Promise<ApiKeyRow> {
    const row = await this.getOwned(owner, id);
    await this.keys.delete(row.id);
    await this.cache.invalidate({ kind: 'key', id: row.id });
    return row;
  }

  /** Admin: any user's key; 404 KEY_NOT_FOUND otherwise. */
  async getAny(id: string): Promise<ApiKeyRow> {
    const row = await this.keys.findById(id);
    if (!row) throw new ApiError('KEY_NOT_FOUND', `No key with id ${id}.`);
    return row;
  }

  /** Admin: activates or deactivates any user's key. */
  async setActiveAny(id: string, active: boolean): Promise<ApiKeyRow> {
    return this.changeActive(await this.getAny(id), active);
  }

  /** Admin: deletes any user's key; it stops working at once. */
  async deleteAny(id: string): Promise<ApiKeyRow> {
    const row = await this.getAny(id);
    await this.keys.delete(row.id);
    await this.cache.invalidate({ kind: 'key', id: row.id });
    return row;
  }

  /**
   * Replaces a key: the new one inherits the name and security fields, the old one keeps
   * working for `graceSeconds` and then expires.
   */
  async rotate(
    owner: UserRow,
    id: string,
    graceSeconds: number,
    now: Date = new Date(),
  ): Promise<{ row: ApiKeyRow; plaintext: string }> {
    const old = await this.getOwned(owner, id);
    const state = checkKey({ ...old, user_is_active: owner.is_active }, now);
    if (state !== 'VALID') {
      throw new ApiError(
        'KEY_NOT_ROTATABLE',
        `Key ${id} is ${state === 'EXPIRED' ? 'expired' : 'deactivated'}; only an active, unexpired key can be rotated.`,
      );
    }
    const graceEnd = new Date(now.getTime() + graceSeconds * 1000).toISOString();
    const oldExpiry = old.expires_at !== null && old.expires_at < graceEnd ? old.expires_at : graceEnd;
    const rotated = await this.db.transaction().execute(async (trx) => {
      // Claim the old key in the state checked above before issuing its successor: of
      // concurrent rotations (or a rotation racing a deactivation or narrowing) only one
      // changes the row; the others match nothing and are refused, so one key never gets
      // two successors.
      // updated_at must change even within the millisecond of the last change.
      const stamp =
        isoNow(now) > old.updated_at ? isoNow(now) : isoNow(new Date(Date.parse(old.updated_at) + 1));
      const claimed = await trx
        .updateTable('api_keys')
        .set({ expires_at: oldExpiry, updated_at: stamp })
        .where('id', '=', old.id)
        .where('is_active', '=', 1)
        .where('updated_at', '=', old.updated_at)
        .where((eb) =>
          old.expires_at === null ? eb('expires_at', 'is', null) : eb('expires_at', '=', old.expires_at),
        )
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) {
        throw new ApiError(
          'KEY_NOT_ROTATABLE',
          `Key ${id} was changed (rotated, deactivated or narrowed) while it was being rotated; read it again and retry.`,
        );
      }
      const inTrx = new KeyService(trx, this.secrets, this.prefix, () => {});
      // The new key inherits the old key's own expiry, which the check above put in the future.
      const created = await inTrx.create(
        owner,
        {
          name: old.name,
          write_enabled: Boolean(old.write_enabled),
          expires_at: old.expires_at,
          allowed_ips: JSON.parse(old.allowed_ips) as string[],
          rate_limit:
            old.rate_limit !== null && old.rate_window_s !== null
              ? { limit: old.rate_limit, window_s: old.rate_window_s }
              : null,
        },
        'rotation',
        { rotatedFromId: old.id, now },
      );
      return created;
    });
    // The old key's new expiry must reach every cached copy.
    await this.cache.invalidate({ kind: 'key', id: old.id });
    return rotated;
  }

  /**
   * get_api_token: the newest still-valid token this endpoint issued, or a new one
   * (`issued` tells which, for the audit log).
   */
  async issueToken(
    owner: UserRow,
    ttlDays: number,
    now: Date = new Date(),
  ): Promise<{ row: ApiKeyRow; plaintext: string; issued: boolean }> {
    // One issuance per user at a time, across instances: simultaneous first calls must
    // all get the same token, not one each.
    return this.db.transaction().execute(async (trx) => {
      await lockWithinTransaction(trx, `get_api_token:${owner.id}`);
      const repo = new KeyRepository(trx);
      const existing = await repo.newestIssuedToken(owner.id, isoNow(now));
      if (existing?.sealed_key) {
        const plaintext = unseal(this.secrets.sealKey, existing.sealed_key);
        // A token sealed under a replaced secret cannot be returned; a new one is issued.
        if (plaintext !== undefined && this.digest(plaintext) === existing.digest)
          return { row: existing, plaintext, issued: false };
      }
      if (!owner.can_create_tokens) {
        throw new ApiError(
          'KEY_CREATION_NOT_ALLOWED',
          'Valid credentials, but this user may not create API tokens (can_create_tokens is off).',
        );
      }
      const created = await new KeyService(trx, this.secrets, this.prefix, () => {}).create(
        owner,
        {
          name: 'get_api_token',
          expires_at: new Date(now.getTime() + ttlDays * 86_400_000).toISOString(),
        },
        'get_api_token',
        { sealIt: true, now },
      );
      return { ...created, issued: true };
    });
  }
}

import { ApiError } from '../api-error.js';
import type { Actor } from '../audit/audit.record.js';
import type { AuditService } from '../audit/audit.service.js';
import type { ServiceDeps } from '../services.js';
import type { KeyWithOwner, Page, PageOf, Store } from '../store/store.js';
import type { UserRecord } from '../users/user.record.js';
import { keyEventData } from '../webhooks/webhook-events.js';
import type { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import type { KeyOrigin, KeyRecord } from './key.record.js';
import {
  beyond,
  boundByCreator,
  checkKey,
  describeKey,
  isoAt,
  type KeyCheck,
  type KeyPatch,
  type NewKey,
  narrowKey,
  newKeyRecord,
  patchSummary,
  planRotation,
  rotatedAlready,
} from './key.rules.js';
import { generateKey, inspectKey, suppliedKeyProblem } from './key-format.js';

export interface KeyInput extends NewKey {
  /** A key the caller supplies (to restore one); generated when left out. */
  key?: string | undefined;
}

export type VerifyResult =
  | { ok: true; key: KeyRecord; user: UserRecord }
  | { ok: false; reason: 'INVALID_FORMAT' | 'NOT_FOUND' }
  /** A key that exists but does not authenticate now, with what it is. */
  | { ok: false; reason: Exclude<KeyCheck, 'VALID'>; key: KeyRecord; user: UserRecord };

export interface CreatedKey {
  key: KeyRecord;
  /** The key itself, shown this once. */
  plaintext: string;
}

/** Whose keys an operation may touch: one user's, or anyone's (administrators, the CLI). */
export type KeyScope = UserRecord | 'any';

interface CreateOptions {
  via: KeyOrigin;
  /** The instant of creation (epoch ms), when the caller computed times from it already. */
  at?: number | undefined;
  tx?: Store | undefined;
  rotatedFromId?: string | undefined;
  /** Keep the key sealed so that it can be returned again (get_api_token). */
  seal?: boolean | undefined;
  /** The field a supplied key came in, for error messages. */
  keyField?: string | undefined;
}

function keyNotFound(id: string): ApiError {
  return new ApiError('KEY_NOT_FOUND', `No key with id ${id}.`);
}

/**
 * The lifecycle of API keys; every change is audited, raised as a webhook event in the same
 * transaction, and forgotten by the credential cache.
 */
export class KeyService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly audit: AuditService,
    private readonly outbox: WebhookOutbox,
  ) {}

  /** The owner of a key, for events: the scope when it is one user, else read through `tx`. */
  private async ownerOf(scope: KeyScope, key: KeyRecord, tx: Store): Promise<UserRecord> {
    if (scope !== 'any' && scope.id === key.user_id) return scope;
    const owner = await tx.users.findById(key.user_id);
    if (!owner) throw keyNotFound(key.id);
    return owner;
  }

  private get store(): Store {
    return this.deps.store;
  }

  private now(): number {
    return this.deps.clock();
  }

  /**
   * Finds the key a request presented. A malformed key or one whose checksum fails is
   * refused before any read; expiry, deactivation and the owner's state are checked on
   * every call, cached or not.
   */
  async verify(value: string, now: number = this.now()): Promise<VerifyResult> {
    const { cache, config } = this.deps;
    if (inspectKey(value, config.keyPrefix).kind === 'invalid')
      return { ok: false, reason: 'INVALID_FORMAT' };
    const entry = cache.entryId('key', value);
    let found: KeyWithOwner | undefined = cache.getKey(entry);
    if (!found) {
      const generation = cache.generation;
      found = await this.store.keys.findByDigest(await this.deps.secrets.digest(value));
      if (!found) return { ok: false, reason: 'NOT_FOUND' };
      cache.putKey(entry, found, generation);
    }
    const check = checkKey(found.key, found.user.is_active, now);
    if (check !== 'VALID') return { ok: false, reason: check, key: found.key, user: found.user };
    return { ok: true, key: found.key, user: found.user };
  }

  /** Why a key supplied by a caller cannot be stored, or undefined when it can. */
  suppliedKeyProblem(value: string): string | undefined {
    return suppliedKeyProblem(value, this.deps.config.keyPrefix);
  }

  /** Stores a new key for `owner` (without auditing: callers record what it was for). */
  async insert(owner: UserRecord, input: KeyInput, options: CreateOptions): Promise<CreatedKey> {
    const { config, secrets } = this.deps;
    const now = options.at ?? this.now();
    let plaintext: string;
    if (input.key !== undefined) {
      const why = this.suppliedKeyProblem(input.key);
      if (why) throw ApiError.field(options.keyField ?? 'body.key', why);
      plaintext = input.key;
    } else {
      plaintext = generateKey(config.keyPrefix);
    }
    const key = newKeyRecord(owner.id, input, {
      id: globalThis.crypto.randomUUID(),
      plaintext,
      prefix: config.keyPrefix,
      digest: await secrets.digest(plaintext),
      pepperId: secrets.pepperId,
      via: options.via,
      now,
      rotatedFromId: options.rotatedFromId,
      sealed: options.seal ? await secrets.seal(plaintext) : null,
    });
    if (!(await (options.tx ?? this.store).keys.insert(key))) {
      throw new ApiError('KEY_ALREADY_EXISTS', 'A key with this value already exists.');
    }
    return { key, plaintext };
  }

  /** Refuses a user who may not create keys. */
  ensureCanCreate(user: UserRecord): void {
    if (!user.can_create_tokens) {
      throw new ApiError(
        'KEY_CREATION_NOT_ALLOWED',
        'Valid credentials, but this user may not create API keys (an administrator must turn on can_create_tokens).',
      );
    }
  }

  /**
   * Creates a key for `owner` and returns it with the plaintext, shown once. When a key
   * (`creator`) makes the request, the new key holds no more than it does.
   */
  async create(
    actor: Actor,
    owner: UserRecord,
    input: KeyInput,
    via: KeyOrigin = 'api',
    creator?: KeyRecord,
  ): Promise<CreatedKey> {
    if (actor.via === 'api') this.ensureCanCreate(owner);
    const asked = creator ? { ...boundByCreator(input, creator, this.now()), key: input.key } : input;
    return this.store.transaction(async (tx) => {
      const created = await this.insert(owner, asked, { via, tx });
      await this.audit.record(
        {
          action: 'key.created',
          actor,
          target: { type: 'key', id: created.key.id },
          detail:
            actor.id === owner.id
              ? describeKey(created.key)
              : `${describeKey(created.key)} (owner ${owner.username})`,
        },
        tx,
      );
      await this.outbox.raise(tx, 'key.created', keyEventData(created.key, owner));
      return created;
    });
  }

  /** A key in scope; anything else, another user's key included, is 404 KEY_NOT_FOUND. */
  async get(scope: KeyScope, id: string, tx: Store = this.store): Promise<KeyRecord> {
    const key = await tx.keys.findById(id);
    if (!key || (scope !== 'any' && key.user_id !== scope.id)) throw keyNotFound(id);
    return key;
  }

  /** A page of keys in scope, newest first. */
  list(
    scope: KeyScope,
    filter: { userId?: string | undefined; isActive?: boolean | undefined; expired?: boolean | undefined },
    page: Page,
  ): Promise<PageOf<KeyRecord>> {
    const userId = scope === 'any' ? filter.userId : scope.id;
    return this.store.keys.list({ ...filter, userId, now: isoAt(this.now()) }, page);
  }

  private describe(scope: KeyScope, key: KeyRecord, detail = key.name): string {
    return scope === 'any' ? `${detail} (owner ${key.user_id})` : detail;
  }

  /** Renames a key and narrows its security fields; anything that would widen it is refused. */
  async update(actor: Actor, scope: KeyScope, id: string, patch: KeyPatch): Promise<KeyRecord> {
    const key = await this.get(scope, id);
    const now = this.now();
    const change = { ...narrowKey(key, patch, now), updated_at: isoAt(now) };
    const updated = { ...key, ...change };
    await this.store.transaction(async (tx) => {
      await tx.keys.update(key.id, change);
      await this.audit.record(
        {
          action: 'key.updated',
          actor,
          target: { type: 'key', id: key.id },
          detail: this.describe(scope, updated, patchSummary(updated, patch)),
        },
        tx,
      );
      await this.outbox.raise(tx, 'key.updated', {
        ...keyEventData(updated, await this.ownerOf(scope, key, tx)),
        changes: Object.keys(patch).filter((f) => patch[f as keyof KeyPatch] !== undefined),
      });
    });
    await this.deps.cache.invalidate({ kind: 'key', id: key.id });
    return updated;
  }

  /** Activates or deactivates a key; it takes effect at once. */
  async setActive(actor: Actor, scope: KeyScope, id: string, active: boolean): Promise<KeyRecord> {
    const key = await this.get(scope, id);
    const changed = key.is_active !== active;
    const result = changed ? { ...key, is_active: active, updated_at: isoAt(this.now()) } : key;
    await this.store.transaction(async (tx) => {
      if (changed) await tx.keys.update(key.id, { is_active: active, updated_at: result.updated_at });
      await this.audit.record(
        {
          action: active ? 'key.activated' : 'key.deactivated',
          actor,
          target: { type: 'key', id: key.id },
          detail: this.describe(scope, key),
        },
        tx,
      );
      if (changed) {
        await this.outbox.raise(
          tx,
          active ? 'key.activated' : 'key.deactivated',
          keyEventData(result, await this.ownerOf(scope, key, tx)),
        );
      }
    });
    if (changed) await this.deps.cache.invalidate({ kind: 'key', id: key.id });
    return result;
  }

  /** Deletes a key; it stops working at once. */
  async delete(actor: Actor, scope: KeyScope, id: string): Promise<KeyRecord> {
    const key = await this.get(scope, id);
    await this.store.transaction(async (tx) => {
      const owner = await this.ownerOf(scope, key, tx);
      if (!(await tx.keys.delete(key.id))) throw keyNotFound(id);
      await this.audit.record(
        {
          action: 'key.deleted',
          actor,
          target: { type: 'key', id: key.id },
          detail: this.describe(scope, key),
        },
        tx,
      );
      await this.outbox.raise(tx, 'key.deleted', keyEventData(key, owner));
    });
    await this.deps.cache.invalidate({ kind: 'key', id: key.id });
    return key;
  }

  /**
   * Replaces a key: the new one inherits the name and security fields, the old one keeps
   * working for `graceSeconds` and then expires. Exactly one rotation of a key wins.
   */
  async rotate(
    actor: Actor,
    owner: UserRecord,
    id: string,
    graceSeconds: number,
    creator?: KeyRecord,
  ): Promise<CreatedKey> {
    if (actor.via === 'api') this.ensureCanCreate(owner);
    const now = this.now();
    const rotated = await this.store.transaction(async (tx) => {
      const old = await this.get(owner, id, tx);
      // Rotation hands out a new plaintext with the old key's rights: a key may rotate only
      // keys that hold no more than itself.
      const more = creator && creator.id !== old.id ? beyond(old, creator) : [];
      if (more.length) {
        throw new ApiError(
          'INSUFFICIENT_PERMISSIONS',
          `This key cannot rotate key ${old.id}: it holds more than this key (${more.join(', ')}).`,
        );
      }
      const claim = planRotation(old, owner.is_active, graceSeconds, now);
      // Claim the old key in the state read above before issuing its successor: of concurrent
      // rotations (or one racing a deactivation or narrowing) only one changes it, and a key
      // that was rotated before is never claimed again.
      if (!(await tx.keys.claimForRotation(old.id, old, claim))) throw rotatedAlready(id);
      // The new key inherits the old key's own expiry, which the plan put in the future.
      const created = await this.insert(
        owner,
        {
          name: old.name,
          write_enabled: old.write_enabled,
          expires_at: old.expires_at,
          allowed_ips: old.allowed_ips,
          rate_limit: old.rate_limit,
          permissions: old.permissions,
        },
        { via: 'rotation', rotatedFromId: old.id, tx, at: now },
      );
      await this.audit.record(
        {
          action: 'key.rotated',
          actor,
          target: { type: 'key', id: old.id },
          detail: `${created.key.name}: replaced by ${created.key.id}, old key valid ${graceSeconds} s more`,
        },
        tx,
      );
      await this.outbox.raise(tx, 'key.rotated', {
        ...keyEventData({ ...old, ...claim }, owner),
        replaced_by: { id: created.key.id, start: created.key.start },
        grace_seconds: graceSeconds,
      });
      return created;
    });
    // The old key's new expiry must reach every cached copy.
    await this.deps.cache.invalidate({ kind: 'key', id });
    return rotated;
  }

  /**
   * get_api_token: the newest still-valid token this endpoint issued to the user, or a new
   * one valid `apiTokenTtlDays`. Simultaneous first calls all get the same token.
   */
  async issueToken(actor: Actor, owner: UserRecord): Promise<CreatedKey & { issued: boolean }> {
    const now = this.now();
    return this.store.transaction(
      async (tx) => {
        const existing = await tx.keys.newestIssuedToken(owner.id, isoAt(now));
        if (existing?.sealed_key) {
          const plaintext = await this.deps.secrets.unseal(existing.sealed_key);
          // A token sealed under a replaced secret cannot be returned; a new one is issued.
          if (plaintext !== undefined && (await this.deps.secrets.digest(plaintext)) === existing.digest)
            return { key: existing, plaintext, issued: false };
        }
        if (!owner.can_create_tokens) {
          throw new ApiError(
            'KEY_CREATION_NOT_ALLOWED',
            'Valid credentials, but this user may not create API tokens (can_create_tokens is off).',
          );
        }
        const created = await this.insert(
          owner,
          {
            name: 'get_api_token',
            expires_at: isoAt(now + this.deps.config.apiTokenTtlDays * 86_400_000),
          },
          { via: 'get_api_token', seal: true, tx, at: now },
        );
        await this.audit.record(
          {
            action: 'token.issued',
            actor,
            target: { type: 'key', id: created.key.id },
            detail: `${created.key.name}, expires ${created.key.expires_at}`,
          },
          tx,
        );
        await this.outbox.raise(tx, 'key.created', keyEventData(created.key, owner));
        return { ...created, issued: true };
      },
      { lock: `get_api_token:${owner.id}` },
    );
  }
}

// Pure decisions about keys: validity, narrowing and rotation. Services apply them;
// nothing here reads or writes a store.
import { ApiError } from '../api-error.js';
import { LIMITS } from '../config.js';
import { normaliseIpRule } from '../net/ip-rules.js';
import type { KeyChange } from '../store/store.js';
import type { KeyOrigin, KeyRecord, RateLimitSetting } from './key.record.js';
import { keyStart } from './key-format.js';
import { missingPermissions, normalisePermissions, permissionsForNewKey } from './permissions.js';

export type KeyCheck = 'VALID' | 'DISABLED' | 'EXPIRED' | 'USER_INACTIVE';

export interface KeyState {
  is_active: boolean;
  expires_at: string | null;
}

/** Whether a key authenticates at `now` (epoch ms), given its owner's state. */
export function checkKey(key: KeyState, ownerActive: boolean, now: number): KeyCheck {
  if (!ownerActive) return 'USER_INACTIVE';
  if (!key.is_active) return 'DISABLED';
  if (key.expires_at !== null && Date.parse(key.expires_at) <= now) return 'EXPIRED';
  return 'VALID';
}

/** Now as the fixed-width ISO string that stores keep, so that instants compare as text. */
export const isoAt = (ms: number): string => new Date(ms).toISOString();

/** A date-time a caller sent that must lie in the future; normalised to the stored form. */
export function futureInstant(field: string, value: string, now: number): string {
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw ApiError.field(field, 'must be an RFC 3339 date-time');
  if (at <= now) throw ApiError.field(field, 'must be in the future');
  return isoAt(at);
}

/** Address rules a caller sent, normalised and without repeats; the first bad one is named. */
export function normaliseIpRules(field: string, rules: readonly string[]): string[] {
  const out: string[] = [];
  rules.forEach((rule, i) => {
    const normal = normaliseIpRule(rule);
    if (!normal) throw ApiError.field(`${field}[${i}]`, `"${rule}" is not an IP address or CIDR range`);
    if (!out.includes(normal)) out.push(normal);
  });
  return out;
}

/** What PATCH /keys/{id} may change. */
export interface KeyPatch {
  name?: string | undefined;
  write_enabled?: boolean | undefined;
  expires_at?: string | undefined;
  allowed_ips?: string[] | undefined;
  permissions?: string[] | undefined;
}

/**
 * The change a PATCH makes: names change freely, security fields only narrow. Anything that
 * would widen the key is 400 CANNOT_WIDEN naming the field; nothing changes then.
 */
export function narrowKey(key: KeyRecord, patch: KeyPatch, now: number): KeyChange {
  const change: KeyChange = {};
  if (patch.name !== undefined) change.name = patch.name;
  if (patch.write_enabled !== undefined) {
    if (patch.write_enabled && !key.write_enabled) {
      throw ApiError.field(
        'body.write_enabled',
        'a read-only key cannot be made writable; create a new key',
        'CANNOT_WIDEN',
      );
    }
    change.write_enabled = patch.write_enabled;
  }
  if (patch.expires_at !== undefined) {
    const at = futureInstant('body.expires_at', patch.expires_at, now);
    if (key.expires_at !== null && at > key.expires_at) {
      throw ApiError.field('body.expires_at', `can only move earlier than ${key.expires_at}`, 'CANNOT_WIDEN');
    }
    change.expires_at = at;
  }
  if (patch.allowed_ips !== undefined) {
    const rules = normaliseIpRules('body.allowed_ips', patch.allowed_ips);
    const current = key.allowed_ips;
    onlyRemoves('body.allowed_ips', current, current.length ? rules.filter((r) => !current.includes(r)) : []);
    change.allowed_ips = rules;
  }
  if (patch.permissions !== undefined) {
    const wanted = normalisePermissions('body.permissions', patch.permissions);
    onlyRemoves('body.permissions', key.permissions, missingPermissions(key.permissions, wanted));
    change.permissions = wanted;
  }
  return change;
}

/** Refuses a list change that adds entries (`added`) to a key's `current` list: 400 CANNOT_WIDEN. */
function onlyRemoves(field: string, current: readonly string[] | null, added: readonly string[]): void {
  if (!added.length) return;
  throw ApiError.field(
    field,
    `can only remove entries from ${JSON.stringify(current)}; ${added.join(', ')} would widen the key`,
    'CANNOT_WIDEN',
  );
}

/** Which fields a PATCH asked to change, for the audit log; a change of permissions lists them. */
export function patchSummary(key: KeyRecord, patch: KeyPatch): string {
  const changed = Object.keys(patch).filter((f) => patch[f as keyof KeyPatch] !== undefined);
  const permissions = patch.permissions ? ` (permissions now ${JSON.stringify(key.permissions)})` : '';
  return `${key.name}: ${changed.join(', ')}${permissions}`;
}

/** A key's name and, when it is restricted, its permissions, for the audit log. */
export function describeKey(key: KeyRecord): string {
  return key.permissions === null ? key.name : `${key.name} (permissions ${JSON.stringify(key.permissions)})`;
}

/**
 * The first step of a rotation: the old key's new expiry (now + grace, or its own earlier
 * expiry) and the stamp that claims it. Only an active, unexpired key of an active owner
 * may be rotated; anything else is 409 KEY_NOT_ROTATABLE. The store's claim then refuses a
 * key that was rotated before, so one key never gets two successors.
 */
export function planRotation(
  old: KeyRecord,
  ownerActive: boolean,
  graceSeconds: number,
  now: number,
): Pick<KeyRecord, 'expires_at' | 'updated_at'> {
  if (graceSeconds < 0 || graceSeconds > LIMITS.maxRotationGraceSeconds || !Number.isInteger(graceSeconds)) {
    throw ApiError.field(
      'body.grace_seconds',
      `must be a whole number from 0 to ${LIMITS.maxRotationGraceSeconds}`,
    );
  }
  const state = checkKey(old, ownerActive, now);
  if (state !== 'VALID') {
    throw new ApiError(
      'KEY_NOT_ROTATABLE',
      `Key ${old.id} is ${state === 'EXPIRED' ? 'expired' : 'deactivated'}; only an active, unexpired key can be rotated.`,
    );
  }
  const graceEnd = isoAt(now + graceSeconds * 1000);
  const nowIso = isoAt(now);
  return {
    expires_at: old.expires_at !== null && old.expires_at < graceEnd ? old.expires_at : graceEnd,
    // updated_at must change even within the millisecond of the last change.
    updated_at: nowIso > old.updated_at ? nowIso : isoAt(Date.parse(old.updated_at) + 1),
  };
}

/** The refusal of a second rotation of the same key. */
export function rotatedAlready(id: string): ApiError {
  return new ApiError(
    'KEY_NOT_ROTATABLE',
    `Key ${id} was already rotated (or changed while it was being rotated); rotate its successor instead.`,
  );
}

/** What a new key is made of, as a caller asks for it. */
export interface NewKey {
  name: string;
  write_enabled?: boolean | undefined;
  expires_at?: string | null | undefined;
  allowed_ips?: string[] | undefined;
  rate_limit?: RateLimitSetting | null | undefined;
  permissions?: string[] | null | undefined;
}

/**
 * What a key may ask for when a key creates it: never more than the creating key holds. Its
 * permissions are at most the creator's (the creator's own when none are asked for); it
 * expires no later than the creator; and a creator limited to some addresses passes on
 * those limits (or fewer addresses). Anything more is refused, naming what.
 */
export function boundByCreator(input: NewKey, creator: KeyRecord, now: number): NewKey {
  const bounded: NewKey = {
    ...input,
    permissions: permissionsForNewKey(creator.permissions, input.permissions),
  };
  if (creator.expires_at !== null) {
    if (input.expires_at === undefined || input.expires_at === null) {
      bounded.expires_at = creator.expires_at;
    } else if (futureInstant('body.expires_at', input.expires_at, now) > creator.expires_at) {
      throw ApiError.field(
        'body.expires_at',
        `can be at most ${creator.expires_at}: a key cannot outlive the key that creates it`,
        'CANNOT_WIDEN',
      );
    }
  }
  if (creator.allowed_ips.length) {
    if (input.allowed_ips === undefined || input.allowed_ips.length === 0) {
      bounded.allowed_ips = [...creator.allowed_ips];
    } else {
      const rules = normaliseIpRules('body.allowed_ips', input.allowed_ips);
      const outside = rules.filter((r) => !creator.allowed_ips.includes(r));
      if (outside.length) {
        throw ApiError.field(
          'body.allowed_ips',
          `can only hold entries of the creating key's ${JSON.stringify(creator.allowed_ips)}; ${outside.join(', ')} would widen it`,
          'CANNOT_WIDEN',
        );
      }
    }
  }
  return bounded;
}

/**
 * What `key` holds beyond `bound`, as words for a refusal; empty when `key` holds nothing
 * more (a key may rotate only keys within its own rights, since rotation hands out a new
 * plaintext with the old key's rights).
 */
export function beyond(key: KeyRecord, bound: KeyRecord): string[] {
  const out: string[] = [];
  if (bound.permissions !== null) {
    if (key.permissions === null) out.push('every permission of its owner');
    else out.push(...missingPermissions(bound.permissions, key.permissions));
  }
  if (bound.expires_at !== null && (key.expires_at === null || key.expires_at > bound.expires_at)) {
    out.push(`a later expiry than ${bound.expires_at}`);
  }
  if (bound.allowed_ips.length) {
    const outside = key.allowed_ips.length
      ? key.allowed_ips.filter((r) => !bound.allowed_ips.includes(r))
      : ['any address'];
    out.push(...outside.map((r) => `use from ${r}`));
  }
  if (!bound.write_enabled && key.write_enabled) out.push('writes');
  return out;
}

/**
 * A new key's record from what the caller asked for and what was computed for it (its
 * value's digest and seal); refuses an expiry in the past and a bad address rule.
 */
export function newKeyRecord(
  ownerId: string,
  input: NewKey,
  made: {
    id: string;
    plaintext: string;
    prefix: string;
    digest: string;
    pepperId: string;
    via: KeyOrigin;
    now: number;
    rotatedFromId?: string | null | undefined;
    sealed?: string | null | undefined;
  },
): KeyRecord {
  const at = isoAt(made.now);
  return {
    id: made.id,
    user_id: ownerId,
    name: input.name,
    start: keyStart(made.plaintext, made.prefix),
    digest: made.digest,
    pepper_id: made.pepperId,
    write_enabled: input.write_enabled !== false,
    is_active: true,
    expires_at:
      input.expires_at === undefined || input.expires_at === null
        ? null
        : futureInstant('body.expires_at', input.expires_at, made.now),
    allowed_ips: normaliseIpRules('body.allowed_ips', input.allowed_ips ?? []),
    rate_limit: input.rate_limit
      ? { limit: input.rate_limit.limit, window_s: input.rate_limit.window_s }
      : null,
    permissions:
      input.permissions === undefined || input.permissions === null
        ? null
        : normalisePermissions('body.permissions', input.permissions),
    created_at: at,
    updated_at: at,
    last_used_at: null,
    last_used_ip: null,
    created_via: made.via,
    rotated_from_id: made.rotatedFromId ?? null,
    sealed_key: made.sealed ?? null,
  };
}

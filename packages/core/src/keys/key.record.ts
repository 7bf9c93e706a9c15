/** How a key came to be. */
export type KeyOrigin = 'api' | 'get_api_token' | 'rotation' | 'cli';

/** A key's own rate limit. */
export interface RateLimitSetting {
  limit: number;
  window_s: number;
}

/**
 * A stored key as the rules see it (booleans and arrays; each store encodes them its own
 * way). Never leaves a service whole: `digest` and `sealed_key` stay inside.
 */
export interface KeyRecord {
  id: string;
  user_id: string;
  name: string;
  /** The visible start of the key. */
  start: string;
  /** Keyed digest of the key (HMAC-SHA256 under the pepper named by pepper_id). Unique. */
  digest: string;
  pepper_id: string;
  write_enabled: boolean;
  is_active: boolean;
  expires_at: string | null;
  /** Addresses and CIDR ranges, normalised; empty for any. */
  allowed_ips: string[];
  rate_limit: RateLimitSetting | null;
  /** What the key may do (see permissions.ts); null for everything its owner may do. */
  permissions: string[] | null;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  last_used_ip: string | null;
  created_via: KeyOrigin;
  rotated_from_id: string | null;
  /** Only for get_api_token tokens: the key sealed with the server secret, so it can be returned again. */
  sealed_key: string | null;
}

/** The public shape of a key: never its digest or sealed value. */
export type KeyView = Omit<KeyRecord, 'digest' | 'pepper_id' | 'sealed_key'>;

export function toKeyView(key: KeyRecord): KeyView {
  return {
    id: key.id,
    name: key.name,
    start: key.start,
    user_id: key.user_id,
    write_enabled: key.write_enabled,
    is_active: key.is_active,
    expires_at: key.expires_at,
    allowed_ips: [...key.allowed_ips],
    rate_limit: key.rate_limit ? { ...key.rate_limit } : null,
    permissions: key.permissions ? [...key.permissions] : null,
    created_at: key.created_at,
    updated_at: key.updated_at,
    last_used_at: key.last_used_at,
    last_used_ip: key.last_used_ip,
    created_via: key.created_via,
    rotated_from_id: key.rotated_from_id,
  };
}

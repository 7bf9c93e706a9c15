import type { KeyOrigin } from '@latchkey/core';
import type { Insertable, Selectable, Updateable } from 'kysely';

/** Timestamps are ISO 8601 UTC strings of one fixed width, so they compare as text. */
export interface ApiKeyTable {
  id: string;
  user_id: string;
  name: string;
  /** The visible start of the key. */
  start: string;
  /** HMAC-SHA256 of the key under the pepper named by pepper_id, hex. Unique. */
  digest: string;
  pepper_id: string;
  write_enabled: number;
  is_active: number;
  expires_at: string | null;
  /** JSON array of addresses and CIDR ranges; empty for any. */
  allowed_ips: string;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  last_used_ip: string | null;
  created_via: KeyOrigin;
  rotated_from_id: string | null;
  /** The key's own rate limit (requests per rate_window_s), or null for the server default. */
  rate_limit: number | null;
  rate_window_s: number | null;
  /** JSON array of permission strings, or null for everything the owner may do. */
  permissions: string | null;
  /** Only for get_api_token tokens: the key sealed with the server secret, so it can be returned again. */
  sealed_key: string | null;
}

export type ApiKeyRow = Selectable<ApiKeyTable>;
export type NewApiKeyRow = Insertable<ApiKeyTable>;
export type ApiKeyRowUpdate = Updateable<ApiKeyTable>;

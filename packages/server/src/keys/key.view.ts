import type { ApiKeyRow, KeyOrigin } from './key.table.js';

export interface KeyView {
  id: string;
  name: string;
  start: string;
  user_id: string;
  write_enabled: boolean;
  is_active: boolean;
  expires_at: string | null;
  allowed_ips: string[];
  rate_limit: { limit: number; window_s: number } | null;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  last_used_ip: string | null;
  created_via: KeyOrigin;
  rotated_from_id: string | null;
}

/** The public shape of a stored key: never its digest or sealed value. */
export function toKeyView(row: ApiKeyRow): KeyView {
  return {
    id: row.id,
    name: row.name,
    start: row.start,
    user_id: row.user_id,
    write_enabled: Boolean(row.write_enabled),
    is_active: Boolean(row.is_active),
    expires_at: row.expires_at,
    allowed_ips: JSON.parse(row.allowed_ips) as string[],
    rate_limit:
      row.rate_limit !== null && row.rate_window_s !== null
        ? { limit: row.rate_limit, window_s: row.rate_window_s }
        : null,
    created_at: row.created_at,
    updated_at: row.updated_at,
    last_used_at: row.last_used_at,
    last_used_ip: row.last_used_ip,
    created_via: row.created_via,
    rotated_from_id: row.rotated_from_id,
  };
}

// Pure decisions about a key record; handlers turn the codes into responses.

export type KeyCheck = 'VALID' | 'DISABLED' | 'EXPIRED' | 'USER_INACTIVE';

export interface KeyState {
  is_active: number | boolean;
  expires_at: string | null;
  user_is_active: number | boolean;
}

export function checkKey(key: KeyState, now: Date): KeyCheck {
  if (!key.user_is_active) return 'USER_INACTIVE';
  if (!key.is_active) return 'DISABLED';
  if (key.expires_at !== null && key.expires_at <= now.toISOString()) return 'EXPIRED';
  return 'VALID';
}

export { ipAllowed, normaliseIpRule } from '../net/ip-rules.js';

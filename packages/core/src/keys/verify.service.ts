import { ApiError } from '../api-error.js';
import { isSafeMethod } from '../auth/credential.js';
import { ipAllowed, ipFamily } from '../net/ip-rules.js';
import type { ProtectionService } from '../protection/protection.service.js';
import type { ServiceDeps } from '../services.js';
import type { UserRecord } from '../users/user.record.js';
import type { KeyRecord } from './key.record.js';
import type { KeyService } from './key.service.js';
import { missingPermissions, normalisePermissions } from './permissions.js';

/** What a service asks about a key its client presented. */
export interface VerifyRequest {
  key: string;
  /** All of them are required. */
  permissions?: string[] | undefined;
  /** The client's HTTP method: an unsafe one with a read-only key is refused. */
  method?: string | undefined;
  /** The client's address, checked against the key's allowed addresses. */
  client_ip?: string | undefined;
  /** What the request takes from the key's rate limit: 0 to 1000, 1 when left out. */
  cost?: number | undefined;
}

export const VERIFY_CODES = [
  'VALID',
  'NOT_FOUND',
  'DISABLED',
  'EXPIRED',
  'INSUFFICIENT_PERMISSIONS',
  'READ_ONLY',
  'IP_NOT_ALLOWED',
  'RATE_LIMITED',
  'INVALID_FORMAT',
] as const;
export type VerifyCode = (typeof VERIFY_CODES)[number];

/** The verdict, in the contract's shape: fields that mean nothing for the code are null. */
export interface Verdict {
  valid: boolean;
  code: VerifyCode;
  key_id: string | null;
  owner: { id: string; username: string } | null;
  permissions: string[] | null;
  write_enabled: boolean | null;
  expires_at: string | null;
  ratelimit: { limit: number; remaining: number; reset: number } | null;
}

function verdict(code: VerifyCode, found?: { key: KeyRecord; user: UserRecord }): Verdict {
  return {
    valid: code === 'VALID',
    code,
    key_id: found?.key.id ?? null,
    owner: found ? { id: found.user.id, username: found.user.username } : null,
    permissions: found ? (found.key.permissions ? [...found.key.permissions] : null) : null,
    write_enabled: found?.key.write_enabled ?? null,
    expires_at: found?.key.expires_at ?? null,
    ratelimit: null,
  };
}

/**
 * The verify API: is this key valid for this request, and how much of its rate limit is
 * left? The same checks as Latchkey's own requests, in the same order, on the same cache:
 * no slow hash and no database write on the way.
 */
export class VerifyService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly keys: KeyService,
    private readonly protection: ProtectionService,
  ) {}

  /** Refuses a caller who may not verify keys: superusers and users marked as verifiers may. */
  ensureVerifier(user: UserRecord): void {
    if (!user.is_superuser && !user.can_verify_keys) {
      throw new ApiError(
        'VERIFIER_REQUIRED',
        `Valid credentials, but ${user.username} may not verify keys (an administrator must turn on can_verify_keys).`,
      );
    }
  }

  /** The verdict on a key; `callerIp` stands for the client's address when none is given. */
  async verify(request: VerifyRequest, callerIp: string): Promise<Verdict> {
    if (request.client_ip !== undefined && ipFamily(request.client_ip) === 0) {
      throw ApiError.field('body.client_ip', `"${request.client_ip}" is not an IPv4 or IPv6 address`);
    }
    const required = normalisePermissions('body.permissions', request.permissions ?? []);
    const now = this.deps.clock();
    const result = await this.keys.verify(request.key, now);
    if (!result.ok) {
      if (!('key' in result)) return verdict(result.reason);
      return verdict(result.reason === 'EXPIRED' ? 'EXPIRED' : 'DISABLED', result);
    }
    const { key } = result;
    const clientIp = request.client_ip ?? callerIp;
    // A key limited to addresses is valid only for a client address the caller names and the
    // key allows: without one, nothing says where the request came from.
    if (
      key.allowed_ips.length &&
      (request.client_ip === undefined || !ipAllowed(key.allowed_ips, clientIp))
    ) {
      return verdict('IP_NOT_ALLOWED', result);
    }
    if (request.method !== undefined && !isSafeMethod(request.method) && !key.write_enabled) {
      return verdict('READ_ONLY', result);
    }
    if (missingPermissions(key.permissions, required).length) {
      return verdict('INSUFFICIENT_PERMISSIONS', result);
    }
    const decision = await this.protection.consumeKey(key, request.cost ?? 1);
    const out = verdict(decision.allowed ? 'VALID' : 'RATE_LIMITED', result);
    out.ratelimit = { limit: decision.limit, remaining: decision.remaining, reset: decision.resetAt };
    if (decision.allowed) this.deps.usage.record(key.id, clientIp, now);
    return out;
  }
}

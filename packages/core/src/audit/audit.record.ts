export const AUDIT_ACTIONS = [
  'auth.login',
  'auth.logout',
  'auth.failed',
  'auth.locked_out',
  'auth.bootstrap',
  'token.issued',
  'key.created',
  'key.updated',
  'key.rotated',
  'key.activated',
  'key.deactivated',
  'key.deleted',
  'user.created',
  'user.updated',
  'user.password_reset',
  'user.password_changed',
  'user.deleted',
  'lockout.cleared',
  'webhook.created',
  'webhook.updated',
  'webhook.deleted',
  'webhook.secret_rotated',
  'webhook.tested',
  'webhook.redelivered',
  'webhook.disabled',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export type AuditOutcome = 'success' | 'failure';
export type AuditTargetType = 'key' | 'user' | 'address' | 'webhook';

/** One thing that happened, in the contract's shape. Never holds a secret. */
export interface AuditEvent {
  id: string;
  at: string;
  action: AuditAction;
  outcome: AuditOutcome;
  actor_id: string | null;
  actor_username: string | null;
  client_ip: string | null;
  target_type: AuditTargetType | null;
  target_id: string | null;
  detail: string | null;
}

export interface AuditFilter {
  action?: AuditAction | undefined;
  outcome?: AuditOutcome | undefined;
  actorId?: string | undefined;
  targetId?: string | undefined;
  clientIp?: string | undefined;
  /** Inclusive lower bound, a fixed-width ISO instant. */
  since?: string | undefined;
  /** Exclusive upper bound. */
  until?: string | undefined;
}

/**
 * Who did something: the authenticated user and the client address of an API request, the
 * operator at the command line (`via: 'cli'`, no address), or Latchkey itself (`system`:
 * the webhook worker switching off a webhook whose receiver answered 410).
 */
export interface Actor {
  id: string | null;
  username: string | null;
  clientIp: string | null;
  via: 'api' | 'cli' | 'system';
}

/** The operator running a command on the server's machine. */
export const CLI_ACTOR: Actor = { id: null, username: null, clientIp: null, via: 'cli' };

/** Latchkey itself, acting on its own (the webhook worker). */
export const SYSTEM_ACTOR: Actor = { id: null, username: null, clientIp: null, via: 'system' };

/** Someone not (yet) authenticated, known only by address. */
export function anonymousActor(clientIp: string): Actor {
  return { id: null, username: null, clientIp, via: 'api' };
}

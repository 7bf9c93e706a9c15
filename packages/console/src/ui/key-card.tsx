import type { Key } from '@latchkey/client';
import type { ComponentChildren } from 'preact';
import { formatTime } from './parts.js';

function keyStatus(key: Key, now: number): string {
  if (!key.is_active) return 'deactivated';
  if (key.expires_at && Date.parse(key.expires_at) <= now) return 'expired';
  return 'active';
}

/** One key, everything the list shows about it (never the key itself: only its start). */
export function KeyCard({
  item: k,
  owner,
  children,
}: {
  item: Key;
  owner?: string;
  children?: ComponentChildren;
}) {
  const status = keyStatus(k, Date.now());
  return (
    <article class="card key" aria-labelledby={`key-${k.id}`} data-key-id={k.id}>
      <h3 id={`key-${k.id}`}>
        {k.name} <span class={`badge ${status}`}>{status}</span>
        {k.write_enabled ? null : <span class="badge">read-only</span>}
      </h3>
      <dl>
        <dt>Starts with</dt>
        <dd>
          <code>{k.start}…</code>
        </dd>
        {owner !== undefined ? (
          <>
            <dt>Owner</dt>
            <dd>{owner}</dd>
          </>
        ) : null}
        <dt>Permissions</dt>
        <dd>{k.permissions === null ? 'everything its owner may do' : k.permissions.join(', ') || 'none'}</dd>
        <dt>Expires</dt>
        <dd>{k.expires_at ? formatTime(k.expires_at) : 'never'}</dd>
        <dt>Last used</dt>
        <dd data-testid="last-used">
          {k.last_used_at
            ? `${formatTime(k.last_used_at)} from ${k.last_used_ip ?? 'an unknown address'}`
            : 'never'}
        </dd>
        <dt>Allowed addresses</dt>
        <dd>{k.allowed_ips.length ? k.allowed_ips.join(', ') : 'any'}</dd>
        <dt>Rate limit</dt>
        <dd>
          {k.rate_limit ? `${k.rate_limit.limit} per ${k.rate_limit.window_s} s` : "the server's default"}
        </dd>
        <dt>Created</dt>
        <dd>
          {formatTime(k.created_at)} via {k.created_via}
        </dd>
        {k.rotated_from_id ? (
          <>
            <dt>Rotated from</dt>
            <dd>
              <code>{k.rotated_from_id}</code>
            </dd>
          </>
        ) : null}
      </dl>
      {children}
    </article>
  );
}

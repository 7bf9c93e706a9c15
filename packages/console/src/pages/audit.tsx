import type { AuditAction, AuditOutcome } from '@latchkey/client';
import { AUDIT_ACTIONS } from '@latchkey/core';
import { api } from '../api.js';
import { navigate } from '../router.js';
import { useLoad } from '../ui/async.js';
import { Empty, formatTime, Loading, Pager, Problem } from '../ui/parts.js';

const PAGE_SIZES = [10, 20, 50, 100, 200];
const FILTERS = ['action', 'outcome', 'actor_id', 'target_id', 'client_ip'] as const;

export function AuditPage({ query }: { query: URLSearchParams }) {
  const offset = Number(query.get('offset') ?? 0) || 0;
  const limit = PAGE_SIZES.includes(Number(query.get('limit'))) ? Number(query.get('limit')) : 50;
  const filters = Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ''])) as Record<
    (typeof FILTERS)[number],
    string
  >;
  const events = useLoad(
    async () =>
      (
        await api.adminListAuditEvents({
          query: {
            limit,
            offset,
            ...(filters.action ? { action: filters.action as AuditAction } : {}),
            ...(filters.outcome ? { outcome: filters.outcome as AuditOutcome } : {}),
            ...(filters.actor_id ? { actor_id: filters.actor_id } : {}),
            ...(filters.target_id ? { target_id: filters.target_id } : {}),
            ...(filters.client_ip ? { client_ip: filters.client_ip } : {}),
          },
        })
      ).data,
    [offset, limit, ...FILTERS.map((f) => filters[f])],
  );
  return (
    <>
      <h1>Audit log</h1>
      <form
        class="filters"
        key={query.toString()}
        aria-label="Filter events"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          navigate('/admin/audit', {
            ...Object.fromEntries(FILTERS.map((f) => [f, String(form.get(f) ?? '').trim()])),
            limit: String(form.get('limit') ?? ''),
          });
        }}
      >
        <label>
          Action
          <select name="action">
            <option value="">any</option>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a} selected={a === filters.action}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label>
          Outcome
          <select name="outcome">
            <option value="">any</option>
            <option value="success" selected={filters.outcome === 'success'}>
              success
            </option>
            <option value="failure" selected={filters.outcome === 'failure'}>
              failure
            </option>
          </select>
        </label>
        <label>
          Actor id
          <input name="actor_id" defaultValue={filters.actor_id} autoComplete="off" />
        </label>
        <label>
          Target id
          <input name="target_id" defaultValue={filters.target_id} autoComplete="off" />
        </label>
        <label>
          Address
          <input name="client_ip" defaultValue={filters.client_ip} autoComplete="off" />
        </label>
        <label>
          Per page
          <select name="limit">
            {PAGE_SIZES.map((size) => (
              <option key={size} value={size} selected={size === limit}>
                {size}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <Problem failure={events.failure} />
      {events.loading && !events.data ? <Loading what="events" /> : null}
      {events.data && events.data.count === 0 ? <Empty>No event matches.</Empty> : null}
      {events.data && events.data.count > 0 ? (
        <ol class="events">
          {events.data.results.map((e) => (
            <li key={e.id} class={`card ${e.outcome}`}>
              <p>
                <strong>{e.action}</strong> <span class={`badge ${e.outcome}`}>{e.outcome}</span>{' '}
                <time dateTime={e.at}>{formatTime(e.at)}</time>
              </p>
              <p>
                by {e.actor_username ?? 'nobody known'} from {e.client_ip ?? 'an unknown address'}
                {e.target_type ? (
                  <>
                    {' '}
                    on {e.target_type} <code>{e.target_id}</code>
                  </>
                ) : null}
              </p>
              {e.detail ? <p class="hint">{e.detail}</p> : null}
            </li>
          ))}
        </ol>
      ) : null}
      {events.data && events.data.count > 0 ? (
        <Pager
          path="/admin/audit"
          query={{ ...filters, limit: String(limit) }}
          offset={offset}
          limit={limit}
          count={events.data.count}
        />
      ) : null}
    </>
  );
}

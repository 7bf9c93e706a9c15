import { api } from '../api.js';
import { href, navigate } from '../router.js';
import { useAction, useLoad } from '../ui/async.js';
import { KeyCard } from '../ui/key-card.js';
import { ConfirmButton, Empty, Loading, Pager, Problem } from '../ui/parts.js';

const LIMIT = 50;

function flag(value: string | null): boolean | undefined {
  return value === 'true' ? true : value === 'false' ? false : undefined;
}

export function AdminKeysPage({ query }: { query: URLSearchParams }) {
  const offset = Number(query.get('offset') ?? 0) || 0;
  const filters = {
    user_id: query.get('user_id') ?? '',
    is_active: query.get('is_active') ?? '',
    expired: query.get('expired') ?? '',
  };
  const users = useLoad(async () => (await api.adminListUsers({ query: { limit: 200 } })).data, []);
  const keys = useLoad(async () => {
    const isActive = flag(filters.is_active);
    const expired = flag(filters.expired);
    return (
      await api.adminListKeys({
        query: {
          limit: LIMIT,
          offset,
          ...(filters.user_id ? { user_id: filters.user_id } : {}),
          ...(isActive === undefined ? {} : { is_active: isActive }),
          ...(expired === undefined ? {} : { expired }),
        },
      })
    ).data;
  }, [offset, filters.user_id, filters.is_active, filters.expired]);
  const action = useAction();
  const owner = (id: string) => users.data?.results.find((u) => u.id === id)?.username ?? id;

  return (
    <>
      <h1>All keys</h1>
      <form
        class="filters"
        key={query.toString()}
        aria-label="Filter keys"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          navigate('/admin/keys', {
            user_id: String(form.get('user_id') ?? ''),
            is_active: String(form.get('is_active') ?? ''),
            expired: String(form.get('expired') ?? ''),
          });
        }}
      >
        <label>
          Owner
          <select name="user_id">
            <option value="">anyone</option>
            {users.data?.results.map((u) => (
              <option key={u.id} value={u.id} selected={u.id === filters.user_id}>
                {u.username}
              </option>
            ))}
          </select>
        </label>
        <label>
          State
          <select name="is_active">
            <option value="">any</option>
            <option value="true" selected={filters.is_active === 'true'}>
              active
            </option>
            <option value="false" selected={filters.is_active === 'false'}>
              deactivated
            </option>
          </select>
        </label>
        <label>
          Expiry
          <select name="expired">
            <option value="">any</option>
            <option value="true" selected={filters.expired === 'true'}>
              expired
            </option>
            <option value="false" selected={filters.expired === 'false'}>
              not expired
            </option>
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <Problem failure={keys.failure} />
      <Problem failure={action.failure} />
      {keys.loading && !keys.data ? <Loading what="keys" /> : null}
      {keys.data && keys.data.count === 0 ? <Empty>No key matches.</Empty> : null}
      {keys.data?.results.map((k) => (
        <KeyCard key={k.id} item={k} owner={owner(k.user_id)}>
          <div class="actions">
            {k.is_active ? (
              <button
                type="button"
                disabled={action.busy}
                aria-label={`Deactivate ${k.name}`}
                onClick={async () => {
                  if (await action.run(() => api.adminDeactivateKey({ path: { key_id: k.id } })))
                    keys.reload();
                }}
              >
                Deactivate
              </button>
            ) : (
              <button
                type="button"
                disabled={action.busy}
                aria-label={`Activate ${k.name}`}
                onClick={async () => {
                  if (await action.run(() => api.adminActivateKey({ path: { key_id: k.id } }))) keys.reload();
                }}
              >
                Activate
              </button>
            )}
            <ConfirmButton
              label="Delete"
              question={`Delete the key "${k.name}" of ${owner(k.user_id)}? This cannot be undone.`}
              confirm="Delete the key"
              danger
              disabled={action.busy}
              onConfirm={async () => {
                if (await action.run(() => api.adminDeleteKey({ path: { key_id: k.id } }))) keys.reload();
              }}
            />
            <a href={href('/admin/audit', { target_id: k.id })}>Audit</a>
          </div>
        </KeyCard>
      ))}
      {keys.data && keys.data.count > 0 ? (
        <Pager path="/admin/keys" query={filters} offset={offset} limit={LIMIT} count={keys.data.count} />
      ) : null}
    </>
  );
}

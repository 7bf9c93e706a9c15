import { api } from '../api.js';
import { href } from '../router.js';
import { useLoad } from '../ui/async.js';
import { KeyCard } from '../ui/key-card.js';
import { Empty, Loading, Pager, Problem } from '../ui/parts.js';

const LIMIT = 50;

export function MyKeysPage({ query }: { query: URLSearchParams }) {
  const offset = Number(query.get('offset') ?? 0) || 0;
  const state = query.get('state') ?? '';
  const keys = useLoad(
    async () =>
      (
        await api.listKeys({
          query: { limit: LIMIT, offset, ...(state ? { is_active: state === 'active' } : {}) },
        })
      ).data,
    [offset, state],
  );
  return (
    <>
      <h1>My keys</h1>
      <p class="actions">
        <a class="button" href={href('/keys/new')}>
          Create a key
        </a>
      </p>
      <nav class="filters" aria-label="Show">
        <a href={href('/keys')} aria-current={state === '' ? 'page' : undefined}>
          All
        </a>
        <a href={href('/keys', { state: 'active' })} aria-current={state === 'active' ? 'page' : undefined}>
          Active
        </a>
        <a
          href={href('/keys', { state: 'inactive' })}
          aria-current={state === 'inactive' ? 'page' : undefined}
        >
          Deactivated
        </a>
      </nav>
      <Problem failure={keys.failure} />
      {keys.loading && !keys.data ? <Loading what="your keys" /> : null}
      {keys.data && keys.data.count === 0 ? (
        <Empty>
          No keys here yet. <a href={href('/keys/new')}>Create one</a>.
        </Empty>
      ) : null}
      {keys.data?.results.map((key) => (
        <KeyCard key={key.id} item={key}>
          <p>
            <a href={href(`/keys/${key.id}`)} aria-label={`Manage ${key.name}`}>
              Manage
            </a>
          </p>
        </KeyCard>
      ))}
      {keys.data && keys.data.count > 0 ? (
        <Pager path="/keys" query={{ state }} offset={offset} limit={LIMIT} count={keys.data.count} />
      ) : null}
    </>
  );
}

import { api } from '../api.js';
import { useAction, useLoad } from '../ui/async.js';
import { Empty, formatTime, Loading, Problem } from '../ui/parts.js';

export function LockoutsPage() {
  const lockouts = useLoad(async () => (await api.adminListLockouts()).data, []);
  const action = useAction();
  return (
    <>
      <h1>Lockouts</h1>
      <p>Client addresses refused after too many failed sign-ins, until the time shown.</p>
      <button type="button" onClick={lockouts.reload}>
        Refresh
      </button>
      <Problem failure={lockouts.failure} />
      <Problem failure={action.failure} />
      {lockouts.loading && !lockouts.data ? <Loading what="lockouts" /> : null}
      {lockouts.data && lockouts.data.results.length === 0 ? <Empty>No address is locked out.</Empty> : null}
      {lockouts.data && lockouts.data.results.length > 0 ? (
        <ul class="cards">
          {lockouts.data.results.map((l) => (
            <li class="card" key={l.address}>
              <p>
                <code>{l.address}</code> until {formatTime(l.locked_until)}
              </p>
              <button
                type="button"
                aria-label={`Clear the lockout of ${l.address}`}
                disabled={action.busy}
                onClick={async () => {
                  if (await action.run(() => api.adminClearLockout({ path: { address: l.address } }))) {
                    lockouts.reload();
                  }
                }}
              >
                Clear
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

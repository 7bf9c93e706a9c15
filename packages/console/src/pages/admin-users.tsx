import type { User, UserUpdate } from '@latchkey/client';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { href } from '../router.js';
import { useAction, useLoad } from '../ui/async.js';
import { ConfirmButton, Empty, Field, formatTime, Loading, Pager, Problem } from '../ui/parts.js';

const LIMIT = 50;
const FLAGS: [keyof UserUpdate & keyof User, string][] = [
  ['is_active', 'Active'],
  ['is_superuser', 'Superuser'],
  ['can_create_tokens', 'May create keys'],
  ['can_verify_keys', 'May verify keys'],
];

function UserCard({ user, onChange }: { user: User; onChange(): void }) {
  const action = useAction();
  const reset = useAction();
  const [resetDone, setResetDone] = useState(false);
  return (
    <article class="card" aria-labelledby={`user-${user.id}`}>
      <h3 id={`user-${user.id}`}>{user.username}</h3>
      <p class="hint">Created {formatTime(user.created_at)}</p>
      <fieldset>
        <legend>Flags of {user.username}</legend>
        {FLAGS.map(([flag, label]) => (
          <div class="field check" key={flag}>
            <input
              id={`${user.id}-${flag}`}
              type="checkbox"
              checked={user[flag]}
              disabled={action.busy}
              onChange={async (event) => {
                const value = event.currentTarget.checked;
                const done = await action.run(() =>
                  api.adminUpdateUser({ path: { user_id: user.id }, body: { [flag]: value } }),
                );
                // Refused: the next render shows the flag as it still is.
                if (done) onChange();
              }}
            />
            <label for={`${user.id}-${flag}`}>{label}</label>
          </div>
        ))}
      </fieldset>
      <form
        class="inline"
        noValidate
        onSubmit={async (event) => {
          event.preventDefault();
          const target = event.currentTarget;
          const password = String(new FormData(target).get('password') ?? '');
          setResetDone(false);
          if (
            await reset.run(() => api.adminResetPassword({ path: { user_id: user.id }, body: { password } }))
          ) {
            target.reset();
            setResetDone(true);
          }
        }}
      >
        <Field label={`New password for ${user.username}`} error={reset.failure?.fields.password}>
          {(a) => <input {...a} name="password" type="password" autoComplete="new-password" />}
        </Field>
        <button type="submit" disabled={reset.busy}>
          Reset password
        </button>
        <Problem failure={reset.failure} />
        {resetDone ? <p role="status">The password is reset; the user's sign-ins ended.</p> : null}
      </form>
      <div class="actions">
        <a href={href('/admin/keys', { user_id: user.id })}>Keys</a>
        <a href={href('/admin/audit', { actor_id: user.id })}>Audit</a>
        <ConfirmButton
          label="Delete"
          question={`Delete the user ${user.username} and their keys? This cannot be undone.`}
          confirm="Delete the user"
          danger
          disabled={action.busy}
          onConfirm={async () => {
            if (await action.run(() => api.adminDeleteUser({ path: { user_id: user.id } }))) onChange();
          }}
        />
      </div>
      <Problem failure={action.failure} />
    </article>
  );
}

export function AdminUsersPage({ query }: { query: URLSearchParams }) {
  const offset = Number(query.get('offset') ?? 0) || 0;
  const users = useLoad(
    async () => (await api.adminListUsers({ query: { limit: LIMIT, offset } })).data,
    [offset],
  );
  const create = useAction();
  const fields = create.failure?.fields ?? {};
  return (
    <>
      <h1>Users</h1>
      <details>
        <summary>Create a user</summary>
        <form
          noValidate
          onSubmit={async (event) => {
            event.preventDefault();
            const target = event.currentTarget;
            const form = new FormData(target);
            const made = await create.run(() =>
              api.adminCreateUser({
                body: {
                  username: String(form.get('username') ?? ''),
                  password: String(form.get('password') ?? ''),
                  is_superuser: form.get('is_superuser') === 'on',
                  can_create_tokens: form.get('can_create_tokens') === 'on',
                  can_verify_keys: form.get('can_verify_keys') === 'on',
                },
              }),
            );
            if (made) {
              target.reset();
              users.reload();
            }
          }}
        >
          <Field label="Username" error={fields.username}>
            {(a) => <input {...a} name="username" autoComplete="off" />}
          </Field>
          <Field label="Password" error={fields.password}>
            {(a) => <input {...a} name="password" type="password" autoComplete="new-password" />}
          </Field>
          <div class="field check">
            <input id="new-superuser" name="is_superuser" type="checkbox" />
            <label for="new-superuser">Superuser</label>
          </div>
          <div class="field check">
            <input id="new-create" name="can_create_tokens" type="checkbox" defaultChecked />
            <label for="new-create">May create keys</label>
          </div>
          <div class="field check">
            <input id="new-verify" name="can_verify_keys" type="checkbox" />
            <label for="new-verify">May verify keys</label>
          </div>
          <Problem failure={create.failure} />
          <button type="submit" disabled={create.busy}>
            Create user
          </button>
        </form>
      </details>
      <Problem failure={users.failure} />
      {users.loading && !users.data ? <Loading what="users" /> : null}
      {users.data && users.data.count === 0 ? <Empty>No users.</Empty> : null}
      {users.data?.results.map((u) => (
        <UserCard
          key={`${u.id}-${u.is_active}-${u.is_superuser}-${u.can_create_tokens}-${u.can_verify_keys}`}
          user={u}
          onChange={users.reload}
        />
      ))}
      {users.data && users.data.count > 0 ? (
        <Pager path="/admin/users" query={{}} offset={offset} limit={LIMIT} count={users.data.count} />
      ) : null}
    </>
  );
}

import type { User } from '@latchkey/client';
import { api } from '../api.js';
import { useAction } from '../ui/async.js';
import { Field, Problem } from '../ui/parts.js';

/** Signs in with a username and password; the server sets the session and CSRF cookies. */
export function LoginForm({
  onLogin,
  username,
  title,
}: {
  onLogin(user: User): void;
  username?: string;
  title: string;
}) {
  const action = useAction();
  return (
    <form
      class="login"
      onSubmit={async (event) => {
        event.preventDefault();
        const form = new FormData(event.currentTarget);
        const result = await action.run(
          async () =>
            (
              await api.login({
                body: {
                  username: String(form.get('username') ?? ''),
                  password: String(form.get('password') ?? ''),
                },
              })
            ).data,
        );
        if (result) onLogin(result.user);
      }}
    >
      <h1>{title}</h1>
      <Field label="Username" error={action.failure?.fields.username}>
        {(a) => <input {...a} name="username" autoComplete="username" defaultValue={username} required />}
      </Field>
      <Field label="Password" error={action.failure?.fields.password}>
        {(a) => <input {...a} name="password" type="password" autoComplete="current-password" required />}
      </Field>
      <Problem failure={action.failure} />
      <button type="submit" disabled={action.busy}>
        Sign in
      </button>
    </form>
  );
}

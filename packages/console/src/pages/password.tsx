import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useAction } from '../ui/async.js';
import { Field, Problem } from '../ui/parts.js';

export function PasswordPage() {
  const action = useAction();
  const [done, setDone] = useState(false);
  const fields = action.failure?.fields ?? {};
  return (
    <>
      <h1>Change my password</h1>
      <p>Your other sign-ins (other browsers, login tokens) end; this one stays.</p>
      <form
        noValidate
        onSubmit={async (event) => {
          event.preventDefault();
          const target = event.currentTarget;
          const form = new FormData(target);
          setDone(false);
          const changed = await action.run(() =>
            api.changePassword({
              body: {
                current_password: String(form.get('current_password') ?? ''),
                new_password: String(form.get('new_password') ?? ''),
              },
            }),
          );
          if (changed) {
            target.reset();
            setDone(true);
          }
        }}
      >
        <Field label="Current password" error={fields.current_password}>
          {(a) => <input {...a} name="current_password" type="password" autoComplete="current-password" />}
        </Field>
        <Field label="New password" error={fields.new_password}>
          {(a) => <input {...a} name="new_password" type="password" autoComplete="new-password" />}
        </Field>
        <Problem failure={action.failure} />
        {done ? <p role="status">Your password is changed.</p> : null}
        <button type="submit" disabled={action.busy}>
          Change password
        </button>
      </form>
    </>
  );
}

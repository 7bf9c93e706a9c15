import type { CreatedKey, KeyCreate } from '@latchkey/client';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { href } from '../router.js';
import { useAction } from '../ui/async.js';
import { Field, Problem, SecretOnce, words } from '../ui/parts.js';

/** A `datetime-local` value as an ISO time, or undefined when empty. */
export function localToIso(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

export function CreateKeyPage() {
  const action = useAction();
  const [created, setCreated] = useState<{ key: CreatedKey; supplied: boolean } | undefined>();
  const fields = action.failure?.fields ?? {};

  if (created) {
    return (
      <>
        <h1>Key created</h1>
        {created.supplied ? (
          <p role="status">
            The key you supplied is stored again as <strong>{created.key.name}</strong>; it works from now on.
          </p>
        ) : (
          <SecretOnce
            label={`Your new key "${created.key.name}"`}
            secret={created.key.key}
            kept="Latchkey keeps only a keyed hash of it."
          />
        )}
        <p class="actions">
          <a href={href('/keys')}>Back to my keys</a>
          <a href={href(`/keys/${created.key.id}`)}>Manage this key</a>
        </p>
      </>
    );
  }

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const body: KeyCreate = { name: text('name'), write_enabled: form.get('read_only') !== 'on' };
    const expires = localToIso(text('expires_at'));
    if (expires) body.expires_at = expires;
    if (text('permissions')) body.permissions = words(text('permissions'));
    if (text('allowed_ips')) body.allowed_ips = words(text('allowed_ips'));
    if (text('rate_limit') || text('rate_window')) {
      body.rate_limit = { limit: Number(text('rate_limit')), window_s: Number(text('rate_window') || 60) };
    }
    if (text('key')) body.key = text('key');
    const result = await action.run(async () => (await api.createKey({ body })).data);
    if (result) setCreated({ key: result, supplied: body.key !== undefined });
  }

  return (
    <>
      <h1>Create a key</h1>
      <form onSubmit={submit} noValidate>
        <Field label="Name" error={fields.name}>
          {(a) => <input {...a} name="name" required autoComplete="off" />}
        </Field>
        <Field label="Expires" hint="Leave empty for a key that never expires." error={fields.expires_at}>
          {(a) => <input {...a} name="expires_at" type="datetime-local" />}
        </Field>
        <div class="field check">
          <input id="read_only" name="read_only" type="checkbox" />
          <label for="read_only">Read-only (GET requests only)</label>
        </div>
        <Field
          label="Permissions"
          hint="Separated by spaces or commas, for example keys:read archive.*:read. Empty: everything you may do."
          error={fields.permissions}
        >
          {(a) => <input {...a} name="permissions" autoComplete="off" />}
        </Field>
        <Field
          label="Allowed addresses"
          hint="Addresses or CIDR ranges, separated by spaces or commas. Empty: any address."
          error={fields.allowed_ips}
        >
          {(a) => <input {...a} name="allowed_ips" autoComplete="off" />}
        </Field>
        <fieldset>
          <legend>Rate limit (empty: the server's default)</legend>
          <Field label="Requests" error={fields.rate_limit}>
            {(a) => <input {...a} name="rate_limit" type="number" min="1" inputMode="numeric" />}
          </Field>
          <Field label="Per seconds">
            {(a) => <input {...a} name="rate_window" type="number" min="1" />}
          </Field>
        </fieldset>
        <details>
          <summary>Restore a key you already have</summary>
          <Field
            label="The key itself"
            hint="To restore a deleted key: at least 32 characters. Leave empty to get a new key."
            error={fields.key}
          >
            {(a) => <input {...a} name="key" type="password" autoComplete="off" />}
          </Field>
        </details>
        <Problem failure={action.failure} />
        <div class="actions">
          <button type="submit" disabled={action.busy}>
            Create key
          </button>
          <a href={href('/keys')}>Cancel</a>
        </div>
      </form>
    </>
  );
}

import type { CreatedKey, KeyUpdate } from '@latchkey/client';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { href, navigate } from '../router.js';
import { useAction, useLoad } from '../ui/async.js';
import { KeyCard } from '../ui/key-card.js';
import { ConfirmButton, Field, Loading, Problem, SecretOnce, words } from '../ui/parts.js';
import { localToIso } from './create-key.js';

export function KeyDetailPage({ id }: { id: string }) {
  const key = useLoad(async () => (await api.getKey({ path: { key_id: id } })).data, [id]);
  const state = useAction();
  const rotation = useAction();
  const narrowing = useAction();
  const [rotated, setRotated] = useState<CreatedKey | undefined>();

  if (rotated) {
    return (
      <>
        <h1>Key rotated</h1>
        <SecretOnce
          label={`The new key for "${rotated.name}"`}
          secret={rotated.key}
          kept="Latchkey keeps only a keyed hash of it."
        />
        <p class="actions">
          <a href={href('/keys')}>Back to my keys</a>
          <a href={href(`/keys/${rotated.id}`)} onClick={() => setRotated(undefined)}>
            Manage the new key
          </a>
        </p>
      </>
    );
  }
  if (key.failure && !key.data) {
    return (
      <>
        <h1>Key</h1>
        <Problem failure={key.failure} />
        <a href={href('/keys')}>Back to my keys</a>
      </>
    );
  }
  const k = key.data;
  if (!k) return <Loading what="the key" />;
  const narrowFields = narrowing.failure?.fields ?? {};

  async function narrow(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const body: KeyUpdate = {};
    if (text('name') && text('name') !== k?.name) body.name = text('name');
    if (form.get('read_only') === 'on' && k?.write_enabled) body.write_enabled = false;
    const expires = localToIso(text('expires_at'));
    if (expires) body.expires_at = expires;
    if (form.get('permissions_set') === 'on') body.permissions = words(text('permissions'));
    if (form.get('allowed_ips_set') === 'on') body.allowed_ips = words(text('allowed_ips'));
    const done = await narrowing.run(() => api.updateKey({ path: { key_id: id }, body }));
    if (done) key.reload();
  }

  return (
    <>
      <h1>Key {k.name}</h1>
      <p>
        <a href={href('/keys')}>Back to my keys</a>
      </p>
      <KeyCard item={k} />

      <section aria-labelledby="state-title">
        <h2 id="state-title">State</h2>
        <div class="actions">
          {k.is_active ? (
            <button
              type="button"
              disabled={state.busy}
              onClick={async () => {
                if (await state.run(() => api.deactivateKey({ path: { key_id: id } }))) key.reload();
              }}
            >
              Deactivate
            </button>
          ) : (
            <button
              type="button"
              disabled={state.busy}
              onClick={async () => {
                if (await state.run(() => api.activateKey({ path: { key_id: id } }))) key.reload();
              }}
            >
              Activate
            </button>
          )}
          <ConfirmButton
            label="Delete"
            question={`Delete the key "${k.name}"? Whoever uses it is refused from now on; this cannot be undone.`}
            confirm="Delete the key"
            danger
            disabled={state.busy}
            onConfirm={async () => {
              if (await state.run(() => api.deleteKey({ path: { key_id: id } }))) navigate('/keys');
            }}
          />
        </div>
        <Problem failure={state.failure} />
      </section>

      <section aria-labelledby="rotate-title">
        <h2 id="rotate-title">Rotate</h2>
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            const grace = Number(new FormData(event.currentTarget).get('grace_seconds') || 0);
            const fresh = await rotation.run(
              async () =>
                (await api.rotateKey({ path: { key_id: id }, body: { grace_seconds: grace } })).data,
            );
            if (fresh) setRotated(fresh);
          }}
        >
          <p>A new key with the same settings replaces this one.</p>
          <Field
            label="Grace period in seconds"
            hint="How long the old key keeps working; 0 stops it at once."
            error={rotation.failure?.fields.grace_seconds}
          >
            {(a) => <input {...a} name="grace_seconds" type="number" min="0" defaultValue="0" />}
          </Field>
          <Problem failure={rotation.failure} />
          <button type="submit" disabled={rotation.busy}>
            Rotate
          </button>
        </form>
      </section>

      <section aria-labelledby="narrow-title">
        <h2 id="narrow-title">Narrow</h2>
        <p>A key can only lose rights: become read-only, expire sooner, lose permissions or addresses.</p>
        <form onSubmit={narrow} noValidate key={k.updated_at}>
          <Field label="Name" error={narrowFields.name}>
            {(a) => <input {...a} name="name" defaultValue={k.name} autoComplete="off" />}
          </Field>
          <div class="field check">
            <input id="narrow-read-only" name="read_only" type="checkbox" defaultChecked={!k.write_enabled} />
            <label for="narrow-read-only">Read-only</label>
          </div>
          <Field
            label="Expires"
            hint="Earlier than now set, or set on a key without expiry."
            error={narrowFields.expires_at}
          >
            {(a) => <input {...a} name="expires_at" type="datetime-local" />}
          </Field>
          <div class="field check">
            <input id="narrow-permissions-set" name="permissions_set" type="checkbox" />
            <label for="narrow-permissions-set">Change the permissions</label>
          </div>
          <Field label="Permissions" error={narrowFields.permissions}>
            {(a) => (
              <input
                {...a}
                name="permissions"
                defaultValue={k.permissions?.join(' ') ?? ''}
                autoComplete="off"
              />
            )}
          </Field>
          <div class="field check">
            <input id="narrow-ips-set" name="allowed_ips_set" type="checkbox" />
            <label for="narrow-ips-set">Change the allowed addresses</label>
          </div>
          <Field label="Allowed addresses" error={narrowFields.allowed_ips}>
            {(a) => (
              <input {...a} name="allowed_ips" defaultValue={k.allowed_ips.join(' ')} autoComplete="off" />
            )}
          </Field>
          <Problem failure={narrowing.failure} />
          <button type="submit" disabled={narrowing.busy}>
            Save
          </button>
        </form>
      </section>
    </>
  );
}

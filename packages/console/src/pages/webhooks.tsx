import type { WebhookDeliveryStatus, WebhookEventType, WebhookWithSecret } from '@latchkey/client';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { href } from '../router.js';
import { useAction, useLoad } from '../ui/async.js';
import {
  ConfirmButton,
  Empty,
  Field,
  formatTime,
  Loading,
  Pager,
  Problem,
  SecretOnce,
  words,
} from '../ui/parts.js';

const LIMIT = 50;

export function WebhooksPage() {
  const hooks = useLoad(async () => (await api.listWebhooks({ query: { limit: 200 } })).data, []);
  const create = useAction();
  const action = useAction();
  const [made, setMade] = useState<WebhookWithSecret | undefined>();
  const fields = create.failure?.fields ?? {};
  return (
    <>
      <h1>Webhooks</h1>
      {made ? (
        <SecretOnce
          label={`The signing secret of "${made.name}"`}
          secret={made.secret}
          kept="Latchkey keeps it encrypted, to sign with; rotate it to get a new one."
        />
      ) : null}
      <details>
        <summary>Add a webhook</summary>
        <form
          noValidate
          onSubmit={async (event) => {
            event.preventDefault();
            const target = event.currentTarget;
            const form = new FormData(target);
            const events = words(String(form.get('events') ?? '')) as WebhookEventType[];
            const result = await create.run(
              async () =>
                (
                  await api.createWebhook({
                    body: {
                      name: String(form.get('name') ?? ''),
                      url: String(form.get('url') ?? ''),
                      description: String(form.get('description') ?? ''),
                      events: events.length ? events : null,
                    },
                  })
                ).data,
            );
            if (result) {
              target.reset();
              setMade(result);
              hooks.reload();
            }
          }}
        >
          <Field label="Name" error={fields.name}>
            {(a) => <input {...a} name="name" autoComplete="off" />}
          </Field>
          <Field label="URL" hint="Where events are sent, https://…" error={fields.url}>
            {(a) => <input {...a} name="url" type="url" autoComplete="off" />}
          </Field>
          <Field label="Description" error={fields.description}>
            {(a) => <input {...a} name="description" autoComplete="off" />}
          </Field>
          <Field
            label="Events"
            hint="For example key.created key.deleted; empty for every event."
            error={fields.events}
          >
            {(a) => <input {...a} name="events" autoComplete="off" />}
          </Field>
          <Problem failure={create.failure} />
          <button type="submit" disabled={create.busy}>
            Add webhook
          </button>
        </form>
      </details>
      <Problem failure={hooks.failure} />
      <Problem failure={action.failure} />
      {hooks.loading && !hooks.data ? <Loading what="webhooks" /> : null}
      {hooks.data && hooks.data.count === 0 ? <Empty>No webhooks.</Empty> : null}
      {hooks.data?.results.map((w) => (
        <article class="card" key={w.id} aria-labelledby={`hook-${w.id}`}>
          <h3 id={`hook-${w.id}`}>
            {w.name}{' '}
            <span class={`badge ${w.is_active ? 'active' : 'deactivated'}`}>
              {w.is_active ? 'active' : 'off'}
            </span>
          </h3>
          <dl>
            <dt>URL</dt>
            <dd>
              <code>{w.url}</code>
            </dd>
            <dt>Events</dt>
            <dd>{w.events === null ? 'every event' : w.events.join(', ')}</dd>
            {w.disabled_reason ? (
              <>
                <dt>Switched off</dt>
                <dd>{w.disabled_reason}</dd>
              </>
            ) : null}
          </dl>
          <div class="actions">
            <a href={href(`/admin/webhooks/${w.id}`)} aria-label={`Deliveries of ${w.name}`}>
              Deliveries
            </a>
            <button
              type="button"
              disabled={action.busy}
              onClick={async () => {
                if (
                  await action.run(() =>
                    api.updateWebhook({ path: { webhook_id: w.id }, body: { is_active: !w.is_active } }),
                  )
                )
                  hooks.reload();
              }}
            >
              {w.is_active ? 'Switch off' : 'Switch on'}
            </button>
            <button
              type="button"
              disabled={action.busy}
              onClick={async () => {
                if (await action.run(() => api.testWebhook({ path: { webhook_id: w.id } }))) hooks.reload();
              }}
            >
              Send a test event
            </button>
            <ConfirmButton
              label="Rotate secret"
              question={`Give "${w.name}" a new signing secret? The old one also signs for a day, so the receiver can switch.`}
              confirm="Rotate the secret"
              disabled={action.busy}
              onConfirm={async () => {
                const rotated = await action.run(
                  async () => (await api.rotateWebhookSecret({ path: { webhook_id: w.id }, body: {} })).data,
                );
                if (rotated) {
                  setMade(rotated);
                  hooks.reload();
                }
              }}
            />
            <ConfirmButton
              label="Delete"
              question={`Delete the webhook "${w.name}" and its delivery log?`}
              confirm="Delete the webhook"
              danger
              disabled={action.busy}
              onConfirm={async () => {
                if (await action.run(() => api.deleteWebhook({ path: { webhook_id: w.id } }))) hooks.reload();
              }}
            />
          </div>
        </article>
      ))}
    </>
  );
}

export function DeliveriesPage({ id, query }: { id: string; query: URLSearchParams }) {
  const offset = Number(query.get('offset') ?? 0) || 0;
  const status = query.get('status') ?? '';
  const hook = useLoad(async () => (await api.getWebhook({ path: { webhook_id: id } })).data, [id]);
  const deliveries = useLoad(
    async () =>
      (
        await api.listWebhookDeliveries({
          path: { webhook_id: id },
          query: { limit: LIMIT, offset, ...(status ? { status: status as WebhookDeliveryStatus } : {}) },
        })
      ).data,
    [id, offset, status],
  );
  const action = useAction();
  return (
    <>
      <h1>Deliveries{hook.data ? ` of ${hook.data.name}` : ''}</h1>
      <p>
        <a href={href('/admin/webhooks')}>Back to webhooks</a>
      </p>
      <nav class="filters" aria-label="Show">
        {['', 'pending', 'delivered', 'failed'].map((s) => (
          <a
            key={s}
            href={href(`/admin/webhooks/${id}`, { status: s })}
            aria-current={status === s ? 'page' : undefined}
          >
            {s || 'all'}
          </a>
        ))}
      </nav>
      <Problem failure={hook.failure ?? deliveries.failure} />
      <Problem failure={action.failure} />
      {deliveries.loading && !deliveries.data ? <Loading what="deliveries" /> : null}
      {deliveries.data && deliveries.data.count === 0 ? <Empty>No deliveries yet.</Empty> : null}
      {deliveries.data?.results.map((d) => (
        <article class="card" key={d.id} aria-label={`${d.event_type} delivery`}>
          <p>
            <strong>{d.event_type}</strong> <span class={`badge ${d.status}`}>{d.status}</span> created{' '}
            {formatTime(d.created_at)}, {d.attempt_count} attempt{d.attempt_count === 1 ? '' : 's'}
            {d.next_attempt_at ? `, next at ${formatTime(d.next_attempt_at)}` : ''}
          </p>
          {d.attempts.length ? (
            <ul>
              {d.attempts.map((a) => (
                <li key={a.number}>
                  #{a.number} {formatTime(a.at)}: {a.outcome}
                  {a.status_code ? ` (HTTP ${a.status_code})` : ''} in {a.duration_ms} ms
                  {a.error ? `: ${a.error}` : ''}
                </li>
              ))}
            </ul>
          ) : null}
          <button
            type="button"
            disabled={action.busy}
            onClick={async () => {
              if (
                await action.run(() =>
                  api.redeliverWebhookDelivery({ path: { webhook_id: id, delivery_id: d.id } }),
                )
              )
                deliveries.reload();
            }}
          >
            Redeliver
          </button>
        </article>
      ))}
      {deliveries.data && deliveries.data.count > 0 ? (
        <Pager
          path={`/admin/webhooks/${id}`}
          query={{ status }}
          offset={offset}
          limit={LIMIT}
          count={deliveries.data.count}
        />
      ) : null}
    </>
  );
}

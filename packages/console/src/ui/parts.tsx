import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { Failure } from '../api.js';
import { href } from '../router.js';

/** A failure next to the action or form at fault, read out when it appears. */
export function Problem({ failure }: { failure: Failure | undefined }) {
  if (!failure) return null;
  return (
    <p class="problem" role="alert">
      {failure.message} <span class="code">({failure.code})</span>
    </p>
  );
}

/** A labelled control with its own error line, tied to it by aria-describedby. */
export function Field(props: {
  label: string;
  error?: string | undefined;
  hint?: string;
  children: (attrs: {
    id: string;
    'aria-describedby'?: string;
    'aria-invalid'?: boolean;
  }) => ComponentChildren;
}) {
  const id = useId();
  const described = [props.hint ? `${id}-hint` : '', props.error ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children({
        id,
        ...(described ? { 'aria-describedby': described } : {}),
        ...(props.error ? { 'aria-invalid': true } : {}),
      })}
      {props.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      {props.error ? (
        <p class="field-error" id={`${id}-error`}>
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** A button that asks first, in a modal dialog (focus moves into it; Escape cancels). */
export function ConfirmButton(props: {
  label: string;
  question: string;
  confirm: string;
  danger?: boolean;
  disabled?: boolean;
  onConfirm(): void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useId();
  return (
    <>
      <button
        type="button"
        class={props.danger ? 'danger' : ''}
        disabled={props.disabled}
        onClick={() => dialog.current?.showModal()}
      >
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={`${id}-q`}>
        <p id={`${id}-q`}>{props.question}</p>
        <div class="actions">
          <button
            type="button"
            class={props.danger ? 'danger' : ''}
            onClick={() => {
              dialog.current?.close();
              props.onConfirm();
            }}
          >
            {props.confirm}
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </dialog>
    </>
  );
}

/** A secret shown this once, with a copy button. */
export function SecretOnce({ label, secret, kept }: { label: string; secret: string; kept: string }) {
  const [copied, setCopied] = useState<string | undefined>();
  const box = useRef<HTMLElement>(null);
  useEffect(() => box.current?.focus(), []);
  return (
    <section class="secret" aria-labelledby="secret-title" tabIndex={-1} ref={box}>
      <h2 id="secret-title">{label}</h2>
      <p>
        <strong>Copy it now: you will not see it again.</strong> {kept}
      </p>
      <code class="secret-value" data-testid="secret">
        {secret}
      </code>
      <div class="actions">
        <button
          type="button"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(secret);
              setCopied('Copied to the clipboard.');
            } catch {
              setCopied('The browser refused the clipboard: select the text and copy it.');
            }
          }}
        >
          Copy
        </button>
        <span role="status">{copied}</span>
      </div>
    </section>
  );
}

/** Previous and next links over an offset, kept in the page's URL. */
export function Pager(props: {
  path: string;
  query: Record<string, string | undefined>;
  offset: number;
  limit: number;
  count: number;
}) {
  const { offset, limit, count } = props;
  const last = Math.min(offset + limit, count);
  return (
    <nav class="pager" aria-label="Pages">
      <span>{count === 0 ? 'None' : `${offset + 1}–${last} of ${count}`}</span>
      {offset > 0 ? (
        <a href={href(props.path, { ...props.query, offset: Math.max(0, offset - limit) })}>Previous</a>
      ) : null}
      {last < count ? <a href={href(props.path, { ...props.query, offset: offset + limit })}>Next</a> : null}
    </nav>
  );
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** Words from a text field: split on commas and white space. */
export function words(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((w) => w.trim())
    .filter(Boolean);
}

import type { Whoami } from '@latchkey/client';
import { AuthenticationError } from '@latchkey/client';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, describeFailure } from './api.js';
import { AdminKeysPage } from './pages/admin-keys.js';
import { AdminUsersPage } from './pages/admin-users.js';
import { AuditPage } from './pages/audit.js';
import { CreateKeyPage } from './pages/create-key.js';
import { KeyDetailPage } from './pages/key-detail.js';
import { LockoutsPage } from './pages/lockouts.js';
import { LoginForm } from './pages/login.js';
import { MyKeysPage } from './pages/my-keys.js';
import { PasswordPage } from './pages/password.js';
import { DeliveriesPage, WebhooksPage } from './pages/webhooks.js';
import { href, type Route, useRoute } from './router.js';
import { useAction } from './ui/async.js';
import { formatTime, Problem } from './ui/parts.js';

/** How long before the sign-in ends the console starts to warn. */
const EXPIRY_WARNING_MS = 15 * 60_000;

const PAGES: { path: string; label: string; admin: boolean }[] = [
  { path: '/keys', label: 'My keys', admin: false },
  { path: '/password', label: 'Password', admin: false },
  { path: '/admin/keys', label: 'All keys', admin: true },
  { path: '/admin/users', label: 'Users', admin: true },
  { path: '/admin/lockouts', label: 'Lockouts', admin: true },
  { path: '/admin/audit', label: 'Audit log', admin: true },
  { path: '/admin/webhooks', label: 'Webhooks', admin: true },
];

function page(route: Route) {
  const { path, query } = route;
  if (path === '/keys') return <MyKeysPage query={query} />;
  if (path === '/keys/new') return <CreateKeyPage />;
  const key = /^\/keys\/([^/]+)$/.exec(path);
  if (key?.[1]) return <KeyDetailPage id={key[1]} />;
  if (path === '/password') return <PasswordPage />;
  if (path === '/admin/keys') return <AdminKeysPage query={query} />;
  if (path === '/admin/users') return <AdminUsersPage query={query} />;
  if (path === '/admin/lockouts') return <LockoutsPage />;
  if (path === '/admin/audit') return <AuditPage query={query} />;
  if (path === '/admin/webhooks') return <WebhooksPage />;
  const hook = /^\/admin\/webhooks\/([^/]+)$/.exec(path);
  if (hook?.[1]) return <DeliveriesPage id={hook[1]} query={query} />;
  return (
    <>
      <h1>Page not found</h1>
      <p>
        The console has no page at <code>{path}</code>. <a href={href('/keys')}>Go to my keys</a>.
      </p>
    </>
  );
}

function ExpiryWarning({ me, onRenewed }: { me: Whoami; onRenewed(): void }) {
  const [now, setNow] = useState(Date.now());
  const [renewing, setRenewing] = useState(false);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, []);
  const expiresAt = me.auth.expires_at ? Date.parse(me.auth.expires_at) : undefined;
  if (expiresAt === undefined || expiresAt - now > EXPIRY_WARNING_MS) return null;
  return (
    <section class="warning" role="alert" aria-label="Sign-in ending">
      <p>
        Your sign-in ends at {formatTime(me.auth.expires_at)}. Sign in again to keep working.{' '}
        {renewing ? null : (
          <button type="button" onClick={() => setRenewing(true)}>
            Renew
          </button>
        )}
      </p>
      {renewing ? (
        <LoginForm
          title="Sign in again"
          username={me.user.username}
          onLogin={() => {
            setRenewing(false);
            onRenewed();
          }}
        />
      ) : null}
    </section>
  );
}

export function App() {
  const route = useRoute();
  const [me, setMe] = useState<Whoami | null | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>();
  const logout = useAction();

  const refresh = useCallback(async () => {
    try {
      setMe((await api.whoami()).data);
      setFailure(undefined);
    } catch (error) {
      if (error instanceof AuthenticationError) setMe(null);
      else setFailure(describeFailure(error).message);
    }
  }, []);
  useEffect(() => {
    void refresh();
  }, [refresh]);

  // The page's heading gets the focus on each new page, so a screen reader says where it is.
  useEffect(() => {
    const heading = document.querySelector<HTMLElement>('main h1');
    heading?.setAttribute('tabindex', '-1');
    heading?.focus();
    const title = heading?.textContent;
    document.title = title ? `${title} · Latchkey console` : 'Latchkey console';
  }, [route.path, me?.user.id]);

  if (me === undefined) {
    return (
      <main>
        {failure ? (
          <p class="problem" role="alert">
            Could not load the console: {failure}
          </p>
        ) : (
          <p class="loading" role="status">
            Loading…
          </p>
        )}
      </main>
    );
  }
  if (me === null) {
    return (
      <main class="narrow">
        <LoginForm title="Sign in to Latchkey" onLogin={() => void refresh()} />
      </main>
    );
  }
  const superuser = me.user.is_superuser;
  return (
    <>
      <header>
        <a class="skip" href="#main">
          Skip to the page
        </a>
        <p class="brand">Latchkey</p>
        <nav aria-label="Console">
          <ul>
            {PAGES.filter((p) => superuser || !p.admin).map((p) => (
              <li key={p.path}>
                <a
                  href={href(p.path)}
                  aria-current={
                    route.path === p.path || route.path.startsWith(`${p.path}/`) ? 'page' : undefined
                  }
                >
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            Signed in as <strong data-testid="username">{me.user.username}</strong>
            {superuser ? ' (superuser)' : ''}
          </span>
          <button
            type="button"
            disabled={logout.busy}
            onClick={async () => {
              if (await logout.run(() => api.logout())) {
                setMe(null);
                globalThis.location.hash = href('/keys');
              }
            }}
          >
            Sign out
          </button>
          <Problem failure={logout.failure} />
        </div>
      </header>
      <ExpiryWarning me={me} onRenewed={() => void refresh()} />
      <main id="main">{page(route)}</main>
    </>
  );
}

import type { RateLimitSetting } from './store/keys.js';
import type { MockStore } from './store/store.js';

/**
 * The password a seeded user gets when the seed gives none.
 *
 * @example
 * ```ts
 * await client.login({ body: { username: 'alice', password: DEFAULT_SEED_PASSWORD } });
 * ```
 */
export const DEFAULT_SEED_PASSWORD = 'correct horse battery staple';

/**
 * Users and keys to create before the first request.
 *
 * @example
 * ```ts
 * const seed: SeedSpec = {
 *   users: [{ username: 'root', is_superuser: true }, { username: 'bot', can_create_tokens: false }],
 *   keys: [{ owner: 'bot', name: 'read-only', write_enabled: false }],
 * };
 * ```
 */
export interface SeedSpec {
  users?: {
    username: string;
    /** Default {@link DEFAULT_SEED_PASSWORD}; null for a user without a password (like bootstrap's admin). */
    password?: string | null;
    is_superuser?: boolean;
    is_active?: boolean;
    can_create_tokens?: boolean;
  }[];
  keys?: {
    /** The username of a seeded user. */
    owner: string;
    name?: string;
    /** The key itself (a generated `lk_` key when left out). */
    key?: string;
    write_enabled?: boolean;
    is_active?: boolean;
    expires_at?: string | null;
    allowed_ips?: string[];
    rate_limit?: RateLimitSetting;
  }[];
}

/**
 * What seeding created, with the plaintext a test needs to authenticate.
 *
 * @example
 * ```ts
 * const { users, keys }: SeededData = mock.seeded;
 * const client = createLatchkeyClient({ baseUrl, credentials: { apiKey: keys[0]!.key } });
 * console.log(users.root?.password);
 * ```
 */
export interface SeededData {
  /** By username. */
  users: Record<string, { id: string; username: string; password: string | null }>;
  /** In seed order. */
  keys: { id: string; name: string; key: string; owner: string; userId: string }[];
}

/**
 * Creates the seed's users and keys in the store.
 *
 * @example
 * ```ts
 * const seeded = applySeed(new MockStore(), { users: [{ username: 'alice' }], keys: [{ owner: 'alice' }] });
 * ```
 */
export function applySeed(store: MockStore, spec: SeedSpec = {}): SeededData {
  const out: SeededData = { users: {}, keys: [] };
  for (const u of spec.users ?? []) {
    const password = u.password === undefined ? DEFAULT_SEED_PASSWORD : u.password;
    const user = store.users.create({
      username: u.username,
      password,
      is_superuser: u.is_superuser,
      can_create_tokens: u.can_create_tokens,
    });
    if (u.is_active === false) user.is_active = false;
    out.users[user.username] = { id: user.id, username: user.username, password };
  }
  for (const k of spec.keys ?? []) {
    const owner = store.users.findByUsername(k.owner);
    if (!owner)
      throw new Error(`seed: key "${k.name ?? '(unnamed)'}" names owner "${k.owner}", who is not seeded`);
    const key = store.keys.create(
      owner,
      {
        name: k.name ?? 'seeded key',
        key: k.key,
        write_enabled: k.write_enabled,
        expires_at: k.expires_at,
        allowed_ips: k.allowed_ips,
        rate_limit: k.rate_limit,
      },
      'api',
    );
    if (k.is_active === false) key.is_active = false;
    out.keys.push({ id: key.id, name: key.name, key: key.secret, owner: owner.username, userId: owner.id });
  }
  return out;
}

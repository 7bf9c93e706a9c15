import {
  ApiError,
  checkNewUser,
  generateKey,
  newKeyRecord,
  newUserRecord,
  type RateLimitSetting,
  type ServiceDeps,
  suppliedKeyProblem,
} from '@latchkey/core';

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
 * Users and keys to create before the first request. Key names are unique within a seed;
 * a key without a name is called `<owner>-key-<n>`.
 *
 * @example
 * ```ts
 * const seed: SeedSpec = {
 *   users: [{ username: 'root', is_superuser: true }, { username: 'bot', can_create_tokens: false }],
 *   keys: [{ owner: 'bot', name: 'read-only', write_enabled: false, permissions: ['keys:read'] }],
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
    /** May call POST /api/v1/keys/verify. */
    can_verify_keys?: boolean;
  }[];
  keys?: {
    /** The username of a seeded user. */
    owner: string;
    name?: string;
    /** The key itself (a generated key when left out). */
    key?: string;
    write_enabled?: boolean;
    is_active?: boolean;
    expires_at?: string | null;
    allowed_ips?: string[];
    rate_limit?: RateLimitSetting;
    /** What the key may do; left out or null for everything its owner may do. */
    permissions?: string[] | null;
  }[];
}

/**
 * A seeded user, with the password to log in.
 *
 * @example
 * ```ts
 * const alice: SeededUser = mock.seeded.users.alice!;
 * ```
 */
export interface SeededUser {
  id: string;
  username: string;
  /** The plaintext password; empty for a user seeded without one (who cannot log in with a password). */
  password: string;
}

/**
 * A seeded key, with its plaintext.
 *
 * @example
 * ```ts
 * const ci: SeededKey = mock.seeded.keys.ci!;
 * ```
 */
export interface SeededKey {
  id: string;
  name: string;
  /** The plaintext key, to authenticate with. */
  key: string;
  owner: string;
  userId: string;
}

/**
 * What seeding created, by username and by key name, with the plaintext a test needs.
 *
 * @example
 * ```ts
 * const { users, keys }: SeededData = mock.seeded;
 * const client = createLatchkeyClient({ baseUrl, credentials: { apiKey: keys.ci!.key } });
 * console.log(users.root?.password);
 * ```
 */
export interface SeededData {
  users: Record<string, SeededUser>;
  keys: Record<string, SeededKey>;
}

/**
 * Checks the seed with the server's rules and decides every id and plaintext now, so that
 * `seeded` is known at once; `stored` resolves when the records are in the store (password
 * hashes and key digests take Web Crypto's time).
 *
 * @example
 * ```ts
 * const { seeded, stored } = applySeed(deps, { users: [{ username: 'alice' }], keys: [{ owner: 'alice' }] });
 * await stored;
 * ```
 */
export function applySeed(
  deps: ServiceDeps,
  spec: SeedSpec = {},
): { seeded: SeededData; stored: Promise<void> } {
  const { config, clock, secrets, passwords, store } = deps;
  const now = clock();
  const seeded: SeededData = { users: {}, keys: {} };
  const writes: (() => Promise<unknown>)[] = [];
  for (const u of spec.users ?? []) {
    const password = u.password === undefined ? DEFAULT_SEED_PASSWORD : u.password;
    checkNewUser(u.username, password, config.passwordMinLength);
    if (seeded.users[u.username]) throw new Error(`seed: user "${u.username}" is seeded twice`);
    const id = globalThis.crypto.randomUUID();
    seeded.users[u.username] = { id, username: u.username, password: password ?? '' };
    writes.push(async () => {
      const user = newUserRecord(
        {
          username: u.username,
          isSuperuser: u.is_superuser,
          canCreateTokens: u.can_create_tokens,
          canVerifyKeys: u.can_verify_keys,
        },
        { id, passwordHash: password === null ? null : await passwords.hash(password), now },
      );
      await store.users.insert(u.is_active === false ? { ...user, is_active: false } : user);
    });
  }
  const perOwner = new Map<string, number>();
  for (const k of spec.keys ?? []) {
    const owner = seeded.users[k.owner];
    const n = (perOwner.get(k.owner) ?? 0) + 1;
    perOwner.set(k.owner, n);
    const name = k.name ?? `${k.owner}-key-${n}`;
    if (!owner) throw new Error(`seed: key "${name}" names owner "${k.owner}", who is not seeded`);
    if (seeded.keys[name])
      throw new Error(`seed: two keys are named "${name}"; key names are unique in a seed`);
    if (k.key !== undefined) {
      const why = suppliedKeyProblem(k.key, config.keyPrefix);
      if (why) throw ApiError.field('seed.keys.key', why);
    }
    const plaintext = k.key ?? generateKey(config.keyPrefix);
    const id = globalThis.crypto.randomUUID();
    const input = { ...k, name };
    // The rules refuse a bad expiry or address now, not at the first request.
    const made = {
      id,
      plaintext,
      prefix: config.keyPrefix,
      digest: '',
      pepperId: secrets.pepperId,
      via: 'api',
      now,
    } as const;
    newKeyRecord(owner.id, input, made);
    seeded.keys[name] = { id, name, key: plaintext, owner: k.owner, userId: owner.id };
    writes.push(async () => {
      const key = newKeyRecord(owner.id, input, { ...made, digest: await secrets.digest(plaintext) });
      await store.keys.insert(k.is_active === false ? { ...key, is_active: false } : key);
    });
  }
  // Users before their keys.
  const stored = writes
    .reduce<Promise<unknown>>((done, write) => done.then(write), Promise.resolve())
    .then(() => {});
  return { seeded, stored };
}

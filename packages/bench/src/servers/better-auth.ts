// better-auth's API key plugin on SQLite behind Koa, answering the route the other servers
// answer. Defaults as documented: keys hashed (SHA-256), the plugin's own rate limiting off
// (the benchmark must see no 429), every verification read and updated in the database.
//   seed:  tsx better-auth.ts seed <sqlite file> <keys file> <count>
//   serve: tsx better-auth.ts serve <sqlite file> <port>
import { writeFileSync } from 'node:fs';
import { apiKey } from '@better-auth/api-key';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import Database from 'better-sqlite3';
import Koa from 'koa';

const [mode, file, arg, countArg] = process.argv.slice(2);
if (!file || !arg) throw new Error('usage: better-auth.ts seed <db> <keys file> <count> | serve <db> <port>');

const database = new Database(file);
database.pragma('journal_mode = WAL');
database.pragma('synchronous = NORMAL');

const auth = betterAuth({
  database,
  secret: 'bench-only-secret-bench-only-secret-0123456789',
  baseURL: 'http://127.0.0.1',
  emailAndPassword: { enabled: true },
  logger: { disabled: true },
  telemetry: { enabled: false },
  plugins: [apiKey({ rateLimit: { enabled: false } })],
});

if (mode === 'seed') {
  const { runMigrations } = await getMigrations(auth.options);
  await runMigrations();
  const { user } = await auth.api.signUpEmail({
    body: { email: 'bench@example.com', password: 'bench-password-123', name: 'bench' },
  });
  const keys: string[] = [];
  for (let i = 0; i < Number(countArg ?? '1'); i++) {
    const created = await auth.api.createApiKey({ body: { userId: user.id, name: `bench-${i}` } });
    keys.push(created.key);
  }
  writeFileSync(arg, `${keys.join('\n')}\n`);
  process.exit(0);
}

const koa = new Koa();
koa.use(async (ctx) => {
  const key = ctx.get('x-api-key');
  const result = await auth.api.verifyApiKey({ body: { key } });
  if (!result.valid || !result.key) {
    ctx.status = 401;
    ctx.body = { error: result.error?.code ?? 'INVALID' };
    return;
  }
  ctx.body = { user_id: result.key.referenceId ?? null, key_id: result.key.id };
});
koa.listen(Number(arg), '127.0.0.1', () => process.stdout.write(`listening on ${arg}\n`));
